"""Rows <-> values: the one place that knows how events, people and times are written in SQLite.

Times are sortable UTC text; lists are JSON in TEXT columns. Nothing outside the
store package reads those encodings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.evidence import DEFAULT_STATUS, FEED, role_evidence
from aggregator.identity import shared_emails
from aggregator.model import Event, Person, Venue, stable_id
from aggregator.store.values import AttendanceRow, Contact, MergeCandidate, SourceHealth, StoredEvent

UTC = timezone.utc

EVENT_COLUMNS = {
    "id": str, "source": str, "source_uid": str, "title": str, "description": str,
    "start": str, "end": str, "start_utc": str, "end_utc": str, "all_day": int,
    "timezone": str, "url": str, "venue_name": str, "venue_address": str, "venue_city": str,
    "lat": float, "lon": float, "online": int, "group_name": str, "tags": str, "status": str,
    "content_hash": str, "sequence": int, "first_seen": str, "last_seen": str,
    "updated_at": str, "canonical_id": str, "removed_at": str,
}
# Fields whose change is a real change of the event (bumps sequence).
CONTENT_FIELDS = (
    "title", "description", "start", "end", "all_day", "timezone", "url", "venue_name",
    "venue_address", "venue_city", "lat", "lon", "online", "group_name", "tags", "status",
)
ATTENDANCE_COLUMNS = ("event_id", "person_key", "name", "email", "url", "status", "evidence", "seen_at")


def utc_text(moment: datetime) -> str:
    """The sortable UTC text every *_utc column and timestamp uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """The inverse of utc_text (fromisoformat reads the trailing Z, and is ~20x faster than strptime)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def event_id(source: str, source_uid: str) -> str:
    return stable_id(source, source_uid)


def chunks(values: list, size: int = 500) -> Iterator[tuple[list, str]]:
    """(chunk, "?,?,...") pairs: SQLite caps the parameters of one statement."""
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


def fts_phrase(topic: str) -> str:
    """An FTS5 query matching `topic` as a phrase, whatever characters it holds."""
    words = "".join(c if c.isalnum() else " " for c in topic).split()
    return '"' + " ".join(words) + '"' if words else ""


def json_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        decoded = json.loads(value)
    except ValueError:
        return ()
    return tuple(str(v) for v in decoded) if isinstance(decoded, list) else ()


def _date_start_utc(day: date, tz: ZoneInfo) -> str:
    return utc_text(datetime.combine(day, time(0), tzinfo=tz))


def event_row(source: str, event: Event, tz: ZoneInfo) -> dict[str, Any]:
    """The events-table row for one event; `tz` places all-day events in time."""
    end = event.effective_end()
    start_text = event.start.isoformat()
    end_text = event.end.isoformat() if event.end else None
    if event.all_day:
        start_utc, end_utc = _date_start_utc(event.start, tz), _date_start_utc(end, tz)
    else:
        start_utc, end_utc = utc_text(event.start), utc_text(end)
    row = {
        "id": event_id(source, event.source_uid),
        "source": source,
        "source_uid": event.source_uid,
        "title": event.title,
        "description": event.description,
        "start": start_text,
        "end": end_text,
        "start_utc": start_utc,
        "end_utc": end_utc,
        "all_day": int(event.all_day),
        "timezone": event.timezone,
        "url": event.url,
        "venue_name": event.venue.name,
        "venue_address": event.venue.address,
        "venue_city": event.venue.city,
        "lat": event.venue.lat,
        "lon": event.venue.lon,
        "online": int(event.online),
        "group_name": event.group,
        "tags": json.dumps(list(event.tags)) if event.tags else None,
        "status": event.status,
        "removed_at": None,  # seen again: no longer vanished (canonical_id belongs to the dedup pass)
    }
    # A role is hashed only when set, so events without speakers or hosts keep their old hash.
    people = sorted([p.key(), p.status, *([p.role] if p.role else [])] for p in event.attendees)
    digest = hashlib.sha256(json.dumps([row[f] for f in CONTENT_FIELDS] + [json.dumps(people)]).encode())
    row["content_hash"] = digest.hexdigest()[:20]
    return row


def row_event(row: dict[str, Any]) -> Event:
    """An Event back from a stored row (its attendees are AttendanceRow values of their own)."""
    return stored_events(list(row), [tuple(row.values())], event_only=True)[0]


def stored_event(row: dict[str, Any]) -> StoredEvent:
    """A StoredEvent from an events-table row (`select *`)."""
    return stored_events(list(row), [tuple(row.values())])[0]


# The columns stored_events reads, in the order it names them.
_DECODED = ("source_uid", "title", "start", "end", "all_day", "timezone", "description", "url", "venue_name",
            "venue_address", "venue_city", "lat", "lon", "online", "group_name", "tags", "status", "id", "source",
            "start_utc", "end_utc", "content_hash", "sequence", "first_seen", "last_seen", "updated_at", "removed_at",
            "canonical_id")


def stored_events(names: list[str], rows: list[tuple], *, event_only: bool = False) -> list:
    """StoredEvents (Events, when `event_only`) from rows of the events table, `names` their columns
    (a cursor's description): a query decodes thousands, so no dict per row. A column the rows lack
    reads as None, as `row.get` would."""
    at = {name: i for i, name in enumerate(names)}
    missing = len(names)  # a row lacking a column gets a None at this index
    places = [at.get(name, missing) for name in _DECODED]
    pad = missing in places
    (uid, title, start, end, all_day, zone, description, url, venue_name, venue_address, venue_city, lat, lon,
     online, group, tags, status, ident, source, start_utc, end_utc, content_hash, sequence, first_seen, last_seen,
     updated_at, removed_at, canonical_id) = places
    out = []
    for row in rows:
        if pad:
            row = (*row, None)
        day = bool(row[all_day])
        parse = date.fromisoformat if day else datetime.fromisoformat
        event = Event(
            source_uid=row[uid], title=row[title], start=parse(row[start]),
            end=parse(row[end]) if row[end] else None, all_day=day, timezone=row[zone],
            description=row[description], url=row[url],
            venue=Venue(row[venue_name], row[venue_address], row[venue_city], row[lat], row[lon]),
            online=bool(row[online]), group=row[group], tags=json_list(row[tags]), status=row[status] or "confirmed",
        )
        if event_only:
            out.append(event)
            continue
        out.append(StoredEvent(
            id=row[ident], source=row[source], event=event, start_utc=parse_utc(row[start_utc]),
            end_utc=parse_utc(row[end_utc]) if row[end_utc] else None, content_hash=row[content_hash],
            sequence=row[sequence] or 0, first_seen=parse_utc(row[first_seen]), last_seen=parse_utc(row[last_seen]),
            updated_at=parse_utc(row[updated_at]),
            removed_at=parse_utc(row[removed_at]) if row[removed_at] else None, canonical_id=row[canonical_id]))
    return out


def attendance_rows(event_ids_people: Iterable[tuple[str, Iterable[Person]]], stamp: str) -> list[tuple]:
    """Attendance rows (in ATTENDANCE_COLUMNS order) for events and the people a source lists.

    An email keys a person only when, in this batch, it belongs to one person: an
    address several names share (a group's info@, an organizer's address on every
    RSVP, noreply@) would fold different people into one row, so they key by name.
    """
    batch = [(ident, list(people)) for ident, people in event_ids_people]
    shared = shared_emails((p.name, p.email) for _, people in batch for p in people)
    rows: dict[tuple[str, str, str], tuple] = {}
    for ident, people in batch:
        for person in people:
            key = person_key(person, shared)
            if not key:
                continue
            evidence = role_evidence(person.role)  # a role evidence.ROLES lacks raises, never reads as 'feed'
            rows.setdefault((ident, key, evidence), (
                ident, key, person.name, person.email, person.url, person.status, evidence, stamp))
    return list(rows.values())


def person_key(person: Person, shared: set[str]) -> str:
    """Profile URL, else an email of this person alone, else the name."""
    email = (person.email or "").strip().lower()
    if email in shared:
        email = ""
    for value in (person.url, email, person.name):
        if value and value.strip():
            return value.strip().lower()
    return ""


def attendance_value(row: dict[str, Any]) -> AttendanceRow:
    return AttendanceRow(row["event_id"], row["person_key"], row.get("name"), row.get("email"), row.get("url"),
                         row.get("status") or DEFAULT_STATUS, row.get("evidence") or FEED, row.get("seen_at") or "",
                         row.get("contact_id"))


def merge_candidate(row: tuple, priorities: dict[str, int]) -> MergeCandidate:
    """From the columns of MERGE_SELECT, in that order."""
    return MergeCandidate(row[0], row[1], parse_utc(row[2]), row[3], row[4], row[5], row[6], row[7], row[8],
                          bool(row[9]), row[10], bool(row[11]), priorities.get(row[1], 0), row[12], bool(row[13]))


MERGE_SELECT = """select id, source, start_utc, title, group_name, venue_name, venue_city, lat, lon, online, url,
                         all_day, (description is not null) + (url is not null) + (venue_name is not null)
                         + (lat is not null), removed_at is not null from events"""


def source_health(row: dict[str, Any]) -> SourceHealth:
    return SourceHealth(
        name=row["name"], kind=row.get("kind"), url=row.get("url"), last_run_at=row.get("last_run_at"),
        last_ok_at=row.get("last_ok_at"), last_error=row.get("last_error"), last_warning=row.get("last_warning"),
        events_seen=row.get("events_seen") or 0, consecutive_failures=row.get("consecutive_failures") or 0,
        last_new_at=row.get("last_new_at"))


CONTACT_COLUMNS = ("id", "name", "normalized_name", "emails", "urls", "company", "tags", "weight",
                   "last_contacted", "cadence_days", "source_file", "aliases", "connected_on")


def _json_text(values: tuple[str, ...]) -> str | None:
    return json.dumps(list(values), ensure_ascii=False) if values else None


def contact_row(contact: Contact) -> dict[str, Any]:
    """The contacts-table row of a Contact (CONTACT_COLUMNS)."""
    return {
        "id": contact.id, "name": contact.name, "normalized_name": contact.normalized_name,
        "emails": _json_text(contact.emails), "urls": _json_text(contact.urls), "company": contact.company,
        "tags": _json_text(contact.tags), "weight": contact.weight, "last_contacted": contact.last_contacted,
        "cadence_days": contact.cadence_days, "source_file": contact.source_file,
        "aliases": _json_text(contact.aliases), "connected_on": contact.connected_on,
    }


def contact_value(row: dict[str, Any]) -> Contact:
    return Contact(
        id=row["id"], name=row.get("name") or "", normalized_name=row.get("normalized_name"),
        emails=json_list(row.get("emails")), urls=json_list(row.get("urls")), aliases=json_list(row.get("aliases")),
        company=row.get("company"), tags=json_list(row.get("tags")), weight=row.get("weight"),
        last_contacted=row.get("last_contacted"), cadence_days=row.get("cadence_days"),
        connected_on=row.get("connected_on"), source_file=row.get("source_file"))
