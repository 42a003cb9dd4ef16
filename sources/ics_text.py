"""Text repair for the `ics` kind: from a feed's bytes to calendars of logical lines.

Order matters: physical folds (CRLF + space/tab) are joined first, as RFC 5545 says,
so a fold anywhere (even right after a property name, as Sunbird, KOrganizer and libical
write) is legal; only then are heuristics applied to whole logical lines. Names of
properties, parameters and components are case-insensitive: they are upper-cased here
so that nothing downstream has to care.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import charset_normalizer

from aggregator.errors import SourceError

# Properties whose value is free text: only these can have lost a continuation line
# (an unindented fold). A stray line after any other property is dropped.
TEXT_PROPS = {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "X-ALT-DESC", "CONTACT", "RESOURCES",
              "CATEGORIES", "X-WR-CALDESC", "X-WR-CALNAME"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_PROPERTY_LINE = re.compile(r"^(?:[A-Z][A-Z0-9-]*|[Xx]-[A-Za-z0-9-]+)[;:]")
_ANY_CASE_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[;:]")
# Names that count as a content line in any case ("pRoDiD:", "Begin:"); another mixed-case
# "Word:" at the start of a line is more likely a description's lost continuation.
KNOWN_NAMES = {
    "BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION",
    "SUMMARY", "DESCRIPTION", "LOCATION", "GEO", "URL", "ORGANIZER", "ATTENDEE", "STATUS", "CLASS", "CATEGORIES",
    "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "SEQUENCE", "CREATED", "LAST-MODIFIED", "TRANSP",
    "PRIORITY", "COMMENT", "CONTACT", "RELATED-TO", "RESOURCES", "ATTACH", "TZID", "TZNAME", "TZOFFSETFROM",
    "TZOFFSETTO", "TZURL", "ACTION", "TRIGGER", "REPEAT", "DUE", "COMPLETED", "PERCENT-COMPLETE", "FREEBUSY",
}


def decode(data: bytes | str, charset: str | None = None) -> str:
    """Text from a feed's bytes: UTF-8 (BOM or not), the declared charset, else a guess."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", charset):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                pass
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace")  # UTF-8 with a few damaged sequences
    western = _as_western(data)
    if western is not None:
        return western
    guess = charset_normalizer.from_bytes(data[:200_000]).best()
    if guess is not None and guess.encoding:
        return data.decode(guess.encoding, errors="replace")
    return data.decode("cp1252", errors="replace")


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _mostly_utf8(data: bytes) -> bool:
    valid = len(_UTF8_MULTIBYTE.findall(data))
    invalid = data.decode("utf-8", errors="replace").count("\ufffd")
    return valid > 2 * invalid


_WESTERN_PUNCTUATION = set("‘’‚“”„–—…€«»°·©®™•")


def _as_western(data: bytes) -> str | None:
    """cp1252 text, when the bytes read as sparse Latin letters (most non-UTF-8 feeds)."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    special = [c for c in text if ord(c) > 127]
    latin = all((c.isalpha() and ord(c) < 0x250) or c in _WESTERN_PUNCTUATION or c == "\xa0" for c in special)
    return text if latin and len(special) <= 0.2 * len(text) else None


def unfold(text: str, warn: Callable[[str], None] | None = None) -> list[str]:
    """Logical content lines, names upper-cased.

    Physical folds are joined first. Then a line that is no content line (no NAME: or
    NAME;) is a continuation someone forgot to indent when it follows a text property;
    after any other property it is dropped with a warning (gluing `SUMMARY=x` onto a
    DTSTART would break the date).
    """
    physical: list[str] = []
    for line in re.split(r"\r\n|\r|\n", text):
        if line[:1] in (" ", "\t") and physical:
            physical[-1] += line[1:]
        elif line.strip():
            physical.append(line.lstrip() if line[:1] in (" ", "\t") else line)
    lines: list[str] = []
    last_name = ""
    for line in physical:
        if not _PROPERTY_LINE.match(line) and not _known_in_any_case(line):
            if lines and last_name in TEXT_PROPS:
                lines[-1] += line  # a continuation someone forgot to indent
            elif line.strip() and warn is not None:
                warn(f"dropped a stray line that is no iCalendar property: {line.strip()[:60]!r}")
            continue
        name = _NAME.match(line).group().upper()
        rest = line[len(name):]
        if name in ("BEGIN", "END"):
            rest = rest.upper().rstrip()
        lines.append(name + rest)
        last_name = name
    return lines


def _known_in_any_case(line: str) -> bool:
    match = _ANY_CASE_LINE.match(line)
    return bool(match) and match.group(1).upper() in KNOWN_NAMES


def split_line(line: str) -> tuple[str, list[str], str]:
    """NAME, [param, ...], value of a content line (colons inside quoted params respected)."""
    colon = line.find(":")
    if '"' not in line[:colon] if colon >= 0 else True:
        head, value = (line[:colon], line[colon + 1:]) if colon >= 0 else (line, "")
        parts = head.split(";")
        return parts[0].upper(), parts[1:], value
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            head, value = line[:i], line[i + 1:]
            break
    else:
        head, value = line, ""
    parts, buf, quoted = [], [], False
    for ch in head:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts[0].upper(), parts[1:], value


def join_line(name: str, params: list[str], value: str) -> str:
    return ";".join([name, *params]) + ":" + value


@dataclass
class Component:
    name: str
    lines: list[str] = field(default_factory=list)

    def value(self, prop: str) -> str | None:
        prefix = prop + ":"
        prefix_params = prop + ";"
        for line in self.lines[1:]:
            if line.startswith(prefix) or line.startswith(prefix_params):
                return split_line(line)[2]
        return None


@dataclass
class Calendar:
    props: dict[str, str] = field(default_factory=dict)
    timezones: dict[str, Component] = field(default_factory=dict)
    events: list[Component] = field(default_factory=list)


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def split_calendars(lines: list[str], warn: Callable[[str], None] = lambda message: None) -> list[Calendar]:
    """VCALENDARs with their VTIMEZONEs and VEVENTs; a missing wrapper is implied.

    An END that does not match the open component closes it when its name is a slip of
    that component's (`END:VTOOD` for VTODO) or of an outer one, with a warning; an END
    that matches nothing open is ignored. Raises SourceError when the text stops inside
    an open component (a truncated download), so that a partial feed never passes for
    a whole one; a misspelt `END:VCALENDARD` is no truncation.
    """
    calendars: list[Calendar] = []
    calendar: Calendar | None = None
    explicit = False
    stack: list[str] = []
    block: Component | None = None
    for line in lines:
        if line.startswith("BEGIN:"):
            comp = line[6:].strip()
            if comp == "VCALENDAR":
                calendar, explicit, stack, block = Calendar(), True, [], None
                calendars.append(calendar)
                continue
            if calendar is None:
                calendar, explicit = Calendar(), False
                calendars.append(calendar)
            if not stack:
                block = Component(comp)
            stack.append(comp)
            if block is not None:
                block.lines.append(line)
        elif line.startswith("END:"):
            comp = line[4:].strip()
            if comp != "VCALENDAR" and comp not in stack:
                closes = next((c for c in reversed(stack) if _similar(comp, c)), None)
                if closes is None and not stack and calendar is not None and _similar(comp, "VCALENDAR"):
                    closes = "VCALENDAR"
                if closes is None:
                    continue  # an END without its BEGIN: ignore the line
                warn(f"read END:{comp} as END:{closes}")
                comp = closes
            if comp == "VCALENDAR":
                calendar, explicit, stack, block = None, False, [], None
                continue
            while stack:
                closed = stack.pop()
                if block is not None:
                    block.lines.append(f"END:{closed}")
                if closed == comp:
                    break
            if block is not None and not stack:
                _file(calendar, block)
                block = None
        elif block is not None:
            block.lines.append(line)
        elif calendar is not None:
            name, _, value = split_line(line)
            calendar.props.setdefault(name, value)
    if stack or (calendar is not None and explicit):
        where = f"inside {stack[-1]}" if stack else "before END:VCALENDAR"
        raise SourceError(f"the feed is truncated: it stops {where} (after {len(lines)} lines)")
    return calendars


def _file(calendar: Calendar, block: Component) -> None:
    if block.name == "VEVENT":
        calendar.events.append(block)
    elif block.name == "VTIMEZONE":
        tzid = block.value("TZID")
        if tzid:
            calendar.timezones.setdefault(tzid.strip(), block)


def not_icalendar(text: str) -> SourceError:
    head = text.lstrip()[:500].lower()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head or "<head" in head:
        what = "an HTML page"
    elif head.startswith(("<?xml", "<rss", "<feed")):
        what = "an XML/RSS document"
    elif head.startswith(("{", "[")):
        what = "JSON"
    elif not head:
        what = "an empty body"
    else:
        what = "text with no BEGIN:VCALENDAR or BEGIN:VEVENT"
    return SourceError(f"not an iCalendar feed: got {what}")


def block_label(block: Component) -> str:
    summary = block.value("SUMMARY") or block.value("UID") or "an event"
    summary = " ".join(summary.split())
    return f"event {summary[:60]!r}"


def short_reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]}"
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text[:160]
