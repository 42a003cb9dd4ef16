"""SQLite storage: one Database and a repository per concern.

One file (WAL, busy timeout). Events are never deleted: past events and their
attendees are the history the ranking learns from. Each source's store step is
one transaction (`store.database.transaction()` joins nested writes), so a killed
run leaves every source either fully updated or untouched.

Repositories hand out typed values (aggregator.model's StoredEvent, Contact,
AttendanceRow; store.values' SourceHealth, SaveCounts); how they are written in
SQLite (UTC text, JSON in TEXT columns) is codec.py's alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aggregator.store.attendance import AttendanceRepository
from aggregator.store.codec import event_id, event_row, fts_phrase, parse_utc, utc_text
from aggregator.store.database import SCHEMA_VERSION, Database
from aggregator.store.events import MAX_EVENT_DAYS, EventRepository, UnknownEvent
from aggregator.store.feeds import PublishRepository
from aggregator.store.http_cache import HttpCacheRepository
from aggregator.store.merges import MergeRepository
from aggregator.store.people import PeopleRepository
from aggregator.store.personal import PersonalRepository
from aggregator.store.rank_cache import RankCacheRepository
from aggregator.store.runs import RunRepository
from aggregator.store.values import AttendanceRow, Contact, MergeCandidate, SaveCounts, SourceHealth, StoredEvent

__all__ = [
    "MAX_EVENT_DAYS", "SCHEMA_VERSION", "AttendanceRow", "Contact", "Database", "MergeCandidate", "SaveCounts",
    "SourceHealth", "Store", "StoredEvent", "UnknownEvent", "event_id", "event_row", "fts_phrase", "parse_utc",
    "utc_text",
]


class Store:
    """One open database and its repositories; callers use the repositories (`store.events.between`,
    `store.people.contacts`, ...). It has no data methods of its own."""

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] | None = None):
        self.database = Database(path)
        self.attendance = AttendanceRepository(self.database)
        self.events = EventRepository(self.database, self.attendance)
        self.merges = MergeRepository(self.database)
        self.runs = RunRepository(self.database)
        self.people = PeopleRepository(self.database)
        self.publish = PublishRepository(self.database)
        self.http_cache = HttpCacheRepository(self.database, clock)  # aggregator.http's ValidatorCache
        self.personal = PersonalRepository(self.database)  # the user's own calendars as evidence
        self.rank_cache = RankCacheRepository(self.database)  # every query the ranking makes, and its cache

    def close(self) -> None:
        self.database.close()
