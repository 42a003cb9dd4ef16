"""Typed values the store hands out: what callers read instead of raw rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aggregator.model import Event, Listing


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


@dataclass(frozen=True)
class Contact:
    """One person of the user's address book (emails, urls, tags, aliases decoded from JSON)."""

    id: int
    name: str
    normalized_name: str | None = None
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    company: str | None = None
    tags: tuple[str, ...] = ()
    weight: float | None = None
    last_contacted: str | None = None
    cadence_days: int | None = None
    connected_on: str | None = None
    source_file: str | None = None


@dataclass(frozen=True)
class AttendanceRow:
    """One person seen at one event, as the store keeps it."""

    event_id: str
    person_key: str
    name: str | None
    email: str | None
    url: str | None
    status: str
    evidence: str  # feed | speaker | host | manual
    seen_at: str
    contact_id: int | None = None


@dataclass(frozen=True)
class StoredEvent:
    """A stored event: what its source said (`event`, lists and times decoded) and the store's bookkeeping."""

    id: str
    source: str
    event: Event  # attendees left empty: they are AttendanceRepository's
    start_utc: datetime
    end_utc: datetime | None
    content_hash: str
    sequence: int  # + 1 on each real change, and on vanishing
    first_seen: datetime
    last_seen: datetime
    updated_at: datetime
    removed_at: datetime | None = None  # vanished from its full-snapshot source
    canonical_id: str | None = None  # the event this one is merged into (itself when it is the canonical one)

    @property
    def title(self) -> str:
        return self.event.title

    @property
    def merged_away(self) -> bool:
        """Shown as part of another source's event, not on its own."""
        return self.canonical_id is not None and self.canonical_id != self.id
