"""Events: a source's store step (insert, update, attendance, vanish marks) and event reads."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.errors import AggregatorError
from aggregator.model import Event
from aggregator.store.attendance import AttendanceRepository
from aggregator.store.codec import EVENT_COLUMNS, event_row, stored_event, stored_events, utc_text
from aggregator.store.database import Database
from aggregator.store.values import SaveCounts, StoredEvent

MAX_EVENT_DAYS = 31  # an event that started longer ago than this is over
_INSERT_COLUMNS = list(EVENT_COLUMNS)
_INSERT_SQL = (f"insert into events ({', '.join(f'[{c}]' for c in _INSERT_COLUMNS)}) "
               f"values ({', '.join('?' * len(_INSERT_COLUMNS))})")
# An update rewrites what the source says and the bookkeeping; first_seen and canonical_id stay.
_UPDATE_COLUMNS = [c for c in EVENT_COLUMNS if c not in ("id", "first_seen", "canonical_id")]
_UPDATE_SQL = f"update events set {', '.join(f'[{c}] = ?' for c in _UPDATE_COLUMNS)} where id = ?"
# When the indexed text is unchanged, leaving it out of SET skips the full-text trigger (schema v5).
FTS_COLUMNS = ("title", "description", "group_name", "tags")
_UPDATE_KEEPING_TEXT = [c for c in _UPDATE_COLUMNS if c not in FTS_COLUMNS]
_UPDATE_KEEPING_TEXT_SQL = f"update events set {', '.join(f'[{c}] = ?' for c in _UPDATE_KEEPING_TEXT)} where id = ?"


# In progress after :start or starting before :end (an event longer than MAX_EVENT_DAYS is over).
_WINDOW = """coalesce(end_utc, start_utc) > :start and start_utc < :end and start_utc > :earliest
             and (canonical_id is null or canonical_id = id)"""
_SHOWN_OR_CHANGED = "((status != 'cancelled' and removed_at is null) or coalesce(removed_at, updated_at) >= :since)"
_FEED_WINDOW_SQL = f"""
with candidates as (
  select id, status, removed_at,
         row_number() over (partition by source, title, substr(start_utc, 1, 10)
                            order by start_utc, id) as series_rank
  from events where {_WINDOW} and {_SHOWN_OR_CHANGED}
)
select events.* from candidates join events on events.id = candidates.id
where candidates.series_rank <= :per_day or candidates.status = 'cancelled' or candidates.removed_at is not null
order by events.start_utc, events.id
"""


class UnknownEvent(AggregatorError):
    """An event id (or prefix) that names no stored event, or several: bad usage, exit 2 (CONTRACT.md)."""

    exit_code = 2


class EventRepository:
    def __init__(self, database: Database, attendance: AttendanceRepository):
        self.database = database
        self.attendance = attendance

    def save(self, source: str, events: Iterable[Event], *, now: datetime, tz: ZoneInfo) -> SaveCounts:
        """Insert new events, update changed ones (sequence + 1), leave unchanged ones alone.

        A new or changed event's attendee list replaces the stored one (the user's
        own 'manual' rows stay). One transaction, joined to the caller's if any:
        all of this source's rows land, or none do. Writes are batched statements,
        so a feed of tens of thousands of changed events stores in about a second.
        """
        stamp = utc_text(now)
        rows: dict[str, dict[str, Any]] = {}
        people: dict[str, tuple] = {}
        for event in events:
            row = event_row(source, event, tz)
            if row["id"] in rows:
                continue  # the same occurrence twice in one feed: keep the first
            rows[row["id"]] = row
            people[row["id"]] = event.attendees
        conn = self.database.conn
        with self.database.transaction():
            existing = {
                r[0]: r[1:] for r in conn.execute(
                    "select id, content_hash, sequence, removed_at, title, description, group_name, tags "
                    "from events where source = ?", [source])}
            inserts, updates, text_kept, unchanged = [], [], [], 0
            for ident, row in rows.items():
                old = existing.get(ident)
                if old is None:
                    full = {**row, "sequence": 0, "first_seen": stamp, "last_seen": stamp, "updated_at": stamp,
                            "canonical_id": None}
                    inserts.append([full[c] for c in _INSERT_COLUMNS])
                elif old[0] != row["content_hash"] or old[2] is not None:  # changed, or back after vanishing
                    full = {**row, "sequence": (old[1] or 0) + 1, "last_seen": stamp, "updated_at": stamp,
                            "removed_at": None}
                    if tuple(row[c] for c in FTS_COLUMNS) == old[3:]:
                        text_kept.append([*(full[c] for c in _UPDATE_KEEPING_TEXT), ident])
                    else:
                        updates.append([*(full[c] for c in _UPDATE_COLUMNS), ident])
                else:
                    unchanged += 1  # nothing is written
            conn.executemany(_INSERT_SQL, inserts)
            conn.executemany(_UPDATE_SQL, updates)
            conn.executemany(_UPDATE_KEEPING_TEXT_SQL, text_kept)
            changed = [r[0] for r in inserts] + [r[-1] for r in updates] + [r[-1] for r in text_kept]
            self.attendance.replace_listed(((i, people[i]) for i in changed), stamp)
        return SaveCounts(new=len(inserts), updated=len(updates) + len(text_kept), unchanged=unchanged)

    def mark_vanished(self, source: str, present: set[str], *, now: datetime, until: datetime,
                      ) -> tuple[int, str | None]:
        """Future events of a full-snapshot source missing from a good fetch get removed_at.

        A fetch that yields no upcoming events, or fewer than half of those
        stored, is suspect: nothing is removed and a warning is returned.
        """
        conn = self.database.conn
        with self.database.transaction():
            stored = {r[0] for r in conn.execute(
                "select id from events where source = ? and start_utc > ? and start_utc < ? and removed_at is null",
                [source, utc_text(now), utc_text(until)])}
            missing = stored - present
            if not missing:
                return 0, None
            present_upcoming = conn.execute(
                "select count(*) from events where source = ? and start_utc > ? and id in "
                "(select value from json_each(?))", [source, utc_text(now), json.dumps(sorted(present))]).fetchone()[0]
            if present_upcoming < 0.5 * len(stored):
                return 0, (f"suspect fetch: {present_upcoming} upcoming events where {len(stored)} were stored; "
                           f"none removed")
            conn.executemany(
                "update events set removed_at = ?, updated_at = ?, sequence = sequence + 1 where id = ?",
                [(utc_text(now), utc_text(now), i) for i in sorted(missing)])
        return len(missing), None

    def between(self, *, start: datetime, end: datetime, include_cancelled: bool = False,
                changed_since: datetime | None = None) -> list[StoredEvent]:
        """Events in progress after `start` or starting before `end`, by start.

        Cancelled and removed events are left out, unless `include_cancelled`
        (all of them) or `changed_since` (those cancelled or removed since then,
        so a feed can tell subscribers for a while). A merged event shows once.
        """
        sql = f"select * from events where {_WINDOW}"
        params = self._window(start, end)
        if changed_since is not None:
            sql += f" and {_SHOWN_OR_CHANGED}"
            params["since"] = utc_text(changed_since)
        elif not include_cancelled:
            sql += " and status != 'cancelled' and removed_at is null"
        sql += " order by start_utc, id"
        return stored_events(*self.database.tuples(sql, params))

    def feed_window(self, *, start: datetime, end: datetime, changed_since: datetime,
                    per_day: int) -> list[StoredEvent]:
        """`between(start, end, changed_since=...)` with at most `per_day` occurrences of one series
        (same source and title) on one UTC day, its earliest; cancelled or removed ones always.

        A runaway series (a minutely RRULE, 500,000 stored occurrences) costs SQLite one
        sorted scan, not 500,000 values to rank; the rows are numbered on narrow columns
        and only the kept ones are read whole. `per_day` 0: no cap.
        """
        if not per_day:
            return self.between(start=start, end=end, changed_since=changed_since)
        params = {**self._window(start, end), "since": utc_text(changed_since), "per_day": per_day}
        return stored_events(*self.database.tuples(_FEED_WINDOW_SQL, params))

    @staticmethod
    def _window(start: datetime, end: datetime) -> dict[str, Any]:
        return {"start": utc_text(start), "end": utc_text(end),
                "earliest": utc_text(start - timedelta(days=MAX_EVENT_DAYS))}

    def count(self, source: str | None = None, *, after: datetime | None = None) -> int:
        sql, params = "select count(*) from events where removed_at is null", []
        if source is not None:
            sql += " and source = ?"
            params.append(source)
        if after is not None:
            sql += " and start_utc >= ?"
            params.append(utc_text(after))
        with self.database.lock:
            return self.database.conn.execute(sql, params).fetchone()[0]

    def find(self, ident: str) -> StoredEvent:
        """An event by id or by a unique id prefix (any length: `why b15`); UnknownEvent otherwise,
        naming the candidates when the prefix is shared."""
        ident = ident.strip()
        exact = self.get(ident) if ident else None
        if exact is not None:
            return exact
        rows = self.database.rows("select * from events where id >= ? and id < ? order by id limit 6",
                                  [ident, ident + "\uffff"]) if ident else []
        if len(rows) == 1:
            return stored_event(rows[0])
        if not rows:
            raise UnknownEvent(f"unknown event id: no event with id {ident!r}; ids are shown by `aggregator upcoming`, "
                               "and by `aggregator past` for the events of the last 30 days")
        named = "; ".join(f"{r['id'][:10]} ({r['title']}, {str(r['start'])[:10]})" for r in rows[:5])
        more = ", and more" if len(rows) > 5 else ""
        raise UnknownEvent(f"{ident!r} matches several events: {named}{more}; give more of the id")

    def get(self, ident: str) -> StoredEvent | None:
        rows = self.database.rows("select * from events where id = ?", [ident])
        return stored_event(rows[0]) if rows else None
