"""Who is who: normalized names, emails and profile URLs, and a strict matcher.

An attendee seen in a source is matched to a contact by profile URL, then
email, then name: any of the contact's name variants (its aliases: other
spellings its exports and merges gave it). A wrong match is worse than a miss: a
name matches only when exactly one contact is plausible, and nickname or
spelling-variant matches (nicknames.py) need the same family name.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aggregator.nicknames import same_given_name

# Letters NFKD does not take apart.
_TRANSLIT = str.maketrans({
    "ß": "ss", "ẞ": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
    "đ": "d", "Đ": "d", "ð": "d", "þ": "th", "Þ": "th", "ı": "i", "ħ": "h",
})
HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "rev"}
SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "mba", "msc", "bsc"}


def fold(text: str) -> str:
    """Case-folded ASCII-ish text: NFKC, ß/ø/ł transliterated, accents dropped."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.casefold()


def normalize_name(name: str | None) -> str:
    """'Dr. Dana  M. Lée, PhD' -> 'dana m lee'; 'Lee, Dana' -> 'dana lee'."""
    if not name:
        return ""
    name = re.sub(r"\(.*?\)|\".*?\"|'[^']*'(?=\s)", " ", name)  # (she/her), "nicknames"
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if first and last and fold(first).strip(". ") not in SUFFIXES:
            name = f"{first} {last}"
    words = re.sub(r"[^\w\s]", " ", fold(name).replace("-", " ")).split()
    while words and words[0] in HONORIFICS:
        words.pop(0)
    while len(words) > 1 and words[-1] in SUFFIXES:
        words.pop()
    return " ".join(words)


COMPANY_SUFFIXES = {"inc", "llc", "ltd", "gmbh", "corp", "corporation", "co", "company", "plc", "sa", "ag", "bv",
                    "limited", "the"}


def company_key(company: str | None) -> str:
    """'Acme, Inc.' and 'ACME Corp' are one company here."""
    words = re.sub(r"[^\w\s]", " ", fold(company or "")).split()
    return " ".join(w for w in words if w not in COMPANY_SUFFIXES)


def normalize_email(email: str | None) -> str:
    if not email:
        return ""
    email = email.strip().lower()
    if email.startswith("mailto:"):
        email = email[7:]
    return email if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) else ""


# Mailboxes of a role, not of a person: they never identify anyone, even when one name uses them.
ROLE_MAILBOXES = {
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "info", "hello", "contact", "events",
    "event", "team", "admin", "support", "office", "organizers", "organizer", "meetup", "rsvp", "notifications",
}


def is_role_mailbox(email: str) -> bool:
    return email.split("@", 1)[0].split("+", 1)[0] in ROLE_MAILBOXES


def person_signature(name: str | None) -> str:
    """First and family name, normalized: 'Dr. Dana M. Lee' and 'Dana Lee' are one person here."""
    words = normalize_name(name).split()
    return f"{words[0]} {words[-1]}" if words else ""


def shared_emails(pairs: Iterable[tuple[str | None, str | None]]) -> set[str]:
    """Emails (lower case) seen with more than one person, from (name, email) pairs.

    Such an address (a group's info@, an organizer's address on every RSVP) is not
    one person's, so it must not identify anyone.
    """
    owner: dict[str, str] = {}
    shared: set[str] = set()
    for name, email in pairs:
        email = (email or "").strip().lower()
        if not email or email in shared:
            continue
        signature = person_signature(name)
        if not signature:
            continue
        if owner.setdefault(email, signature) != signature:
            shared.add(email)
    return shared


def normalize_url(url: str | None) -> str:
    """A profile URL as a key: no scheme, no www., no query, no trailing slash, lower case."""
    if not url:
        return ""
    url = url.strip().replace("\\:", ":")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or "." not in host:
        return ""
    host = re.sub(r"^(www|m|mobile|[a-z]{2})\.(?=linkedin\.com$)", "", host)
    host = host.removeprefix("www.")
    path = re.sub(r"/+$", "", parts.path)
    return f"{host}{path}".lower()


@dataclass
class Candidate:
    id: int
    name: str
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass
class Match:
    contact_id: int
    how: str  # url | email | name | nickname | spelling


@dataclass
class Matcher:
    """Indexes contacts once; `match` is then cheap per attendee."""

    by_url: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_email: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_name: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_last: dict[str, set[tuple[int, str]]] = field(default_factory=lambda: defaultdict(set))
    urls_of: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def build(cls, contacts: Iterable[Candidate]) -> Matcher:
        m = cls()
        for c in contacts:
            for url in c.urls:
                if key := normalize_url(url):
                    m.by_url[key].add(c.id)
                    m.urls_of[c.id].add(key)
            for email in c.emails:
                if key := normalize_email(email):
                    m.by_email[key].add(c.id)
            names = {normalize_name(c.name)} | {normalize_name(a) for a in c.aliases}
            for name in filter(None, names):
                m.by_name[name].add(c.id)
                words = name.split()
                if len(words) >= 2:
                    m.by_last[words[-1]].add((c.id, words[0]))
        return m

    def match(self, name: str | None = None, email: str | None = None, url: str | None = None) -> Match | None:
        url_key = normalize_url(url)
        email_key = normalize_email(email)
        if is_role_mailbox(email_key):
            email_key = ""
        for key, index, how in ((url_key, self.by_url, "url"), (email_key, self.by_email, "email")):
            if key and key in index:
                ids = index[key]
                return Match(next(iter(ids)), how) if len(ids) == 1 else None
        found = self.match_name(name)
        if found and url_key and self._other_profile_on_same_site(found.contact_id, url_key):
            return None  # same name, but a different profile on the same site: a namesake
        return found

    def _other_profile_on_same_site(self, contact_id: int, url_key: str) -> bool:
        site = url_key.split("/", 1)[0]
        return any(k.split("/", 1)[0] == site and k != url_key for k in self.urls_of.get(contact_id, ()))

    def match_name(self, name: str | None) -> Match | None:
        norm = normalize_name(name)
        words = norm.split()
        if len(words) < 2:
            return None  # a first name alone is never enough
        exact = self.by_name.get(norm)
        if exact:
            return Match(next(iter(exact)), "name") if len(exact) == 1 else None
        first, last = words[0], words[-1]
        short = f"{first} {last}"
        if short != norm and (ids := self.by_name.get(short)):  # a middle name or initial left out
            return Match(next(iter(ids)), "name") if len(ids) == 1 else None
        plausible: dict[int, str] = {}
        for contact_id, contact_first in self.by_last.get(last, ()):
            how = _first_names_agree(first, contact_first)
            if how:
                plausible.setdefault(contact_id, how)
        if len(plausible) == 1:
            contact_id, how = next(iter(plausible.items()))
            return Match(contact_id, how)
        return None


def spelling_key(name: str) -> str:
    """Spellings of one name agree: Philip/Phillip, Sara/Sarah, Brian/Bryan, Erik/Eric.

    Vowels other than y stay, so Daniel/Danielle, Christina/Christine and
    Alexander/Alexandra (different people, often) never agree.
    """
    if not name:
        return ""
    rest = name[1:].replace("h", "")
    key = (name[0] + rest).replace("y", "i").replace("ck", "k").replace("c", "k")
    return re.sub(r"(.)\1+", r"\1", key)


def _first_names_agree(a: str, b: str) -> str | None:
    if a == b:
        return "name"
    if same_given_name(a, b):
        return "nickname"
    if min(len(a), len(b)) >= 3 and spelling_key(a) == spelling_key(b):
        return "spelling"
    return None


def name_variant(a: str, b: str) -> str | None:
    """How two normalized names may be one person's, or None: "same name" (after folding accents and
    "Last, First"), "nickname" (Mike/Michael Chen), "spelling" (Phillip/Philip), "middle name or
    initial" (Michael J. Chen), "initial" (M. Chen). The family name must be the same."""
    if not a or not b:
        return None
    if a == b:
        return "same name"
    wa, wb = a.split(), b.split()
    if len(wa) < 2 or len(wb) < 2 or wa[-1] != wb[-1] or not _middles_agree(wa[1:-1], wb[1:-1]):
        return None
    first_a, first_b = wa[0], wb[0]
    how = _first_names_agree(first_a, first_b)
    if how is None and min(len(first_a), len(first_b)) == 1 and first_a[0] == first_b[0]:
        how = "initial"
    if how is None:
        return None
    return "middle name or initial" if how == "name" else how


def _middles_agree(a: list[str], b: list[str]) -> bool:
    """Middle names agree when one side has none, or each pair is the same name or initial."""
    if not a or not b:
        return True
    return len(a) == len(b) and all(x == y or (min(len(x), len(y)) == 1 and x[0] == y[0]) for x, y in zip(a, b, strict=True))
