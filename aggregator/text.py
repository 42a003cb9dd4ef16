"""Plain text out of scraped text: HTML stripped, mojibake repaired, whitespace tidied."""

from __future__ import annotations

import html
import re
import warnings
from urllib.parse import urlsplit

# bs4 (with soupsieve) and ftfy load on first use: commands that only read the store (upcoming, why,
# --help) never pay their ~150 ms import.

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_SPACES = re.compile(r"[ \t\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Terminal escape sequences (CSI, OSC hyperlinks/titles, other ESC forms), then any control left:
# C0 but tab/newline, DEL, C1, and the bidi overrides that reorder what a terminal shows.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_URL_BAD = re.compile(r"[\x00-\x20\x7f-\x9f<>\"\\^`{|}]")
_ONLINE = re.compile(
    r"\b(online|virtual|zoom|webinar|livestream|live stream|remote|google meet|teams meeting|jitsi|"
    r"twitch|youtube|discord)\b|^https?://",
    re.I,
)
PLACEHOLDERS = {"", "na", "n/a", "none", "null", "undefined", "-", "tbd", "tba"}
MAX_DESCRIPTION = 20_000


def strip_html(text: str) -> str:
    if not _TAG.search(text):
        return html.unescape(text) if "&" in text else text
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(text, "lxml")
    for tag in soup(["script", "style"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "li", "h1", "h2", "h3", "h4", "tr"]):
        block.append("\n")
    return soup.get_text()


def clean_text(text: str | None, *, one_line: bool = False, limit: int = MAX_DESCRIPTION) -> str | None:
    """Plain, repaired text; None when nothing (or a placeholder like 'NA') is left."""
    if text is None:
        return None
    import ftfy

    text = ftfy.fix_text(str(text), uncurl_quotes=False)
    text = strip_html(text)
    text = _CONTROL.sub("", text).replace("\r", "")
    if one_line:
        text = " ".join(text.split())
    else:
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if text.lower() in PLACEHOLDERS:
        return None
    return text[:limit]


def looks_online(location: str | None) -> bool:
    """True when a location text names an online place rather than a venue."""
    return bool(location and _ONLINE.search(location))


def safe_text(text: object, *, one_line: bool = False) -> str:
    """Text from outside (a server, a file, a parser's error) made safe to print or store:
    escape sequences and control characters removed, so it cannot clear a screen, fake a
    hyperlink or break a line it should not. `one_line` also folds newlines and tabs."""
    text = _UNSAFE.sub("", _ESCAPES.sub("", str(text))).replace("\r", "")
    return " ".join(text.split()) if one_line else text


def clean_url(url: str | None) -> str | None:
    """An http(s) URL that is well formed, else None. Surrounding whitespace is trimmed;
    a URL with a line break, a control character or a space inside is refused, not repaired."""
    if not url:
        return None
    url = str(url).strip()
    if _URL_BAD.search(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
