"""What the conference kinds (`schedule`, `sessionize`, `confs_tech`) share: reading their JSON,
talk lengths, wall-clock arithmetic that survives a DST change, a `timezone` option, rooms as
venues, speakers as people."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from aggregator import timezones
from aggregator.errors import SourceError
from aggregator.model import Person, Venue
from aggregator.text import clean_text, clean_url

_DURATION = re.compile(r"^\s*(\d{1,3}):([0-5]\d)(?::([0-5]\d))?\s*$")
_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\s*$")
# Longer than any talk, workshop or hackathon block a schedule lists: beyond it the duration is a typo.
MAX_TALK = timedelta(hours=72)


def duration(text: object) -> timedelta | None:
    """'00:30', '1:30', '01:30:00' -> a timedelta; None when absent, malformed, zero or absurd."""
    match = _DURATION.match(str(text)) if text is not None else None
    if not match:
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    length = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return length if timedelta(0) < length <= MAX_TALK else None


def clock(text: object) -> tuple[int, int] | None:
    """'09:30' or '9:30:00' -> (9, 30); None when it is no time of day."""
    match = _CLOCK.match(str(text)) if text is not None else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def end_after(start: datetime, length: timedelta | None) -> datetime | None:
    """The end `length` of real time after `start`, shown in start's zone.

    Aware-datetime `+` adds wall-clock time, which is an hour off across a DST change;
    adding in UTC keeps a 60-minute talk 60 minutes long."""
    if length is None:
        return None
    return (start.astimezone(timezone.utc) + length).astimezone(start.tzinfo)


def zone_named(name: object) -> ZoneInfo | None:
    """The IANA zone a schedule or an option names (IANA, Windows or display names), else None."""
    if not isinstance(name, str) or not name.strip():
        return None
    iana = timezones.iana_name(name)
    return timezones.zone(iana) if iana else None


def load_json(data: bytes | str, what: str, unreadable: str = "not JSON"):
    """A JSON body, or a SourceError "<what>: <unreadable> (why)". Bytes are decoded first:
    json.loads(bytes) keeps an encoded lone surrogate that later text cleaning cannot encode."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data.lstrip("\ufeff")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{what}: {unreadable} ({exc})") from None
    except RecursionError:
        raise SourceError(f"{what}: JSON nested too deeply") from None


def option_zone(option: str | None) -> ZoneInfo | None:
    """The zone a source's `timezone:` option names; None without one; SourceError for a name we
    cannot place."""
    if not option:
        return None
    zone = zone_named(option)
    if zone is None:
        raise SourceError(f"option timezone: unknown time zone {option!r}; use an IANA name such as Europe/Berlin")
    return zone


def room_venue(room: str | None, conference_venue: str | None, city: str | None = None) -> Venue:
    """A talk's place: 'Room, Conference venue' (the room alone when the venue is unknown)."""
    parts = [p for p in (room, conference_venue) if p]
    if len(parts) == 2 and parts[1].lower() in parts[0].lower():
        parts = parts[:1]
    return Venue(name=", ".join(parts) or None, city=city)


def speaker(name: object, url: object = None) -> Person | None:
    """A talk's speaker as a Person with role "speaker"; None when the schedule gives no name."""
    clean_name = clean_text(name if isinstance(name, str) else None, one_line=True, limit=200)
    if not clean_name:
        return None
    return Person(name=clean_name, url=clean_url(url if isinstance(url, str) else None), role="speaker")


def localised(value: object) -> str | None:
    """Text that a schedule may give per language ({"en": ..., "de": ...}): English, else the first."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        texts = [v for v in value.values() if isinstance(v, str) and v.strip()]
        english = value.get("en")
        return english if isinstance(english, str) and english.strip() else texts[0] if texts else None
    return None


def items(value: object) -> list:
    """A list from the data, or an empty one when the data holds something else there."""
    return value if isinstance(value, list) else []


def unique_speakers(people) -> tuple[Person, ...]:
    """Speakers in schedule order, each once (a name listed twice on one talk is one person)."""
    seen: set[str] = set()
    kept = []
    for person in people:
        if person is not None and person.key() not in seen:
            seen.add(person.key())
            kept.append(person)
    return tuple(kept)
