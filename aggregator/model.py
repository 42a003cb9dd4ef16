"""The domain values: what every source yields (Event, with its Venue and Persons) and what the
store hands back (StoredEvent, Contact, AttendanceRow, Listing), and what the ranking reads from
the store's rank cache (AttendanceSnapshot with its group and contact histories, ColdStart).

Values only: no I/O. The store derives the stable event id from (source name,
source_uid) and is the only module that knows how these are written in SQLite.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from aggregator.evidence import DEFAULT_STATUS

STATUSES = ("confirmed", "tentative", "cancelled")
DEFAULT_DURATION = timedelta(hours=2)


@dataclass(frozen=True)
class Venue:
    name: str | None = None
    address: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None

    def label(self) -> str | None:
        """'Venue name, address' without repeating a part already in the name."""
        parts: list[str] = []
        for part in (self.name, self.address, self.city):
            if part and not any(part in p for p in parts):
                parts.append(part)
        return ", ".join(parts) or None


@dataclass(frozen=True)
class Person:
    """Someone seen at an event: an ICS ATTENDEE, a schema.org attendee, an RSVP, a speaker.

    role: what the event says they do there: "speaker" (a talk's speaker), "host"
    (an organiser or host the page names), or None for a plain attendee.
    """

    name: str | None = None
    url: str | None = None
    email: str | None = None
    status: str = DEFAULT_STATUS  # evidence.STATUSES: going | maybe | declined | invited | attended
    role: str | None = None  # None | speaker | host

    def key(self) -> str:
        """A per-event identity: profile URL, else email, else the name."""
        for value in (self.url, self.email, self.name):
            if value:
                return value.strip().lower()
        return ""


@dataclass
class Event:
    """One occurrence of a real-world event, as one source describes it.

    source_uid: the source's own stable id for this occurrence (ICS UID plus
    the RECURRENCE-ID of an instance, a schema.org @id or url, an API id).
    start/end: timezone-aware datetimes, or dates when all_day (end exclusive).
    """

    source_uid: str
    title: str
    start: datetime | date
    end: datetime | date | None = None
    all_day: bool = False
    timezone: str | None = None
    description: str | None = None
    url: str | None = None
    venue: Venue = field(default_factory=Venue)
    online: bool = False
    group: str | None = None
    tags: tuple[str, ...] = ()
    status: str = "confirmed"
    attendees: tuple[Person, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")
        if not self.all_day and (
            not isinstance(self.start, datetime) or self.start.utcoffset() is None
        ):
            raise ValueError("a timed event needs a timezone-aware start")

    def effective_end(self) -> datetime | date:
        if self.end is not None:
            return self.end
        if self.all_day:
            return self.start + timedelta(days=1)
        return self.start + DEFAULT_DURATION

    def replace(self, **changes) -> Event:
        return dataclasses.replace(self, **changes)


def stable_id(*parts: str) -> str:
    """A short id that is the same on every run for the same parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:16]


@dataclass
class Cached:
    """The last good answer for a URL: its validators and body (for conditional GET)."""

    url: str
    etag: str | None
    last_modified: str | None
    content: bytes
    content_type: str | None


@dataclass(frozen=True)
class Listing:
    """What the cross-source merge needs of a stored event (the store returns these; dedup clusters them)."""

    id: str
    source: str
    start: datetime
    title: str
    group: str | None = None
    venue: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    online: bool = False
    url: str | None = None
    all_day: bool = False
    priority: int = 0
    filled: int = 0  # how many optional fields it has (a tie-break for canonical)
    removed: bool = False  # vanished from its source: never leads while another listing lives


@dataclass(frozen=True)
class StoredEvent:
    """A stored event: what its source said (`event`, lists and times decoded) and the store's bookkeeping."""

    id: str
    source: str
    event: Event  # attendees left empty: they are AttendanceRow values of their own
    start_utc: datetime
    end_utc: datetime | None
    content_hash: str
    sequence: int  # + 1 on each real change, and on vanishing
    first_seen: datetime
    last_seen: datetime
    updated_at: datetime
    removed_at: datetime | None = None  # vanished from its full-snapshot source
    canonical_id: str | None = None  # the event this one is merged into (itself when it is the canonical one)
    merged_sources: tuple[str, ...] = ()  # the other sources' listings merged into this one, when completed

    @property
    def title(self) -> str:
        return self.event.title

    @property
    def merged_away(self) -> bool:
        """Shown as part of another source's event, not on its own."""
        return self.canonical_id is not None and self.canonical_id != self.id

    @property
    def is_canonical(self) -> bool:
        """Other sources' listings are merged into this one."""
        return self.canonical_id == self.id

    @property
    def sources(self) -> list[str]:
        """Every source that lists it: its own first."""
        return [self.source, *self.merged_sources]

    @property
    def group_key(self) -> str:
        """The series the ranking learns attendance by: the group, else the source."""
        return self.event.group or f"source:{self.source}"

    @property
    def gone(self) -> bool:
        """Cancelled, or vanished from its source: a feed still tells subscribers for a while."""
        return self.event.status == "cancelled" or self.removed_at is not None


@dataclass(frozen=True)
class Contact:
    """One person of the user's address book."""

    id: int
    name: str
    normalized_name: str | None = None
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    company: str | None = None
    tags: tuple[str, ...] = ()
    weight: float | None = None
    last_contacted: str | None = None  # an ISO date
    cadence_days: int | None = None
    connected_on: str | None = None
    source_file: str | None = None


class ContactRows(Mapping[int, Contact]):
    """Every contact as ranking reads them: (id, name, other names, weight, last catch-up, cadence)
    rows, each made a Contact only when asked for (a query reads 10,000 and names a few dozen)."""

    def __init__(self, rows: list[tuple[int, str, tuple[str, ...], float | None, str | None, int | None]]):
        self._rows = {row[0]: row for row in rows}
        self._made: dict[int, Contact] = {}

    def __getitem__(self, cid: int) -> Contact:
        if cid not in self._made:
            i, name, aliases, weight, last, cadence = self._rows[cid]
            self._made[cid] = Contact(i, name, aliases=aliases, weight=weight, last_contacted=last, cadence_days=cadence)
        return self._made[cid]

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self):
        """The rows, by id: (id, name, other names, weight, last catch-up, cadence)."""
        return self._rows.values()


@dataclass(frozen=True)
class AttendanceRow:
    """One person seen at one event: an RSVP, a speaker or host the event names, or the user's own log."""

    event_id: str
    person_key: str
    name: str | None
    email: str | None
    url: str | None
    status: str
    evidence: str  # feed | speaker | host | manual
    seen_at: str
    contact_id: int | None = None


# -- what the ranking reads (store/rank_cache.py builds them, aggregator/ranking/ scores them) --------------
@dataclass(frozen=True)
class RateConstants:
    """The constants of the ranking's rate (aggregator.ranking.predict) that the rank cache's
    queries need: which contacts to read, and the weights of its sums."""

    prior: float
    prior_strength: float
    slot_strength: float
    half_life_days: float
    listed: float


@dataclass(frozen=True)
class GroupHistory:
    """A group's past events with known attendees, as recency weights."""

    total: float = 0.0
    by_slot: dict[int, float] = field(default_factory=dict)
    observed: int = 0


@dataclass(frozen=True)
class ContactHistory:
    """One contact's attendance at one group's past events."""

    weighted: float = 0.0
    by_slot: dict[int, float] = field(default_factory=dict)
    hits: int = 0


@dataclass
class GroupSums:
    """Over every contact with history at a group: sum of weight x weighted hits per slot, and of weights."""

    by_slot: dict[int, float] = field(default_factory=dict)
    weights: float = 0.0

    @property
    def hits(self) -> float:
        return sum(self.by_slot.values())


@dataclass
class ColdStart:
    """group -> contact -> (evidence, the related group that gives the most of it)."""

    evidence: dict[str, dict[int, tuple[float, str]]] = field(default_factory=dict)
    # group -> sum over its newcomers of weight x factor (their P is the group's floor x factor), summed
    # by the store; for a group here, `evidence` holds only the contacts asked for, not all of them
    shares: dict[str, float] = field(default_factory=dict)

    def of(self, group: str) -> dict[int, tuple[float, str]]:
        return self.evidence.get(group, {})


@dataclass
class ColdStartInputs:
    """What cold start is derived from (aggregator.ranking.coldstart.derive), read from the rank cache:
    `rows` (group, contact, weighted hits) of every contact with history, in the cache's order;
    `shared[g][h]`: contacts who attended both g and h; `members[h]`: contacts who attended h;
    `totals[h]`: h's weighted events."""

    rows: list[tuple[str, int, float]] = field(default_factory=list)
    shared: dict[str, dict[str, int]] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)


@dataclass
class AttendanceSnapshot:
    """Each group's past attendance as seen from `now`, and the contacts' own rows."""

    now: datetime
    utc_offset_minutes: int = 0  # the user's zone at `now`: weekdays are local
    groups: dict[str, GroupHistory] = field(default_factory=dict)
    history: dict[str, dict[int, ContactHistory]] = field(default_factory=dict)  # group -> contact -> history
    sums: dict[str, GroupSums] = field(default_factory=dict)  # when absent, computed from `history`
    complete: set[str] = field(default_factory=set)  # groups whose `history` names every contact
    listed: set[str] = field(default_factory=set)  # groups whose listable contacts are in `history`
    scale: float = 1.0  # the cache's weights x scale = weights at `now`
    recent: dict[str, list[str]] = field(default_factory=dict)  # group -> last observed event ids, newest first
    recent_hits: dict[tuple[str, int], int] = field(default_factory=dict)  # (group, contact) -> of the recent
    recent_by_group: dict[str, dict[int, int]] = field(default_factory=dict)  # the same, group -> contact -> hits
    contacts: dict[int, Contact] = field(default_factory=dict)
    cold: ColdStart | None = None  # read once per query, for the scores and the contacts listed
    # (group, weekday) -> [(contact, rate, P, hits)]: the contacts it lists, as the rank cache worked them
    # out (store.rank_cache: at most a day before `now`); a key present means no other contact is listed
    predicted: dict[tuple[str, int], list[tuple[int, float, float, int]]] = field(default_factory=dict)
    # (group, weekday) -> sum over the contacts it lists of weight x (P - rate): what they add to the
    # score beyond their rate, summed by the store (the contacts themselves read only where listed)
    lifts: dict[tuple[str, int], float] = field(default_factory=dict)

    def slot(self, start_utc: datetime) -> int:
        """The weekday (0 = Monday) of a start in the user's zone."""
        return local_weekday(start_utc, self.utc_offset_minutes)


def local_weekday(start_utc: datetime, utc_offset_minutes: int) -> int:
    """The weekday (0 = Monday) of a UTC start at a zone `utc_offset_minutes` east of UTC: the slot
    the ranking learns attendance by."""
    return (start_utc + timedelta(minutes=utc_offset_minutes)).weekday()
