"""The user's own calendars (`profile.calendars`): which aggregated events they went to or will go to.

A personal calendar is private. Its events are never stored as events, published or served:
they are only matched, here, against the events the sources listed. A match in the past means
the user went (logged as attended, and the contacts it lists count as met that day); a match in
the future means the user is going, and the contacts it lists are likely there (evidence `logged`).

Personal entries come as calendar apps export them (Google's secret iCal address, Outlook/Office
365 published calendars, iCloud, Fastmail): the calendar is named after its owner
(`X-WR-CALNAME:me@example.com`), the owner is the organiser or one of the attendees, the title is
the user's own ("Going: PDX Python"), the location often empty. So an entry is the listed event
when, in this order:
- it has the listed event's UID (the user imported the event's own .ics), or
- its URL, description or location links the listed event's own page (a page no other nearby
  listing uses: a group page is not an event page), within half a day, or
- it starts within the dedup tolerance and its title, or one segment of it, names the event's
  talk, its whole title or its group; its place, when it says one, does not contradict.
The calendar's name is never an organiser. An entry the user declined (their own attendee
PARTSTAT=DECLINED) or that is cancelled says they are not going: it never matches.
"""

from __future__ import annotations

import bisect
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from aggregator import dedup
from aggregator import evidence as ev
from aggregator.dedup import START_TOLERANCE, URL_TOLERANCE, Listing
from aggregator.identity import normalize_url
from aggregator.model import Event, Person

PERSONAL_SOURCE = "\x00profile.calendars"  # never a configured source's name
_EMAIL = re.compile(r"^[^@\s:;,<>]+@[^@\s:;,<>]+\.[^@\s:;,<>]+$")
_MAILTO = re.compile(r"mailto:([^\s;:,<>\"]+@[^\s;:,<>\"]+)", re.IGNORECASE)
_LINKED_PROPS = ("URL", "DESCRIPTION", "X-ALT-DESC", "LOCATION")
_OWNER_MIN_ENTRIES = 3  # an address in every entry that lists people, of at least this many: the owner's


@dataclass(frozen=True)
class CalendarMatch:
    """One personal calendar entry that is the same real event as a stored one."""

    event_id: str  # the stored (aggregated) event it matched
    start: datetime  # the listed event's start (the entry's own time may be a reminder's)
    past: bool  # started before `now`: the user went
    people: tuple[Person, ...]  # whom the user's entry lists (not the user, not who declined)


@dataclass(frozen=True)
class CalendarHints:
    """What an export says beyond its parsed entries: whose calendar it is, and the links each
    entry carries (read from the raw text: a description's HTML anchor keeps its href here)."""

    owner: frozenset[str] = frozenset()  # the user's own addresses, lower case
    links: Mapping[str, frozenset[str]] = field(default_factory=dict)  # UID -> normalized URLs


def calendar_hints(text: str) -> CalendarHints:
    """The owner and links of an iCalendar text (already decoded). The owner is the calendar's
    name when that is an address (Google names a calendar after its owner), else an address that
    is organiser or attendee of every entry listing people (at least three): whose calendar it
    is, for Outlook, iCloud and Fastmail exports that do not say."""
    owner: set[str] = set()
    links: dict[str, set[str]] = {}
    people_per_entry: list[set[str]] = []
    uid, people, urls, depth = "", set(), set(), 0
    for line in re.sub(r"\r?\n[ \t]", "", text).splitlines():
        name, _, rest = line.partition(":")
        key = name.split(";", 1)[0].strip().upper()
        if key == "BEGIN" and rest.strip().upper() == "VEVENT":
            uid, people, urls, depth = "", set(), set(), 1
        elif key == "END" and rest.strip().upper() == "VEVENT" and depth:
            depth = 0
            if people:
                people_per_entry.append(people)
            if uid and urls:
                links.setdefault(uid, set()).update(urls)
        elif key == "X-WR-CALNAME" and not depth and _EMAIL.match(rest.strip()):
            owner.add(rest.strip().lower())
        elif depth and key == "UID":
            uid = rest.strip()
        elif depth and key in ("ORGANIZER", "ATTENDEE"):
            people.update(a.lower() for a in _MAILTO.findall(line))
        elif depth and key in _LINKED_PROPS:
            urls.update(u for u in map(_page, _URL.findall(html.unescape(rest.replace("\\n", " ")))) if u)
    if not owner and len(people_per_entry) >= _OWNER_MIN_ENTRIES:
        owner = set.intersection(*people_per_entry)
    return CalendarHints(frozenset(owner), {k: frozenset(v) for k, v in links.items()})


def _page(url: str) -> str:
    """A linked page as dedup keys URLs; a Google Calendar redirect (google.com/url?q=...) is its target."""
    url = url.replace("\\,", ",").replace("\\;", ";").rstrip("\\")
    parts = urlsplit(url)
    if (parts.hostname or "").endswith("google.com") and parts.path == "/url":
        url = (parse_qs(parts.query).get("q") or [""])[0]
    return normalize_url(url) if url.lower().startswith(("http://", "https://")) else ""


def _aware_start(value: datetime | date, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=tz)


def personal_listing(event: Event, tz: ZoneInfo) -> Listing:
    """What dedup needs of one personal calendar entry. No group: the calendar's name (the owner's
    address, "Calendar", "Home") or the entry's organiser (the user) is never the event's organiser."""
    venue = event.venue
    return Listing(
        id=f"{PERSONAL_SOURCE}:{event.source_uid}", source=PERSONAL_SOURCE, start=_aware_start(event.start, tz),
        title=event.title, group=None, venue=venue.name or venue.address, city=venue.city,
        lat=venue.lat, lon=venue.lon, online=event.online, url=event.url, all_day=event.all_day,
    )


def match_calendar(personal: Iterable[Event], listings: Sequence[Listing], *, now: datetime, tz: ZoneInfo,
                   hints: CalendarHints | None = None, uids: Mapping[str, str] | None = None) -> list[CalendarMatch]:
    """Each personal entry that is the same real event as a listed one (at most one match per entry).
    `uids`: listed event id -> its source's UID (for the same-UID rule)."""
    hints, uids = hints or CalendarHints(), uids or {}
    ordered = sorted((x for x in listings if x.source != PERSONAL_SOURCE), key=lambda x: x.start)
    starts = [x.start for x in ordered]
    by_uid: dict[str, list[Listing]] = {}
    for x in ordered:
        for key in _uid_keys(uids.get(x.id)):
            by_uid.setdefault(key, []).append(x)
    matches: list[CalendarMatch] = []
    for event in personal:
        if not _going(event, hints.owner):
            continue
        mine = personal_listing(event, tz)
        lo = bisect.bisect_left(starts, mine.start - URL_TOLERANCE)
        hi = bisect.bisect_right(starts, mine.start + URL_TOLERANCE)
        best = (_same_uid(event.source_uid, mine, by_uid, uids) or _linked(event, mine, ordered[lo:hi], hints)
                or _same_time_and_title(mine, ordered[lo:hi]))
        if best is None:
            continue
        people = tuple(p for p in event.attendees if p.status != ev.DECLINED and (p.email or "") not in hints.owner)
        matches.append(CalendarMatch(best.id, best.start, best.start < now, people))
    return matches


def _going(event: Event, owner: frozenset[str]) -> bool:
    """Not cancelled, and not declined by the user (their own attendee line)."""
    return event.status != "cancelled" and not any(
        p.status == ev.DECLINED and p.email in owner for p in event.attendees)


def _uid_keys(uid: str | None) -> tuple[str, ...]:
    """A UID, and the series' UID when it is one occurrence's ("uid/20261105T023000Z")."""
    if not uid or uid.startswith("generated-"):
        return ()
    series = re.sub(r"/\d{8}(?:T\d{6}Z?)?$", "", uid)
    return (uid, series) if series != uid else (uid,)


def _closest(mine: Listing, found: Iterable[Listing]) -> Listing | None:
    return min(found, key=lambda x: (abs(x.start - mine.start), x.removed, x.id), default=None)


def _same_uid(uid: str, mine: Listing, by_uid: Mapping[str, list[Listing]],
              uids: Mapping[str, str]) -> Listing | None:
    """The same UID names the same event, whenever the user's copy says it is; an occurrence of a
    series (the same series UID) is the one at the same time."""
    keys = _uid_keys(uid)
    found = [x for key in keys for x in by_uid.get(key, ())]
    exact = [x for x in found if uids.get(x.id) == uid]
    return _closest(mine, exact) or _closest(mine, (x for x in found if abs(x.start - mine.start) <= URL_TOLERANCE
                                                    and x.all_day == mine.all_day))


def _linked(event: Event, mine: Listing, nearby: Sequence[Listing], hints: CalendarHints) -> Listing | None:
    """The listed event whose own page the entry links (its URL, description or location)."""
    raw = next((hints.links[k] for k in _uid_keys(event.source_uid) if k in hints.links), frozenset())
    written = _URL.findall(" ".join(filter(None, (event.url, event.description, event.venue.name))))
    pages = {page for page in raw | set(map(_page, written)) if "/" in page}  # a page, not a whole site
    if not pages:
        return None
    keyed = [(normalize_url(x.url), x) for x in nearby]
    uses = Counter(key for key, _ in keyed)
    return _closest(mine, (x for key, x in keyed if key in pages and uses[key] == 1))


def _same_time_and_title(mine: Listing, nearby: Sequence[Listing]) -> Listing | None:
    """By the dedup rules on time and title; the entry's title is the user's own, so one of its
    segments naming the listed talk or group is enough, and its other segments ("Going") are neutral."""
    return _closest(mine, (x for x in nearby if abs(x.start - mine.start) <= START_TOLERANCE
                           and x.all_day == mine.all_day and dedup.places_agree(mine, x)
                           and (dedup.titles_agree(mine, x) or _names_the_event(mine.title, x))))


def _names_the_event(title: str, listed: Listing) -> bool:
    theirs = set(dedup.title_segments(listed.title))
    if listed.group:
        theirs.add(dedup.normalize_title(listed.group))
    return any(dedup.words_agree(a, b) for a in dedup.title_segments(title) for b in theirs if b)


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
            path = _file_url_path(text) if scheme == "file" else file_path(text)
            if path.is_file():
                found.append(path.resolve().as_uri())
            else:
                problems.append((key, f"file not found: {path}"))
    return tuple(found), problems


def _file_url_path(url: str) -> Path:
    from urllib.request import url2pathname  # it loads http.client, email and ssl: only for a file: URL

    return Path(url2pathname(unquote(urlsplit(url).path)))
