"""The HTTP validator cache (aggregator.http.ValidatorCache): last good body and its ETag/Last-Modified."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aggregator.model import Cached
from aggregator.store.codec import utc_text
from aggregator.store.database import Database


class HttpCacheRepository:
    """`clock` stamps stored_at (when the caller has a clock to give; else it stays empty)."""

    def __init__(self, database: Database, clock: Callable[[], datetime] | None = None):
        self.database = database
        self.clock = clock

    def get(self, url: str) -> Cached | None:
        with self.database.lock:
            row = self.database.conn.execute(
                "select url, etag, last_modified, content, content_type from http_cache where url = ?", [url]
            ).fetchone()
        return Cached(*row) if row else None

    def put(self, entry: Cached) -> None:
        stamp = utc_text(self.clock()) if self.clock else None
        with self.database.transaction():
            self.database.conn.execute(
                "insert or replace into http_cache (url, etag, last_modified, content, content_type, stored_at) "
                "values (?, ?, ?, ?, ?, ?)",
                [entry.url, entry.etag, entry.last_modified, entry.content, entry.content_type, stamp])
