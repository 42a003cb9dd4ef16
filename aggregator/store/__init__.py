"""SQLite storage: a Database and one repository per concern, behind the `Store` facade.

One file (WAL, busy timeout). Events are never deleted: past events and their
attendees are the history the ranking learns from. Each source's store step is
one transaction (`Store.transaction()` joins nested writes), so a killed run
leaves every source either fully updated or untouched.

`Store` keeps the methods callers used before the split, each delegating to a
repository (`store.events`, `store.merges`, `store.runs`, `store.people`,
`store.attendance`, `store.publish`, `store.http_cache`); new code should use those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.model import Cached, Event
from aggregator.store.attendance import AttendanceRepository
from aggregator.store.codec import event_id, event_row, fts_phrase, parse_utc, row_event, utc_text
from aggregator.store.database import SCHEMA_VERSION, Database
from aggregator.store.events import MAX_EVENT_DAYS, EventRepository, UnknownEvent
from aggregator.store.feeds import PublishRepository
from aggregator.store.http_cache import HttpCacheRepository
from aggregator.store.merges import MergeRepository
from aggregator.store.people import PeopleRepository
from aggregator.store.personal import PersonalRepository
from aggregator.store.runs import RunRepository
from aggregator.store.values import Contact, MergeCandidate, SaveCounts, SourceHealth, StoredEvent

__all__ = [
    "MAX_EVENT_DAYS", "SCHEMA_VERSION", "Contact", "Database", "MergeCandidate", "SaveCounts", "SourceHealth",
    "Store", "StoredEvent", "UnknownEvent", "event_id", "event_row", "fts_phrase", "parse_utc", "row_event", "utc_text",
]


class Store:
    """The facade: today's callers' methods, each one line onto a repository."""

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] | None = None):
        self.database = Database(path)
        self.attendance = AttendanceRepository(self.database)
        self.events = EventRepository(self.database, self.attendance)
        self.merges = MergeRepository(self.database)
        self.runs = RunRepository(self.database)
        self.people = PeopleRepository(self.database)
        self.publish = PublishRepository(self.database)
        self.http_cache = HttpCacheRepository(self.database, clock)
        self.personal = PersonalRepository(self.database)  # the user's own calendars as evidence

    # -- the connection --------------------------------------------------
    @property
    def path(self) -> Path:
        return self.database.path

    @property
    def conn(self):
        return self.database.conn

    @property
    def lock(self):
        return self.database.lock

    @property
    def db(self):
        return self.database.db

    def close(self) -> None:
        self.database.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.database.transaction():
            yield

    # -- events ----------------------------------------------------------
    def save_events(self, source: str, events: Iterable[Event], *, now: datetime, tz: ZoneInfo) -> SaveCounts:
        return self.events.save(source, events, now=now, tz=tz)

    def event_rows(self, *, start: datetime, end: datetime, include_cancelled: bool = False,
                   changed_since: datetime | None = None) -> list[dict[str, Any]]:
        return self.events.rows_between(start=start, end=end, include_cancelled=include_cancelled,
                                        changed_since=changed_since)

    def event_count(self, source: str | None = None, *, after: datetime | None = None) -> int:
        return self.events.count(source, after=after)

    def find_event(self, ident: str) -> dict[str, Any]:
        return self.events.find_row(ident)

    # -- merges ----------------------------------------------------------
    def members(self, canonical_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        return self.merges.members(canonical_ids)

    # -- attendance ------------------------------------------------------
    def attendees(self, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        return self.attendance.of_events(event_ids)

    def resolve_attendance(self, match) -> int:
        return self.attendance.resolve(match)

    # -- sources and runs ------------------------------------------------
    def record_source(self, *, name: str, kind: str, url: str, now: datetime, error: str | None,
                      new: int = 0, seen: int = 0, warning: str | None = None) -> None:
        self.runs.record_source(name=name, kind=kind, url=url, now=now, error=error, new=new, seen=seen,
                                warning=warning)

    def source_rows(self) -> dict[str, dict[str, Any]]:
        return self.runs.source_rows()

    def start_run(self, now: datetime, sources: int) -> int:
        return self.runs.start(now, sources)

    def finish_run(self, run_id: int, *, now: datetime, new: int, updated: int, unchanged: int,
                   removed: int, failed: int, errors: dict[str, str]) -> None:
        self.runs.finish(run_id, now=now, new=new, updated=updated, unchanged=unchanged, removed=removed,
                         failed=failed, errors=errors)

    def last_good_run(self) -> datetime | None:
        return self.runs.last_good_run()

    # -- contacts ----------------------------------------------------------
    def contact_rows(self) -> list[dict[str, Any]]:
        return self.people.rows()

    # -- published feeds -------------------------------------------------
    def publish_versions(self, feed: str, hashes: dict[str, tuple[str, int]], now: datetime,
                         ) -> dict[str, tuple[int, str]]:
        return self.publish.versions(feed, hashes, now)

    def feed_built_at(self, feed: str, etag: str, now: datetime) -> datetime:
        return self.publish.built_at(feed, etag, now)

    # -- HTTP validator cache (aggregator.http.ValidatorCache) -----------
    def get(self, url: str) -> Cached | None:
        return self.http_cache.get(url)

    def put(self, entry: Cached) -> None:
        self.http_cache.put(entry)
