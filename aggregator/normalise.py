"""One event as every source's events are stored: the pipeline's single normalisation step.

Pure: an Event and its source's spec in, a cleaned Event (or None) out. Kinds
parse; this decides what is kept, so rules live once rather than in each kind:

- the source's `group:` overrides the group a kind found;
- an end at or before the start is dropped (the event gets the default length);
- coordinates out of range (or the 0,0 placeholder) become unknown; swapped
  lat/lon are not guessed;
- a "Cancelled:" / "CANCELLED -" title prefix makes the event cancelled and
  leaves the title without it;
- every outside text loses control and escape characters (titles, names and
  other one-line fields are folded onto one line) and is bounded in length;
  every URL must be http(s) and well formed, else it is dropped; an attendee
  left with no name, URL or email is dropped;
- an attendee's status or role outside aggregator/evidence.py's tables is a kind's
  bug (the plugin kit fails it, judging the values as yielded); here it is read as
  the default status, and as a plain attendee, and `warn` says so once per event.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime

from aggregator.evidence import DEFAULT_STATUS, ROLES, STATUSES
from aggregator.model import Event, Person, Venue
from aggregator.source import SourceSpec
from aggregator.text import MAX_DESCRIPTION, clean_url, safe_text

UNTITLED = "(untitled event)"
_CANCELLED_PREFIX = re.compile(r"^\W*(?:cancell?ed|abgesagt|annulé|annulée)\b[\s:\-–—|/\])]*", re.I)
_EMAIL = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+")
LIMITS = {"title": 500, "line": 500, "name": 200, "tag": 80}
MAX_TAGS = 30
MAX_ATTENDEES = 5_000  # a page listing more is not a guest list we can use


def normalise(event: Event, spec: SourceSpec, warn: Callable[[str], None] | None = None) -> Event | None:
    """The event as it is stored, or None when nothing usable is left (no start in range)."""
    if not _plausible(event.start):
        return None
    title = _line(event.title, LIMITS["title"])
    status = event.status
    if title and _CANCELLED_PREFIX.match(title):
        status = "cancelled"
        title = _CANCELLED_PREFIX.sub("", title).strip() or title
    return event.replace(
        title=title or UNTITLED,
        end=_end(event),
        description=_block(event.description, MAX_DESCRIPTION),
        url=clean_url(event.url),
        venue=_venue(event.venue),
        group=_line(spec.group, LIMITS["name"]) or _line(event.group, LIMITS["name"]),
        tags=_tags(event.tags),
        status=status,
        attendees=_people(event.attendees, warn),
        timezone=_line(event.timezone, 64),
    )


def _plausible(start: date | datetime) -> bool:
    return 1970 <= start.year <= 2200


def _end(event: Event) -> date | datetime | None:
    end = event.end
    if end is None:
        return None
    if isinstance(end, datetime) != isinstance(event.start, datetime):
        return None  # a date end for a timed start (or the reverse): unknown
    try:
        return end if end > event.start else None
    except TypeError:  # naive against aware: unknown
        return None


def _line(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return safe_text(text, one_line=True)[:limit].strip() or None


def _block(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return safe_text(text).strip()[:limit] or None


def _venue(venue: Venue) -> Venue:
    lat, lon = venue.lat, venue.lon
    if not _coordinates_ok(lat, lon):
        lat = lon = None
    return Venue(_line(venue.name, LIMITS["line"]), _line(venue.address, LIMITS["line"]),
                 _line(venue.city, LIMITS["name"]), lat, lon)


def _coordinates_ok(lat, lon) -> bool:
    if lat is None or lon is None:
        return False
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    if math.isnan(lat) or math.isnan(lon):
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


def _tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    out: dict[str, str] = {}
    for tag in tags:
        cleaned = _line(tag, LIMITS["tag"])
        if cleaned and cleaned.lower() not in out:
            out[cleaned.lower()] = cleaned
    return tuple(out.values())[:MAX_TAGS]


def _people(people: tuple[Person, ...], warn: Callable[[str], None] | None = None) -> tuple[Person, ...]:
    out = []
    if warn is not None:
        unknown = _unknown_values(people[:MAX_ATTENDEES])
        if unknown:
            warn(f"attendees with {unknown}, values aggregator/evidence.py does not know: read as "
                 f"{DEFAULT_STATUS!r} and as plain attendees")
    for person in people[:MAX_ATTENDEES]:
        cleaned = _person(person)
        if cleaned is not None:
            out.append(cleaned)
    return tuple(out)


def _unknown_values(people: tuple[Person, ...]) -> str:
    """"status 'accepted', role 'organiser'": the first of each a kind yielded that no table holds."""
    odd = []
    for what, known in (("status", STATUSES), ("role", ROLES)):
        values = (getattr(p, what) for p in people if isinstance(p, Person))
        value = next((v for v in values if v not in known), known)
        if value is not known:
            odd.append(f"{what} {value!r}"[:80])
    return ", ".join(odd)


def _person(person: Person) -> Person | None:
    name = _line(person.name, LIMITS["name"])
    url = clean_url(person.url)
    email = _email(person.email)
    if not (name or url or email):
        return None
    return Person(name=name, url=url, email=email,
                  status=person.status if person.status in STATUSES else DEFAULT_STATUS,
                  role=person.role if person.role in ROLES else None)


def _email(email: str | None) -> str | None:
    if not email:
        return None
    email = safe_text(email, one_line=True).strip()
    if email.lower().startswith("mailto:"):
        email = email[7:]
    return email.lower() if _EMAIL.fullmatch(email) else None
