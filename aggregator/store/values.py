"""Typed values the store hands out: what callers read instead of raw rows.

The domain values (StoredEvent, Contact, AttendanceRow, Listing) live in aggregator.model, so the
pure ranking reads them without importing the store; the store's own bookkeeping values are here.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.model import AttendanceRow, Contact, ContactRows, Listing, StoredEvent


@dataclass
class SaveCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


MergeCandidate = Listing  # one value type for the store and dedup (aggregator.model.Listing)


@dataclass(frozen=True)
class SourceHealth:
    """The stored state of one source after its last run."""

    name: str
    kind: str | None = None
    url: str | None = None
    last_run_at: str | None = None
    last_ok_at: str | None = None
    last_error: str | None = None
    last_warning: str | None = None
    events_seen: int = 0
    consecutive_failures: int = 0
    last_new_at: str | None = None

__all__ = ["AttendanceRow", "Contact", "ContactRows", "MergeCandidate", "SaveCounts", "SourceHealth", "StoredEvent"]
