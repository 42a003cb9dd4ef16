"""The user's own calendars (`profile.calendars`): which aggregated events they went to or will go to.

A personal calendar is private. Its events are never stored as events, published or served:
they are only matched, here, against the events the sources listed, by the same rules that
merge cross-posts (`dedup.same_event`). A match in the past means the user went (logged as
attended, and the contacts it lists count as met that day); a match in the future means the
user is going, and the contacts it lists are likely there (evidence `logged`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

from aggregator.dedup import URL_TOLERANCE, Listing, same_event
from aggregator.identity import normalize_url
from aggregator.model import Event, Person

PERSONAL_SOURCE = "\x00profile.calendars"  # never a configured source's name


@dataclass(frozen=True)
class CalendarMatch:
    """One personal calendar entry that is the same real event as a stored one."""

    event_id: str  # the stored (aggregated) event it matched
    start: datetime
    past: bool  # started before `now`: the user went
    people: tuple[Person, ...]  # whom the user's entry lists (organizer and attendees)


def _aware_start(value: datetime | date, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=tz)


def personal_listing(event: Event, tz: ZoneInfo) -> Listing:
    """What dedup needs of one personal calendar entry."""
    venue = event.venue
    return Listing(
        id=f"{PERSONAL_SOURCE}:{event.source_uid}", source=PERSONAL_SOURCE, start=_aware_start(event.start, tz),
        title=event.title, group=event.group, venue=venue.name or venue.address, city=venue.city,
        lat=venue.lat, lon=venue.lon, online=event.online, url=event.url, all_day=event.all_day,
    )


def match_calendar(personal: Iterable[Event], listings: Sequence[Listing], *, now: datetime,
                   tz: ZoneInfo) -> list[CalendarMatch]:
    """Each personal entry that is the same real event as a listed one (at most one match per entry,
    the closest in time; a cancelled personal entry says the user is not going, so it never matches)."""
    ordered = sorted((x for x in listings if x.source != PERSONAL_SOURCE), key=lambda x: x.start)
    starts = [x.start for x in ordered]
    matches: list[CalendarMatch] = []
    for event in personal:
        if event.status == "cancelled":
            continue
        mine = personal_listing(event, tz)
        lo = bisect.bisect_left(starts, mine.start - URL_TOLERANCE)
        hi = bisect.bisect_right(starts, mine.start + URL_TOLERANCE)
        candidates = [x for x in ordered[lo:hi] if same_event(mine, x, url_decisive=_one_page(mine, x, ordered[lo:hi]))]
        if not candidates:
            continue
        best = min(candidates, key=lambda x: (abs(x.start - mine.start), x.removed, x.id))
        matches.append(CalendarMatch(best.id, mine.start, mine.start < now, event.attendees))
    return matches


def _one_page(mine: Listing, other: Listing, nearby: Sequence[Listing]) -> bool:
    """A shared URL is decisive only when no other nearby listing uses it too (a group page is not an event page)."""
    url = normalize_url(mine.url)
    if not url or url != normalize_url(other.url):
        return False
    return sum(1 for x in nearby if normalize_url(x.url) == url) == 1


_URL = re.compile(r"(?:https?|webcal)://[^\s'\"<>]*[^\s'\"<>).,;:!?]", re.IGNORECASE)  # not a sentence's stop


def redact_url(url: str) -> str:
    """What may be shown of a personal calendar's address: scheme and host only. A secret
    address (Google's "secret address in iCal format", an Outlook publish link) is a password:
    anyone holding it reads the whole calendar. A local file is named by its file name."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https", "webcal"):
        return f"{parts.scheme.lower()}://{(parts.hostname or '?').lower()}/…"
    path = parts.path if parts.scheme.lower() == "file" else url
    return path.rstrip("/").rsplit("/", 1)[-1] or "a calendar file"


def redact_text(message: str, url: str) -> str:
    """`message` with `url`, and every other web address in it (a redirect's target), redacted."""
    return _URL.sub(lambda m: redact_url(m.group(0)), message.replace(url, redact_url(url)))


def calendar_entries(value: Any, file_path: Callable[[str], Path]) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """`profile.calendars` checked: (http(s) and file: URLs, [(key, problem)]). A file must exist
    (`file_path` resolves a relative one against the config's folder); no problem shows more of
    a URL than its scheme and host, nor a malformed value itself (it may hold a secret address)."""
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    problems: list[tuple[str, str]] = []
    if value is not None and entries is None:
        problems.append(("profile.calendars", "must be a list of calendar URLs or files"))
    found: list[str] = []
    for i, entry in enumerate(entries or []):
        key = f"profile.calendars[{i}]"
        text = entry.strip() if isinstance(entry, str) else ""
        scheme = urlsplit(text).scheme.lower()
        if not text:
            problems.append((key, "must be a calendar URL or a file"))
        elif scheme in ("http", "https", "webcal"):  # webcal:// is how calendar apps say https://
            if urlsplit(text).hostname:
                found.append(("https" if scheme == "webcal" else scheme) + text[len(scheme):])
            else:
                problems.append((key, f"{redact_url(text)} has no host"))
        elif len(scheme) > 1 and scheme != "file":  # a one-letter scheme is a Windows drive
            problems.append((key, f"only http(s) URLs or local files are read, not {scheme}:"))
        else:
            path = Path(url2pathname(unquote(urlsplit(text).path))) if scheme == "file" else file_path(text)
            if path.is_file():
                found.append(path.resolve().as_uri())
            else:
                problems.append((key, f"file not found: {path}"))
    return tuple(found), problems
