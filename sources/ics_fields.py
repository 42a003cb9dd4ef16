"""Fields of one VEVENT for the `ics` kind: text, URL, GEO, categories and people."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from aggregator.model import Person
from aggregator.text import clean_text

MEETUP_GROUP = re.compile(r"meetup\.com/([^/?#]+)/events/", re.I)
_WEEKDAY_LINE = re.compile(r"^(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)
PARTSTAT = {
    "ACCEPTED": "going", "CONFIRMED": "going", "TENTATIVE": "maybe", "DECLINED": "declined",
    "DELEGATED": "declined", "CANCELLED": "declined", "NEEDS-ACTION": "invited",
}


def text_value(c, prop: str) -> str | None:
    value = c.get(prop)
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def event_url(value: str | None, base_url: str) -> str | None:
    if not value:
        return None
    value = value.strip()
    absolute = urljoin(base_url, value) if base_url.startswith("http") else value
    parts = urlsplit(absolute)
    return absolute if parts.scheme in ("http", "https") and parts.netloc and "." in parts.netloc else None


def geo_point(c) -> tuple[float | None, float | None]:
    geo = c.get("GEO")
    try:
        lat, lon = float(geo.latitude), float(geo.longitude)
    except (AttributeError, TypeError, ValueError):
        match = re.search(r"geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)", text_value(c, "X-APPLE-STRUCTURED-LOCATION") or "")
        if not match:
            return None, None
        lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def categories(c) -> tuple[str, ...]:
    values = c.get("CATEGORIES")
    if values is None:
        return ()
    out: list[str] = []
    for item in values if isinstance(values, list) else [values]:
        cats = getattr(item, "cats", None)
        for cat in cats if cats is not None else str(item).split(","):
            tag = clean_text(str(cat), one_line=True, limit=80)
            if tag and tag.lower() not in {t.lower() for t in out}:
                out.append(tag)
    return tuple(out)


def person(prop) -> Person | None:
    address = str(prop).strip()
    params = getattr(prop, "params", {})
    name = clean_text(params.get("CN"), one_line=True, limit=200)
    email = params.get("EMAIL")
    url = None
    if address.lower().startswith("mailto:"):
        email = email or address[7:]
    elif address.startswith(("http://", "https://")):
        url = address
    email = email.strip().lower() if email and "@" in email else None
    if not (name or email or url):
        return None
    status = PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), "invited")
    return Person(name=name, url=url, email=email, status=status)


def attendees_of(c) -> tuple[Person, ...]:
    values = c.get("ATTENDEE")
    if values is None:
        return ()
    people = [person(v) for v in (values if isinstance(values, list) else [values])]
    return tuple(p for p in people if p is not None)


def organizer_name(c) -> str | None:
    org = c.get("ORGANIZER")
    if org is None:
        return None
    if isinstance(org, list):
        org = org[0]
    return clean_text(getattr(org, "params", {}).get("CN"), one_line=True, limit=200)


def meetup_group(description: str | None, url: str | None) -> str | None:
    """A Meetup event's group: its description opens with the group's name, then the date."""
    if not url or not MEETUP_GROUP.search(url) or not description:
        return None
    first, _, rest = description.partition("\n")
    if _WEEKDAY_LINE.match(rest.strip()) and 0 < len(first.strip()) <= 120:
        return first.strip()
    return None


# Luma's own calendar export: each VEVENT's ORGANIZER is its (first) host, written with Luma's
# relay address, and its DESCRIPTION ends "Hosted by A & B" (or "A, B & 3 others").
_LUMA_MARKS = ("//luma//", "@events.lu.ma", "calendar-invite@lu.ma")
_HOSTED_BY = re.compile(r"^\s*Hosted by (.+?)\s*$", re.I | re.M)
_HOST_SEPARATOR = re.compile(r"\s*(?:,|&|\band\b)\s*")
_OTHERS = re.compile(r"^\d+ others?$", re.I)
MAX_HOSTS = 20


def is_luma(prodid: str | None, events: list) -> bool:
    """True for a calendar Luma wrote (its PRODID, or its events' UIDs and relay ORGANIZER)."""
    if prodid and _LUMA_MARKS[0] in prodid.lower():
        return True
    return any(mark in (block.value(prop) or "").lower() for block in events[:5]
               for prop, mark in (("UID", _LUMA_MARKS[1]), ("ORGANIZER", _LUMA_MARKS[2])))


def luma_hosts(c, description: str | None) -> tuple[Person, ...]:
    """The hosts a Luma export names: its ORGANIZER and its "Hosted by" line, each going, role host.

    The ORGANIZER's address is Luma's relay (calendar-invite@lu.ma), the same for every host:
    it is dropped, or every host would be one person.
    """
    names = [organizer_name(c)]
    found = _HOSTED_BY.findall(description or "")
    if found:
        names += _HOST_SEPARATOR.split(found[-1])
    hosts: dict[str, Person] = {}
    for name in names:
        name = clean_text(name, one_line=True, limit=200)
        if name and not _OTHERS.match(name) and name.casefold() not in hosts and len(hosts) < MAX_HOSTS:
            hosts[name.casefold()] = Person(name=name, status="going", role="host")
    return tuple(hosts.values())
