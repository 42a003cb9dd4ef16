"""Cross-source merging: what the merge pass reads, and the canonical ids it writes back."""

from __future__ import annotations

from datetime import datetime

from aggregator.store.codec import MERGE_SELECT, chunks, merge_candidate, stored_event, utc_text
from aggregator.store.database import Database
from aggregator.store.values import MergeCandidate, StoredEvent


class MergeRepository:
    def __init__(self, database: Database):
        self.database = database

    def candidates(self, *, start: datetime, end: datetime, priorities: dict[str, int]) -> list[MergeCandidate]:
        """The events starting in [start, end), as the merge pass needs them."""
        with self.database.lock:
            rows = self.database.conn.execute(f"{MERGE_SELECT} where start_utc >= ? and start_utc < ?",
                                              [utc_text(start), utc_text(end)]).fetchall()
        return [merge_candidate(row, priorities) for row in rows]

    def apply_canonical(self, assigned: dict[str, str], *, start: datetime, end: datetime) -> int:
        """Set canonical_id from a merge pass over [start, end); only changed rows are written."""
        conn = self.database.conn
        with self.database.transaction():
            current = dict(conn.execute(
                "select id, canonical_id from events where start_utc >= ? and start_utc < ?",
                [utc_text(start), utc_text(end)]).fetchall())
            changes = [(assigned.get(i), i) for i, old in current.items() if assigned.get(i) != old]
            conn.executemany("update events set canonical_id = ? where id = ?", changes)
        return len(changes)

    def members(self, canonical_ids: list[str]) -> dict[str, list[StoredEvent]]:
        """The other events merged into each canonical event."""
        found: dict[str, list[StoredEvent]] = {}
        for chunk, marks in chunks(canonical_ids):
            for row in self.database.rows(
                    f"select * from events where canonical_id in ({marks}) and id != canonical_id order by id", chunk):
                found.setdefault(row["canonical_id"], []).append(stored_event(row))
        return found
