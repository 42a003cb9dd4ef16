"""What each published feed said of each event, so SEQUENCE and DTSTAMP move only on change."""

from __future__ import annotations

from datetime import datetime

from aggregator.store.codec import parse_utc, utc_text
from aggregator.store.database import Database


class PublishRepository:
    def __init__(self, database: Database):
        self.database = database

    def versions(self, feed: str, hashes: dict[str, tuple[str, int]], now: datetime) -> dict[str, tuple[int, str]]:
        """(sequence, modified_at) for each event of a feed build.

        `hashes` maps event id -> (hash of what the feed says of it, the event's
        own sequence). A changed hash bumps the published sequence and stamps now.
        A build with nothing changed writes nothing and opens no write transaction,
        so a read-only database still serves an unchanged feed.
        """
        with self.database.lock:
            out, writes = self._plan(feed, hashes, utc_text(now))
        if writes:
            with self.database.transaction():  # read again under the write lock: another build may have run
                out, writes = self._plan(feed, hashes, utc_text(now))
                self.database.conn.executemany(
                    "insert or replace into feed_entries (feed, event_id, content_hash, sequence, modified_at) "
                    "values (?, ?, ?, ?, ?)", writes)
        return out

    def _plan(self, feed: str, hashes: dict[str, tuple[str, int]], stamp: str,
              ) -> tuple[dict[str, tuple[int, str]], list[tuple]]:
        known = {event_id: (content_hash, sequence, modified) for event_id, content_hash, sequence, modified in
                 self.database.conn.execute("select event_id, content_hash, sequence, modified_at from feed_entries "
                                            "where feed = ?", [feed])}
        out, writes = {}, []
        for event_id, (content_hash, event_sequence) in hashes.items():
            old = known.get(event_id)
            if old and old[0] == content_hash:
                out[event_id] = (old[1], old[2])
                continue
            sequence = max(event_sequence, old[1] + 1 if old else 0)
            out[event_id] = (sequence, stamp)
            writes.append((feed, event_id, content_hash, sequence, stamp))
        return out, writes

    def built_at(self, feed: str, etag: str, now: datetime) -> datetime:
        """When a feed last changed: kept while its bytes (etag) stay the same (then nothing is written)."""
        conn = self.database.conn
        query = "select etag, built_at from feed_builds where feed = ?"
        with self.database.lock:
            row = conn.execute(query, [feed]).fetchone()
        if row and row[0] == etag:
            return parse_utc(row[1])
        with self.database.transaction():
            row = conn.execute(query, [feed]).fetchone()
            if row and row[0] == etag:
                return parse_utc(row[1])
            conn.execute("insert or replace into feed_builds (feed, etag, built_at) values (?, ?, ?)",
                         [feed, etag, utc_text(now)])
            return parse_utc(utc_text(now))
