"""Ranked events -> an RFC 5545 calendar that every client reads the same way.

Timed events are written in UTC and all-day events as dates (no VTIMEZONE to
get wrong); recurrences are already single instances. UIDs come from the
stored event id; DTSTAMP, LAST-MODIFIED and SEQUENCE come from what this feed
last published of the event, so the bytes (and the server's ETag) stay the
same while nothing changed. Text goes through icalendar's escaping, so a
newline in a scraped title never starts a property or an event.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import icalendar

from aggregator import __version__
from aggregator.config import Settings
from aggregator.rank import Ranked, rank_rows
from aggregator.store import Store, parse_utc

UTC = timezone.utc
CANCELLED_KEPT_DAYS = 14
REFRESH = timedelta(hours=12)
MAX_DESCRIPTION = 4000
MAX_FEED_BYTES = 900_000  # Google Calendar drops subscriptions past about 1 MB
CALENDAR_END = b"END:VCALENDAR\r\n"
PRODID = f"-//aggregator//aggregator {__version__}//EN"


@dataclass
class Feed:
    key: str
    body: bytes
    etag: str
    last_modified: datetime
    events: int
    dropped: int = 0  # left out to stay under MAX_FEED_BYTES


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
        if item.event.status == "cancelled" or item.row.get("removed_at"):
            keep.append(item)
            continue
        week = item.start_utc().astimezone(settings.timezone).isocalendar()[:2]
        if limit and per_week[week] >= limit:
            continue
        per_week[week] += 1
        keep.append(item)
    return keep


def build(store: Store, settings: Settings, *, now: datetime, topic: str | None = None) -> Feed:
    """The feed for the profile (or one topic), with its ETag and true Last-Modified."""
    rows = store.event_rows(
        start=now - timedelta(days=settings.feed.days_back),
        end=now + timedelta(days=settings.feed.days_ahead),
        changed_since=now - timedelta(days=CANCELLED_KEPT_DAYS),
    )
    items = select(rank_rows(store, settings, rows, now=now, topic=topic), settings)
    items.sort(key=lambda i: (i.row["start_utc"], i.id))
    key = feed_key(topic)
    versions = store.publish_versions(
        key, {i.id: (published_hash(i), i.row.get("sequence") or 0) for i in items}, now,
    )
    shell = calendar_shell(settings, topic).to_ical()
    head, tail = shell[: -len(CALENDAR_END)], CALENDAR_END
    parts = []
    for item in items:
        component = vevent(item)
        sequence, modified = versions[item.id]
        stamp = parse_utc(modified)
        component.add("DTSTAMP", stamp)
        component.add("LAST-MODIFIED", stamp)
        component.add("SEQUENCE", sequence)
        parts.append((item, component.to_ical()))
    kept = within_budget(parts, MAX_FEED_BYTES - len(head) - len(tail))
    body = head + b"".join(data for _, data in kept) + tail
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Feed(key=key, body=body, etag=etag, last_modified=store.feed_built_at(key, etag, now),
                events=len(kept), dropped=len(parts) - len(kept))


def within_budget(parts: list[tuple[Ranked, bytes]], budget: int) -> list[tuple[Ranked, bytes]]:
    """The best events that fit in `budget` bytes (cancellations first: subscribers must learn of them)."""
    if sum(len(data) for _, data in parts) <= budget:
        return parts
    keep, used = set(), 0
    for item, data in sorted(parts, key=lambda p: (not _cancelled(p[0]), -p[0].score, p[0].row["start_utc"])):
        if used + len(data) <= budget:
            keep.add(item.id)
            used += len(data)
    return [(item, data) for item, data in parts if item.id in keep]


def _cancelled(item: Ranked) -> bool:
    return item.event.status == "cancelled" or bool(item.row.get("removed_at"))


def calendar_shell(settings: Settings, topic: str | None) -> icalendar.Calendar:
    name = settings.feed.name + (f" — {topic}" if topic else "")
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
    return cal


def vevent(item: Ranked) -> icalendar.Event:
    """One VEVENT without the version stamps (DTSTAMP, LAST-MODIFIED, SEQUENCE)."""
    e = item.event
    c = icalendar.Event()
    c.add("UID", f"{item.id}@aggregator")
    if e.all_day:
        c.add("DTSTART", e.start)
        c.add("DTEND", e.effective_end())
    else:
        c.add("DTSTART", e.start.astimezone(UTC))
        c.add("DTEND", e.effective_end().astimezone(UTC))
    c.add("SUMMARY", e.title)
    cancelled = _cancelled(item)
    c.add("STATUS", "CANCELLED" if cancelled else e.status.upper())
    c.add("TRANSP", "TRANSPARENT")  # a suggestion, not a commitment: never blocks free/busy
    c.add("DESCRIPTION", description(item, cancelled))
    if e.url:
        c.add("URL", e.url)
    location = e.venue.label() or ("Online" if e.online else None)
    if location:
        c.add("LOCATION", location)
    if e.venue.lat is not None and e.venue.lon is not None:
        c.add("GEO", (e.venue.lat, e.venue.lon))
    if e.tags:
        c.add("CATEGORIES", list(e.tags))
    return c


def description(item: Ranked, cancelled: bool) -> str:
    """Why it was chosen and who is likely there first, then the source's own text."""
    lines = []
    if cancelled:
        lines.append("CANCELLED (or no longer listed by its source).")
    if item.reasons:
        lines.append("Why: " + "; ".join(item.reasons))
    likely = [c["name"] for c in item.contacts if c.get("probability", 0) >= 0.3]
    if likely:
        lines.append("Likely there: " + ", ".join(likely))
    if item.event.group:
        lines.append(f"Group: {item.event.group}")
    text = "\n".join(lines)
    if item.event.description:
        text += "\n\n" + item.event.description
    if item.event.url and item.event.url not in text:
        text += f"\n\n{item.event.url}"
    return text.strip()[:MAX_DESCRIPTION]


def published_hash(item: Ranked) -> str:
    """A digest of everything `vevent` writes, without serializing it twice."""
    e = item.event
    cancelled = _cancelled(item)
    parts = [e.title, str(e.start), str(e.effective_end()), e.status, cancelled, description(item, cancelled),
             e.url, e.venue.label(), e.online, e.venue.lat, e.venue.lon, list(e.tags)]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]
