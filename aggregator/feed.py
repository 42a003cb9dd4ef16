"""Ranked events -> an RFC 5545 calendar that every client reads the same way.

Timed events are written in UTC and all-day events as dates (no VTIMEZONE to
get wrong); recurrences are already single instances. UIDs come from the
stored event id; DTSTAMP, LAST-MODIFIED and SEQUENCE come from what this feed
last published of the event, so the bytes (and the server's ETag) stay the
same while nothing changed.

Every value is cleaned again here, whatever the sources did: text through
`safe_text` then TEXT escaping (a newline in a scraped title never starts a
property or an event), URLs through `clean_url` (else left out). An event that
still cannot be written is skipped and named in `Feed.skipped`: one bad event
never stops the feed.

The VEVENT text is written directly (75-octet folding, TEXT escaping, the
property order icalendar uses, so its parser round-trips it byte for byte)
and kept per (event id, published hash): a nightly rebuild of an unchanged
feed only re-stamps cached text.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import icalendar

from aggregator import __version__
from aggregator.config import Settings
from aggregator.errors import AggregatorError
from aggregator.model import StoredEvent
from aggregator.present import OFTEN, SAID, evidence_words
from aggregator.ranking import Ranked, rank_events
from aggregator.store import Store, utc_text
from aggregator.text import clean_url, safe_text

UTC = timezone.utc
CANCELLED_KEPT_DAYS = 14
REFRESH = timedelta(hours=12)
MAX_DESCRIPTION = 4000
MAX_FEED_BYTES = 900_000  # Google Calendar drops subscriptions past about 1 MB
CALENDAR_END = b"END:VCALENDAR\r\n"
PRODID = f"-//aggregator//aggregator {__version__}//EN"
STATUSES = {"CONFIRMED", "TENTATIVE", "CANCELLED"}  # RFC 5545 3.8.1.11, for a VEVENT
FOLD_OCTETS = 74  # content octets per physical line: 75 with the leading space of a continuation
CACHE_LIMIT = 50_000  # VEVENT texts kept between builds (about 1 KB each)


@dataclass
class Feed:
    key: str
    body: bytes
    etag: str
    last_modified: datetime
    events: int
    dropped: int = 0  # left out to stay under MAX_FEED_BYTES
    skipped: list[str] = field(default_factory=list)  # events that could not be written, with why
    vevents: dict[str, bytes] = field(default_factory=dict)  # event id -> its VEVENT, as published


def feed_key(topic: str | None) -> str:
    return f"topic:{topic.strip().lower()}" if topic else "all"


def select(items: list[Ranked], settings: Settings) -> list[Ranked]:
    """Apply feed.min_score and feed.limit_per_week (best first within each week).

    Cancelled events are kept whatever the cap, so subscribers learn of it.
    """
    keep: list[Ranked] = []
    per_week: dict[tuple[int, int], int] = defaultdict(int)
    limit = settings.feed.limit_per_week
    for item in items:  # best first
        if item.score < settings.feed.min_score:
            continue
        if item.stored.gone:
            keep.append(item)
            continue
        week = item.start_utc().astimezone(settings.timezone).isocalendar()[:2]
        if limit and per_week[week] >= limit:
            continue
        per_week[week] += 1
        keep.append(item)
    return keep


def build(store: Store, settings: Settings, *, now: datetime, topic: str | None = None, public: bool = False) -> Feed:
    """The feed for the profile (or one topic), with its ETag and true Last-Modified.

    `public`: without people (`without_people`), for a site anyone may read; its versions are
    kept apart from the private feed's. Raises AggregatorError (not sqlite3's) when the
    database is read-only and the feed changed, so there is something to record.
    """
    events = window_events(store, settings, now)
    # The feed's text names contacts at SAID and up (reasons, "Likely there"): only theirs are made.
    items = select(rank_events(store, settings, events, now=now, topic=topic, roll_up=True, named_from=SAID), settings)
    if public:
        items = [without_people(item) for item in items]
    items.sort(key=lambda i: (i.start_utc(), i.id))
    key = ("public:" if public else "") + feed_key(topic)
    written, skipped = [], []
    for item in items:
        try:
            written.append((item, *cached_vevent(item)))
        except (ValueError, TypeError, OverflowError, AttributeError, KeyError) as exc:
            skipped.append(f"{item.id}: {safe_text(item.event.title, one_line=True)[:80]!r}: {exc}")
    try:
        versions = store.publish.versions(key, {item.id: (digest, item.stored.sequence) for item, digest, _ in written},
                                          now)
    except sqlite3.OperationalError as exc:
        raise _storage_error(store, exc) from None
    head = calendar_head(settings, topic)
    parts = []
    for item, _, pieces in written:
        sequence, modified = versions[item.id]
        parts.append((item, stamped(pieces, item.id, sequence, modified)))
    kept = within_budget(parts, MAX_FEED_BYTES - len(head) - len(CALENDAR_END))
    body = head + b"".join(data for _, data in kept) + CALENDAR_END
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    try:
        built_at = store.publish.built_at(key, etag, now)
    except sqlite3.OperationalError as exc:
        raise _storage_error(store, exc) from None
    return Feed(key=key, body=body, etag=etag, last_modified=built_at, events=len(kept),
                dropped=len(parts) - len(kept), skipped=skipped, vevents={item.id: data for item, data in kept})


def without_people(item: Ranked) -> Ranked:
    """The item as anyone may read it: no contacts, no reason about them, your calendar or your home;
    scored on its topics and place alone."""
    reasons = [r for r in item.reasons if r.startswith("topic:") or r == "online" or " more talks of " in r]
    return replace(item, chances=[], reasons=reasons, recent={}, social_part=1.0,
                   score=round(item.topic_part * item.distance_factor, 3))


def window_events(store: Store, settings: Settings, now: datetime) -> list[StoredEvent]:
    """The stored events the feed may publish: its window, with at most `limit_per_week`
    occurrences of one series on one day (a series gets no more a week in the feed anyway), so
    a runaway series costs one sorted scan (EventRepository.feed_window); cancelled or removed
    ones of the last CANCELLED_KEPT_DAYS so subscribers learn of them."""
    return store.events.feed_window(start=now - timedelta(days=settings.feed.days_back),
                                    end=now + timedelta(days=settings.feed.days_ahead),
                                    changed_since=now - timedelta(days=CANCELLED_KEPT_DAYS),
                                    per_day=settings.feed.limit_per_week)


def _storage_error(store: Store, exc: sqlite3.OperationalError) -> AggregatorError:
    if "readonly" in str(exc) or "read-only" in str(exc):
        return AggregatorError(
            f"cannot record the feed's new version: {store.database.path} is read-only; run `aggregator feed` as "
            f"the user who runs `fetch`, or make the database (and its folder) writable")
    return AggregatorError(f"cannot record the feed's new version in {store.database.path}: {exc}")


def within_budget(parts: list[tuple[Ranked, bytes]], budget: int) -> list[tuple[Ranked, bytes]]:
    """The best events that fit in `budget` bytes (cancellations first: subscribers must learn of them)."""
    if sum(len(data) for _, data in parts) <= budget:
        return parts
    keep, used = set(), 0
    for item, data in sorted(parts, key=lambda p: (not p[0].stored.gone, -p[0].score, p[0].start_utc())):
        if used + len(data) <= budget:
            keep.add(item.id)
            used += len(data)
    return [(item, data) for item, data in parts if item.id in keep]


def calendar_head(settings: Settings, topic: str | None) -> bytes:
    """The VCALENDAR's own properties (written once a build: icalendar's speed does not matter here)."""
    name = safe_text(settings.feed.name + (f" — {topic}" if topic else ""), one_line=True)
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("NAME", name)
    cal.add("X-WR-CALNAME", name)
    cal.add("X-WR-TIMEZONE", settings.timezone.key)
    cal.add("X-WR-CALDESC", "Ranked local tech events, from aggregator")
    # Both need a DURATION value; REFRESH-INTERVAL also needs VALUE=DURATION (RFC 7986).
    cal.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", icalendar.vDuration(REFRESH))
    return cal.to_ical()[: -len(CALENDAR_END)]


def single_calendar(settings: Settings, vevent: bytes) -> bytes:
    """A calendar holding one published VEVENT (the page's "add to calendar")."""
    return calendar_head(settings, None) + vevent + CALENDAR_END


# -- what is published of one event -------------------------------------------
@dataclass(frozen=True)
class Published:
    """The cleaned values of one VEVENT, before the version stamps."""

    title: str
    start: datetime | date
    end: datetime | date
    all_day: bool
    status: str
    cancelled: bool
    description: str
    url: str | None
    location: str | None
    geo: tuple[float, float] | None
    tags: tuple[str, ...]


def published(item: Ranked) -> Published:
    e = item.event
    cancelled = item.stored.gone
    url = clean_url(e.url)
    status = "CANCELLED" if cancelled else str(e.status or "confirmed").upper()
    return Published(
        title=safe_text(e.title or "", one_line=True),
        start=e.start, end=e.effective_end(), all_day=bool(e.all_day),
        status=status if status in STATUSES else "CONFIRMED", cancelled=cancelled,
        description=safe_text(description(item, cancelled, url)),
        url=url,
        location=safe_text(e.venue.label() or ("Online" if e.online else ""), one_line=True) or None,
        geo=_geo(e.venue.lat, e.venue.lon),
        tags=tuple(t for t in (safe_text(tag, one_line=True) for tag in e.tags or ()) if t),
    )


def _geo(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180:
        return lat, lon
    return None


def description(item: Ranked, cancelled: bool, url: str | None = None) -> str:
    """Why it was chosen and who is likely there first, then the source's own text."""
    lines = []
    if cancelled:
        lines.append("CANCELLED (or no longer listed by its source).")
    if item.reasons:
        lines.append("Why: " + "; ".join(item.reasons))
    likely = [f"{c['name']} ({evidence_words(c['probability'], c['evidence'])})"  # the page's and agenda's words
              for c in item.contacts if c.get("probability", 0) >= OFTEN]
    if likely:
        lines.append("Likely there: " + ", ".join(likely))
    if item.event.group:
        lines.append(f"Group: {item.event.group}")
    text = "\n".join(lines)
    if item.event.description:
        text += "\n\n" + item.event.description
    if url and url not in text:
        text += f"\n\n{url}"
    return text.strip()[:MAX_DESCRIPTION]


def published_hash(item: Ranked, values: Published | None = None) -> str:
    """A digest of everything the VEVENT says (the same digest as before values were re-cleaned,
    for clean values: an upgrade does not bump every event's SEQUENCE)."""
    p = values or published(item)
    e = item.event
    label = e.venue.label()
    parts = [p.title, str(p.start), str(p.end), e.status, p.cancelled, p.description,
             p.url, label and safe_text(label, one_line=True), e.online, *(p.geo or (None, None)), list(p.tags)]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


_cache: dict[tuple[str, str], tuple[bytes, bytes, bytes]] = {}


def cached_vevent(item: Ranked) -> tuple[str, tuple[bytes, bytes, bytes]]:
    """(published hash, the VEVENT's text around its stamps), from the cache when unchanged."""
    values = published(item)
    digest = published_hash(item, values)
    pieces = _cache.get((item.id, digest))
    if pieces is None:
        pieces = vevent_pieces(values)
        if len(_cache) >= CACHE_LIMIT:
            _cache.clear()  # a different database or a huge one: start again rather than grow
        _cache[(item.id, digest)] = pieces
    return digest, pieces


def vevent_pieces(p: Published) -> tuple[bytes, bytes, bytes]:
    """The VEVENT in icalendar's property order (SUMMARY, DTSTART, DTEND, [stamps, UID,
    SEQUENCE], then by name), cut where the per-build stamps go."""
    if p.all_day:
        start = b"DTSTART;VALUE=DATE:" + _ical_date(p.start)
        end = b"DTEND;VALUE=DATE:" + _ical_date(p.end)
    else:
        start = b"DTSTART:" + _ical_utc(p.start)
        end = b"DTEND:" + _ical_utc(p.end)
    head = b"BEGIN:VEVENT\r\n" + content_line("SUMMARY", escape_text(p.title)) + start + b"\r\n" + end + b"\r\n"
    middle = b""
    if p.tags:
        middle += content_line("CATEGORIES", ",".join(escape_text(t) for t in p.tags))
    middle += content_line("DESCRIPTION", escape_text(p.description))
    if p.geo:
        middle += f"GEO:{p.geo[0]};{p.geo[1]}\r\n".encode()
    tail = b""
    if p.location:
        tail += content_line("LOCATION", escape_text(p.location))
    tail += f"STATUS:{p.status}\r\nTRANSP:TRANSPARENT\r\n".encode()  # TRANSPARENT: never blocks free/busy
    if p.url:
        tail += content_line("URL", p.url)
    return head, middle, tail + b"END:VEVENT\r\n"


def stamped(pieces: tuple[bytes, bytes, bytes], event_id: str, sequence: int, modified: str) -> bytes:
    """The VEVENT with its UID and this feed's version stamps (`modified` as the store writes it)."""
    head, middle, tail = pieces
    stamp = modified.replace("-", "").replace(":", "").encode()  # 2026-12-01T12:00:00Z -> 20261201T120000Z
    return (head + b"DTSTAMP:" + stamp + b"\r\n" + content_line("UID", f"{event_id}@aggregator")
            + b"SEQUENCE:" + str(sequence).encode() + b"\r\n" + middle + b"LAST-MODIFIED:" + stamp + b"\r\n" + tail)


def event_vevent(item: Ranked) -> bytes:
    """One event's VEVENT outside any feed build: stamped with the event's own version."""
    _, pieces = cached_vevent(item)
    return stamped(pieces, item.id, item.stored.sequence, utc_text(item.stored.updated_at))


# -- RFC 5545 text ---------------------------------------------------------------
def escape_text(text: str) -> str:
    """TEXT escaping (RFC 5545 3.3.11); CR is gone already (safe_text)."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    return text.replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def content_line(name: str, value: str) -> bytes:
    """`NAME:value` folded at 75 octets, never inside a UTF-8 character nor after an escaping backslash."""
    line = f"{name}:{value}"
    data = line.encode("utf-8")
    if len(data) <= FOLD_OCTETS:
        return data + b"\r\n"
    if len(data) == len(line):  # ASCII: cut by slicing
        segments, begin = [], 0
        while len(line) - begin > FOLD_OCTETS:
            cut = begin + FOLD_OCTETS
            if line[cut - 1] in "\\^":  # keep an escape with the character it escapes
                cut -= 1
            segments.append(line[begin:cut])
            begin = cut
        segments.append(line[begin:])
        return ("\r\n ".join(segments) + "\r\n").encode("ascii")
    return _fold_utf8(line) + b"\r\n"


def _fold_utf8(line: str) -> bytes:
    segments: list[str] = []
    current: list[str] = []
    octets = 0
    for char in line:
        size = len(char.encode("utf-8"))
        if current and octets + size > FOLD_OCTETS:
            carried = current.pop() if len(current) > 1 and current[-1] in "\\^" else None
            segments.append("".join(current))
            current, octets = ([carried], 1) if carried else ([], 0)
        current.append(char)
        octets += size
    segments.append("".join(current))
    return "\r\n ".join(segments).encode("utf-8")


def _ical_utc(moment: datetime) -> bytes:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"a timed event needs an aware datetime, not {moment!r}")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()


def _ical_date(day: date) -> bytes:
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        raise ValueError(f"an all-day event needs a date, not {day!r}")
    return f"{day.year:04d}{day.month:02d}{day.day:02d}".encode()
