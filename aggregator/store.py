"""SQLite storage through sqlite-utils: the schema, its version, every read and write.

One file (WAL, busy timeout). Events are never deleted: past events and their
attendees are the history the ranking learns from. Each source's writes are
one transaction, so a killed run leaves every source either fully updated or
untouched.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.errors import AggregatorError
from aggregator.model import Cached, Event, Person, Venue, stable_id

SCHEMA_VERSION = 4
MAX_EVENT_DAYS = 31  # an event that started longer ago than this is over
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


@dataclass
class SaveCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def utc_text(moment: datetime) -> str:
    """The sortable UTC text every *_utc column and timestamp uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise AggregatorError(f"cannot open database {self.path}: {exc}") from None
        self.lock = threading.RLock()
        self.conn = conn
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise AggregatorError(f"{self.path} is not a usable aggregator database: {exc}") from None

    @functools.cached_property
    def db(self):
        """sqlite-utils over the same connection, for schema changes and bulk writes.

        Imported on first use: reads go straight to sqlite3, so `upcoming` starts fast.
        """
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def _rows(self, sql: str, params=()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            with self.conn:
                yield

    # -- schema ----------------------------------------------------------
    def _migrate(self) -> None:
        with self.lock:
            try:
                row = self.conn.execute("select value from meta where key = 'schema_version'").fetchone()
            except sqlite3.OperationalError:  # a new file: no meta table yet
                with self.conn:
                    self.conn.execute("create table if not exists meta (key text primary key, value text)")
                row = None
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise AggregatorError(
                    f"{self.path} was written by a newer aggregator (schema {version}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade aggregator or point `database:` at a new file"
                )
            steps = [self._create_v1, self._create_v2, self._create_v3, self._create_v4]
            for number, step in enumerate(steps, 1):
                if version < number:
                    with self.conn:
                        step()
                        self.db["meta"].upsert({"key": "schema_version", "value": str(number)}, pk="key")

    def _create_v1(self) -> None:
        db = self.db
        db["sources"].create(
            {"name": str, "kind": str, "url": str, "last_run_at": str, "last_ok_at": str,
             "last_error": str, "events_seen": int, "consecutive_failures": int, "last_new_at": str},
            pk="name", if_not_exists=True,
        )
        db["events"].create(EVENT_COLUMNS, pk="id", if_not_exists=True)
        db["events"].create_index(["start_utc"], if_not_exists=True)
        db["events"].create_index(["source", "start_utc"], if_not_exists=True)
        db["events"].create_index(["group_name", "start_utc"], if_not_exists=True)
        db["events"].enable_fts(
            ["title", "description", "group_name", "tags"], create_triggers=True, tokenize="porter",
            replace=True,
        )
        db["attendance"].create(
            {"event_id": str, "person_key": str, "name": str, "email": str, "url": str,
             "status": str, "contact_id": int, "evidence": str, "seen_at": str},
            pk=("event_id", "person_key", "evidence"), if_not_exists=True,
        )
        db["attendance"].create_index(["contact_id"], if_not_exists=True)
        db["contacts"].create(
            {"id": int, "name": str, "normalized_name": str, "emails": str, "urls": str,
             "company": str, "tags": str, "weight": float, "last_contacted": str,
             "cadence_days": int, "source_file": str},
            pk="id", if_not_exists=True,
        )
        db["fetch_runs"].create(
            {"id": int, "started": str, "finished": str, "sources": int, "new": int,
             "updated": int, "unchanged": int, "removed": int, "failed": int, "errors": str},
            pk="id", if_not_exists=True,
        )
        db["http_cache"].create(
            {"url": str, "etag": str, "last_modified": str, "content": bytes,
             "content_type": str, "stored_at": str},
            pk="url", if_not_exists=True,
        )

    def _create_v2(self) -> None:
        """What each published feed said of each event, so SEQUENCE and DTSTAMP move only on change."""
        self.db["feed_entries"].create(
            {"feed": str, "event_id": str, "content_hash": str, "sequence": int, "modified_at": str},
            pk=("feed", "event_id"), if_not_exists=True,
        )
        self.db["feed_builds"].create(
            {"feed": str, "etag": str, "built_at": str}, pk="feed", if_not_exists=True,
        )

    def _create_v3(self) -> None:
        """Contacts, the user's own log, and the attendance model's precomputed rates."""
        contacts = self.db["contacts"]
        contacts.add_column("aliases", str)
        contacts.add_column("connected_on", str)
        contacts.create_index(["normalized_name"], if_not_exists=True)
        self.db["attendance"].add_column("resolved_version", int)
        self.db["attendance"].create_index(["person_key"], if_not_exists=True)
        self.db["contact_imports"].create({"path": str, "sha256": str, "imported_at": str}, pk="path",
                                          if_not_exists=True)
        self.db["touches"].create({"id": int, "contact_id": int, "on_date": str, "logged_at": str, "note": str},
                                  pk="id", if_not_exists=True)
        self.db["my_events"].create({"event_id": str, "logged_at": str}, pk="event_id", if_not_exists=True)
        self.db["group_totals"].create({"group_key": str, "weighted_total": float, "observed": int},
                                       pk="group_key", if_not_exists=True)
        self.db["contact_rates"].create(
            {"group_key": str, "contact_id": int, "weighted_hits": float, "hits": int, "last_seen": str},
            pk=("group_key", "contact_id"), if_not_exists=True,
        )

    def _create_v4(self) -> None:
        """Cross-source merging and source health."""
        self.db["events"].create_index(["canonical_id"], if_not_exists=True)
        self.db["sources"].add_column("last_warning", str)

    # -- events ----------------------------------------------------------
    def save_events(self, source: str, events: Iterable[Event], *, now: datetime, tz: ZoneInfo) -> SaveCounts:
        """Insert new events, update changed ones (sequence + 1), touch unchanged ones.

        One transaction: all of this source's events land, or none do.
        """
        counts = SaveCounts()
        stamp = utc_text(now)
        rows: dict[str, dict[str, Any]] = {}
        attendees: list[dict[str, Any]] = []
        for event in events:
            row = event_row(source, event, tz)
            if row["id"] in rows:
                continue  # the same occurrence twice in one feed: keep the first
            rows[row["id"]] = row
            for person in event.attendees:
                key = person.key()
                if key:
                    attendees.append({
                        "event_id": row["id"], "person_key": key, "name": person.name,
                        "email": person.email, "url": person.url, "status": person.status,
                        "evidence": "feed", "seen_at": stamp,
                    })
        with self.transaction():
            existing = {
                r[0]: (r[1], r[2], r[3])
                for r in self.conn.execute(
                    "select id, content_hash, sequence, removed_at from events where source = ?", [source]
                ).fetchall()
            }
            inserts, updates, touched = [], [], []
            for event_id, row in rows.items():
                old = existing.get(event_id)
                if old is None:
                    inserts.append({**row, "sequence": 0, "first_seen": stamp, "last_seen": stamp, "updated_at": stamp})
                elif old[0] != row["content_hash"] or old[2] is not None:  # changed, or back after vanishing
                    updates.append({**row, "sequence": (old[1] or 0) + 1, "last_seen": stamp,
                                    "updated_at": stamp, "removed_at": None})
                else:
                    touched.append(event_id)  # unchanged: nothing is written
            if inserts:
                self.db["events"].insert_all(inserts, pk="id")
            for row in updates:
                self.db["events"].update(row["id"], row)
            if attendees:
                self.db["attendance"].upsert_all(
                    attendees, pk=("event_id", "person_key", "evidence"), alter=False
                )
                self._bump("attendance_version")
            counts.new, counts.updated, counts.unchanged = len(inserts), len(updates), len(touched)
        return counts

    def mark_vanished(self, source: str, present: set[str], *, now: datetime, until: datetime) -> tuple[int, str | None]:
        """Future events of a full-snapshot source missing from a good fetch get removed_at.

        A fetch that yields no upcoming events, or fewer than half of those
        stored, is suspect: nothing is removed and a warning is returned.
        """
        with self.lock:
            stored = {r[0] for r in self.conn.execute(
                "select id from events where source = ? and start_utc > ? and start_utc < ? and removed_at is null",
                [source, utc_text(now), utc_text(until)])}
            present_upcoming = {r[0] for r in self.conn.execute(
                "select id from events where source = ? and start_utc > ? and id in "
                "(select value from json_each(?))", [source, utc_text(now), json.dumps(sorted(present))])}
        missing = stored - present
        if not missing:
            return 0, None
        if len(present_upcoming) < 0.5 * len(stored):
            return 0, (f"suspect fetch: {len(present_upcoming)} upcoming events where {len(stored)} were stored; "
                       f"none removed")
        with self.transaction():
            self.conn.executemany(
                "update events set removed_at = ?, updated_at = ?, sequence = sequence + 1 where id = ?",
                [(utc_text(now), utc_text(now), i) for i in sorted(missing)])
        return len(missing), None

    def listings(self, *, start: datetime, end: datetime, priorities: dict[str, int]) -> list:
        """The events between start and end as dedup.Listing values."""
        from aggregator.dedup import Listing  # here: dedup imports rank, which imports this module

        sql = """select id, source, start_utc, title, group_name, venue_name, venue_city, lat, lon, online, url,
                        all_day, (description is not null) + (url is not null) + (venue_name is not null)
                        + (lat is not null), removed_at is not null from events
                 where start_utc >= ? and start_utc < ?"""
        with self.lock:
            rows = self.conn.execute(sql, [utc_text(start), utc_text(end)]).fetchall()
        return [Listing(r[0], r[1], parse_utc(r[2]), r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10],
                        bool(r[11]), priorities.get(r[1], 0), r[12], bool(r[13])) for r in rows]

    def apply_canonical(self, assigned: dict[str, str], *, start: datetime, end: datetime) -> int:
        """Set canonical_id from a dedup pass over [start, end); only changed rows are written."""
        with self.transaction():
            current = dict(self.conn.execute(
                "select id, canonical_id from events where start_utc >= ? and start_utc < ?",
                [utc_text(start), utc_text(end)]).fetchall())
            changes = [(assigned.get(i), i) for i, old in current.items() if assigned.get(i) != old]
            self.conn.executemany("update events set canonical_id = ? where id = ?", changes)
        return len(changes)

    def members(self, canonical_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The other events merged into each canonical event."""
        found: dict[str, list[dict[str, Any]]] = {}
        with self.lock:
            for chunk, marks in _chunks(canonical_ids):
                for row in self._rows(
                        f"select * from events where canonical_id in ({marks}) and id != canonical_id "
                        f"order by id", chunk):
                    found.setdefault(row["canonical_id"], []).append(row)
        return found

    def event_rows(
        self, *, start: datetime, end: datetime, include_cancelled: bool = False,
        changed_since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Events in progress after `start` or starting before `end`.

        Cancelled and removed events are left out, unless `include_cancelled`
        (all of them) or `changed_since` (those cancelled or removed since then,
        so a feed can tell subscribers for a while).
        """
        sql = """select * from events where coalesce(end_utc, start_utc) > :start and start_utc < :end
                 and start_utc > :earliest
                 and (canonical_id is null or canonical_id = id)"""  # a merged event shows once
        params = {"start": utc_text(start), "end": utc_text(end),
                  "earliest": utc_text(start - timedelta(days=MAX_EVENT_DAYS))}
        if changed_since is not None:
            sql += """ and ((status != 'cancelled' and removed_at is null)
                            or coalesce(removed_at, updated_at) >= :since)"""
            params["since"] = utc_text(changed_since)
        elif not include_cancelled:
            sql += " and status != 'cancelled' and removed_at is null"
        sql += " order by start_utc, id"
        with self.lock:
            return self._rows(sql, params)

    def topic_matches(self, topic: str, event_ids: list[str]) -> dict[str, float]:
        """bm25 of each of `event_ids` that matches `topic` (a word or a phrase)."""
        query = fts_phrase(topic)
        if not query or not event_ids:
            return {}
        wanted = set(event_ids)
        sql = """select events.id, bm25(events_fts) from events_fts
                 join events on events.rowid = events_fts.rowid where events_fts match ?"""
        with self.lock:
            return {i: score for i, score in self.conn.execute(sql, [query]) if i in wanted}

    def event_count(self, source: str | None = None, *, after: datetime | None = None) -> int:
        sql, params = "select count(*) from events where removed_at is null", []
        if source is not None:
            sql += " and source = ?"
            params.append(source)
        if after is not None:
            sql += " and start_utc >= ?"
            params.append(utc_text(after))
        with self.lock:
            return self.conn.execute(sql, params).fetchone()[0]

    def attendees(self, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Attendance rows of each event, with those of the events merged into it."""
        found: dict[str, list[dict[str, Any]]] = {}
        with self.lock:
            for chunk, marks in _chunks(event_ids):
                for row in self._rows(f"select * from attendance where event_id in ({marks})", chunk):
                    found.setdefault(row["event_id"], []).append(row)
                for row in self._rows(
                        f"""select e.canonical_id as merged_into, a.* from attendance a join events e
                            on e.id = a.event_id where e.canonical_id in ({marks}) and e.id != e.canonical_id""",
                        chunk):
                    found.setdefault(row.pop("merged_into"), []).append(row)
        return found

    # -- sources and runs ------------------------------------------------
    def record_source(self, *, name: str, kind: str, url: str, now: datetime, error: str | None,
                      new: int = 0, seen: int = 0, warning: str | None = None) -> None:
        stamp = utc_text(now)
        with self.transaction():
            found = self._rows("select * from sources where name = ?", [name])
            old = found[0] if found else {}
            row = {"name": name, "kind": kind, "url": url, "last_run_at": stamp, "last_warning": warning}
            if error is None:
                row.update(last_ok_at=stamp, last_error=None, events_seen=seen, consecutive_failures=0)
                if new or not old.get("last_new_at"):
                    row["last_new_at"] = stamp
            else:
                row.update(last_error=error, consecutive_failures=(old.get("consecutive_failures") or 0) + 1)
            self.db["sources"].upsert(row, pk="name")

    def source_rows(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {r["name"]: r for r in self.db["sources"].rows}

    def start_run(self, now: datetime, sources: int) -> int:
        with self.transaction():
            return self.db["fetch_runs"].insert({"started": utc_text(now), "sources": sources}).last_pk

    def finish_run(self, run_id: int, *, now: datetime, new: int, updated: int, unchanged: int,
                   removed: int, failed: int, errors: dict[str, str]) -> None:
        with self.transaction():
            self.db["fetch_runs"].update(run_id, {
                "finished": utc_text(now), "new": new, "updated": updated, "unchanged": unchanged,
                "removed": removed, "failed": failed, "errors": json.dumps(errors) if errors else None,
            })

    def data_version(self) -> tuple:
        """Changes whenever a fetch finishes or the contacts, attendance or your log change."""
        with self.lock:
            run = self.conn.execute("select max(finished) from fetch_runs").fetchone()[0]
            meta = self.conn.execute(
                "select group_concat(key || '=' || value) from meta where key in "
                "('contacts_version', 'attendance_version')").fetchone()[0]
            touches = self.conn.execute("select max(id) from touches").fetchone()[0]
        return run, meta, touches

    def last_good_run(self) -> datetime | None:
        """When the last run finished in which at least one source worked."""
        with self.lock:
            row = self.conn.execute(
                "select max(finished) from fetch_runs where finished is not null and "
                "(failed < sources or sources = 0)"
            ).fetchone()
        return parse_utc(row[0]) if row and row[0] else None

    # -- contacts ----------------------------------------------------------
    def contact_rows(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self._rows("select * from contacts order by id")]

    def contact(self, contact_id: int) -> dict[str, Any]:
        with self.lock:
            return self.db["contacts"].get(contact_id)

    def write_contacts(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        """Apply an import plan in one transaction and mark attendance for re-resolution."""
        with self.transaction():
            if inserts:
                self.db["contacts"].insert_all(inserts, pk="id", alter=False)
            for row in updates:
                self.db["contacts"].update(row["id"], row)
            if inserts or updates:
                self._bump("contacts_version")

    def contact_event_counts(self) -> dict[int, tuple[int, str | None]]:
        """contact id -> (events their attendance was seen at, the latest such event's start)."""
        with self.lock:
            return {cid: (n, last) for cid, n, last in self.conn.execute(
                """select a.contact_id, count(distinct a.event_id), max(e.start_utc) from attendance a
                   join events e on e.id = a.event_id where a.contact_id is not null group by a.contact_id""")}

    def import_state(self, path: str) -> str | None:
        with self.lock:
            row = self.conn.execute("select sha256 from contact_imports where path = ?", [path]).fetchone()
        return row[0] if row else None

    def set_import_state(self, path: str, sha256: str, now: datetime) -> None:
        with self.transaction():
            self.db["contact_imports"].upsert({"path": path, "sha256": sha256, "imported_at": utc_text(now)},
                                              pk="path")

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else None

    def _bump(self, key: str) -> None:
        value = int(self._meta(key) or 0) + 1
        self.db["meta"].upsert({"key": key, "value": str(value)}, pk="key")

    def touch(self, contact_id: int, on: date, now: datetime, note: str | None = None) -> None:
        """Log a catch-up; last_contacted only ever moves forward. History is kept."""
        with self.transaction():
            self.db["touches"].insert({"contact_id": contact_id, "on_date": on.isoformat(),
                                       "logged_at": utc_text(now), "note": note})
            self.conn.execute(
                "update contacts set last_contacted = ? where id = ? and "
                "(last_contacted is null or last_contacted < ?)", [on.isoformat(), contact_id, on.isoformat()])

    def log_attended(self, event_id: str, people: list[dict[str, Any]], now: datetime) -> None:
        """You went to `event_id` and met `people` (contact rows): evidence for the model."""
        stamp = utc_text(now)
        with self.transaction():
            self.db["my_events"].upsert({"event_id": event_id, "logged_at": stamp}, pk="event_id")
            rows = [{"event_id": event_id, "person_key": f"contact:{p['id']}", "name": p["name"], "email": None,
                     "url": None, "status": "attended", "contact_id": p["id"], "evidence": "manual",
                     "seen_at": stamp, "resolved_version": None} for p in people]
            if rows:
                self.db["attendance"].upsert_all(rows, pk=("event_id", "person_key", "evidence"))
            self._bump("attendance_version")

    def find_event(self, ident: str) -> dict[str, Any]:
        """An event by id or by a unique id prefix (at least 4 characters)."""
        ident = ident.strip()
        with self.lock:
            if len(ident) >= 4:
                rows = self.conn.execute("select * from events where id >= ? and id < ? limit 2",
                                       [ident, ident + "\uffff"]).fetchall()
            else:
                rows = []
            columns = [c.name for c in self.db["events"].columns]
        if len(rows) == 1:
            return dict(zip(columns, rows[0], strict=True))
        if not rows:
            raise AggregatorError(f"no event with id {ident!r}; ids are shown by `aggregator upcoming`")
        raise AggregatorError(f"{ident!r} matches several events; give more of the id")

    # -- the attendance model's inputs ---------------------------------------
    def resolve_attendance(self, match) -> int:
        """Give attendance rows their contact, via `match(name, email, url) -> contact_id | None`.

        Only rows not yet resolved against the current contacts are looked at;
        each distinct person is matched once. Returns the rows updated.
        """
        with self.lock:
            version = int(self._meta("contacts_version") or 0)
            people = self.conn.execute(
                "select person_key, max(name), max(email), max(url) from attendance where evidence != 'manual' "
                "and (resolved_version is null or resolved_version != ?) group by person_key", [version]).fetchall()
        updates = [(match(name, email, url), version, key) for key, name, email, url in people]
        with self.transaction():
            self.conn.executemany(
                "update attendance set contact_id = ?, resolved_version = ? "
                "where person_key = ? and evidence != 'manual'", updates)
            if updates:
                self._bump("attendance_version")
        return len(updates)

    def rebuild_rates(self, now: datetime, half_life_days: float) -> None:
        """Recency-weighted attendance per (group, contact), over past events whose attendees are known."""
        decay = math.log(2) / half_life_days
        with self.transaction():
            self.conn.create_function(
                "decay_weight", 1, lambda age: math.exp(-decay * max(0.0, age)), deterministic=True)
            self.conn.execute("drop table if exists temp.observed")
            self.conn.execute(
                """create temp table observed as
                   select e.id as id, coalesce(e.group_name, 'source:' || e.source) as g,
                          decay_weight(julianday(:now) - julianday(e.start_utc)) as w, e.start_utc as start_utc
                   from events e
                   where e.start_utc < :now and exists (select 1 from attendance a where a.event_id = e.id)""",
                {"now": utc_text(now)})
            self.conn.execute("delete from group_totals")
            self.conn.execute("insert into group_totals select g, sum(w), count(*) from observed group by g")
            self.conn.execute("delete from contact_rates")
            self.conn.execute(
                """insert into contact_rates
                   select o.g, a.contact_id, sum(o.w), count(*), max(o.start_utc) from
                     (select distinct event_id, contact_id from attendance
                      where contact_id is not null and status in ('going', 'attended')) a
                   join observed o on o.id = a.event_id
                   group by o.g, a.contact_id""")
            self.conn.execute("drop table temp.observed")
            self.db["meta"].upsert({"key": "rates_version", "value": self._meta("attendance_version") or "0"},
                                   pk="key")

    def rates_stale(self) -> bool:
        with self.lock:
            return self._meta("rates_version") != (self._meta("attendance_version") or "0")

    def group_rates(self, groups: list[str], *, min_hits: tuple[float, float] = (0.0, 0.0),
                    ) -> tuple[dict[str, float], dict[str, list[tuple[int, float, int]]]]:
        """({group: weighted observed events}, {group: [(contact_id, weighted hits, hits)]}).

        `min_hits` (a, b) leaves out contacts whose weighted hits are below
        a x (the group's weighted total) + b: too few to be listed.
        """
        totals: dict[str, float] = {}
        rates: dict[str, list[tuple[int, float, int]]] = {}
        with self.lock:
            for chunk, marks in _chunks(groups):
                for g, total in self.conn.execute(
                        f"select group_key, weighted_total from group_totals where group_key in ({marks})", chunk):
                    totals[g] = total
                for g, contact_id, weighted, hits in self.conn.execute(
                        f"""select r.group_key, r.contact_id, r.weighted_hits, r.hits from contact_rates r
                            join group_totals t on t.group_key = r.group_key
                            where r.group_key in ({marks}) and r.weighted_hits >= ? * t.weighted_total + ?""",
                        [*chunk, *min_hits]):
                    rates.setdefault(g, []).append((contact_id, weighted, hits))
        return totals, rates

    def recent_observed(self, group_key: str, now: datetime, last: int = 5) -> list[str]:
        """Ids of the group's last `last` past events whose attendees are known, newest first."""
        if group_key.startswith("source:"):
            where, params = "e.group_name is null and e.source = ?", [group_key[len("source:"):]]
        else:
            where, params = "e.group_name = ?", [group_key]
        with self.lock:
            return [r[0] for r in self.conn.execute(
                f"""select e.id from events e where {where} and e.start_utc < ?
                    and exists (select 1 from attendance a where a.event_id = e.id)
                    order by e.start_utc desc limit ?""", [*params, utc_text(now), last])]

    def attended_count(self, contact_id: int, event_ids: list[str]) -> int:
        """Of `event_ids`, how many the contact went to (or said they were going to)."""
        if not event_ids:
            return 0
        marks = ",".join("?" * len(event_ids))
        with self.lock:
            return self.conn.execute(
                f"select count(distinct event_id) from attendance where +contact_id = ? and "
                f"status in ('going', 'attended') and event_id in ({marks})", [contact_id, *event_ids]).fetchone()[0]

    # -- published feeds -------------------------------------------------
    def publish_versions(self, feed: str, hashes: dict[str, tuple[str, int]], now: datetime) -> dict[str, tuple[int, str]]:
        """(sequence, modified_at) for each event of a feed build.

        `hashes` maps event id -> (hash of what the feed says of it, the event's
        own sequence). A changed hash bumps the published sequence and stamps now.
        """
        stamp = utc_text(now)
        with self.transaction():
            known = {
                r["event_id"]: r for r in self._rows("select * from feed_entries where feed = ?", [feed])
            }
            out, writes = {}, []
            for event_id, (content_hash, event_sequence) in hashes.items():
                old = known.get(event_id)
                if old and old["content_hash"] == content_hash:
                    out[event_id] = (old["sequence"], old["modified_at"])
                    continue
                sequence = max(event_sequence, old["sequence"] + 1 if old else 0)
                out[event_id] = (sequence, stamp)
                writes.append({"feed": feed, "event_id": event_id, "content_hash": content_hash,
                               "sequence": sequence, "modified_at": stamp})
            if writes:
                self.db["feed_entries"].upsert_all(writes, pk=("feed", "event_id"))
        return out

    def feed_built_at(self, feed: str, etag: str, now: datetime) -> datetime:
        """When a feed last changed: kept while its bytes (etag) stay the same."""
        with self.transaction():
            row = self.conn.execute("select etag, built_at from feed_builds where feed = ?", [feed]).fetchone()
            if row and row[0] == etag:
                return parse_utc(row[1])
            self.db["feed_builds"].upsert({"feed": feed, "etag": etag, "built_at": utc_text(now)}, pk="feed")
            return parse_utc(utc_text(now))

    # -- HTTP validator cache (aggregator.http.ValidatorCache) -----------
    def get(self, url: str) -> Cached | None:
        with self.lock:
            row = self.conn.execute(
                "select url, etag, last_modified, content, content_type from http_cache where url = ?", [url]
            ).fetchone()
        return Cached(*row) if row else None

    def put(self, entry: Cached) -> None:
        with self.transaction():
            self.db["http_cache"].upsert({
                "url": entry.url, "etag": entry.etag, "last_modified": entry.last_modified,
                "content": entry.content, "content_type": entry.content_type,
                "stored_at": utc_text(datetime.now(UTC)),
            }, pk="url")


def _chunks(values: list, size: int = 500):
    """(chunk, "?,?,...") pairs: SQLite caps the parameters of one statement."""
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


def fts_phrase(topic: str) -> str:
    """An FTS5 query matching `topic` as a phrase, whatever characters it holds."""
    words = "".join(c if c.isalnum() else " " for c in topic).split()
    return '"' + " ".join(words) + '"' if words else ""


# -- rows <-> events ------------------------------------------------------
def event_id(source: str, source_uid: str) -> str:
    return stable_id(source, source_uid)


def _date_start_utc(day: date, tz: ZoneInfo) -> str:
    return utc_text(datetime.combine(day, time(0), tzinfo=tz))


def event_row(source: str, event: Event, tz: ZoneInfo) -> dict[str, Any]:
    """The events-table row for one event; `tz` places all-day events in time."""
    end = event.effective_end()
    if event.all_day:
        start_text, end_text = event.start.isoformat(), (event.end.isoformat() if event.end else None)
        start_utc, end_utc = _date_start_utc(event.start, tz), _date_start_utc(end, tz)
    else:
        start_text = event.start.isoformat()
        end_text = event.end.isoformat() if event.end else None
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
    attendee_text = json.dumps(sorted([p.key(), p.status] for p in event.attendees))
    digest = hashlib.sha256(json.dumps([row[f] for f in CONTENT_FIELDS] + [attendee_text]).encode())
    row["content_hash"] = digest.hexdigest()[:20]
    return row


def row_event(row: dict[str, Any], attendees: Iterable[dict[str, Any]] = ()) -> Event:
    """An Event back from a stored row (for ranking, feeds and display)."""
    all_day = bool(row["all_day"])
    parse = date.fromisoformat if all_day else datetime.fromisoformat
    return Event(
        source_uid=row["source_uid"],
        title=row["title"],
        start=parse(row["start"]),
        end=parse(row["end"]) if row.get("end") else None,
        all_day=all_day,
        timezone=row.get("timezone"),
        description=row.get("description"),
        url=row.get("url"),
        venue=Venue(row.get("venue_name"), row.get("venue_address"), row.get("venue_city"),
                    row.get("lat"), row.get("lon")),
        online=bool(row.get("online")),
        group=row.get("group_name"),
        tags=tuple(json.loads(row["tags"])) if row.get("tags") else (),
        status=row.get("status") or "confirmed",
        attendees=tuple(Person(a.get("name"), a.get("url"), a.get("email"), a.get("status") or "going")
                        for a in attendees),
    )
