"""What ranking needs from SQLite, read once per query into plain values.

Recency is weighed at the query's "now", not at fetch time. Summing a million
attendance rows on every query is too slow, so the sums are kept per (group,
contact, weekday) in cache tables, weighted at the time they were built
(`at`): with exponential decay every weight moves by the same factor
2^(-(now - at) / half-life), so one multiplication makes them exact at any
later "now". They are rebuilt when attendance changes, when an event with
known attendees has passed since `at`, or for a "now" before `at`.

Every contact with evidence counts in the score, yet only a few can be listed:
per group, the weighted sums over all contacts are read as aggregates (a
contact's rate is linear in their sums, and below the listing threshold P is
the rate), and the contacts themselves only for those who may reach the
listing threshold (their calibrated P, which the score adds), those with their
own evidence at the events, and every contact of the groups asked for in full
(`why`).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter, defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aggregator.model import Contact
from aggregator.ranking.predict import (
    HALF_LIFE_DAYS,
    LISTED,
    PRIOR,
    PRIOR_STRENGTH,
    SLOT_STRENGTH,
    ContactHistory,
    GroupHistory,
)

RECENT_EVENTS = 5  # "came to 3 of the last 5"
# Topic relevance by field: FTS5 bm25 column weights for the events_fts columns.
FIELD_WEIGHTS = {"title": 4.0, "description": 1.5, "group_name": 0.5, "tags": 4.0}
FTS_COLUMNS = ("title", "description", "group_name", "tags")
# meta row: {"version", "at", "offset", "half_life", "slot_strength"} of the cache tables, which the
# store's schema (migration v7) makes; a change of their meaning is a new migration there.
CACHE_KEY = "rank_cache"
ATTENDED = "('going', 'attended')"


@dataclass
class GroupSums:
    """Over every contact with history at a group: sum of weight x weighted hits per slot, and of weights."""

    by_slot: dict[int, float] = field(default_factory=dict)
    weights: float = 0.0

    @property
    def hits(self) -> float:
        return sum(self.by_slot.values())


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
    contacts: dict[int, Contact] = field(default_factory=dict)

    def slot(self, start_utc: datetime) -> int:
        """The weekday (0 = Monday) of a start in the user's zone."""
        return (start_utc + timedelta(minutes=self.utc_offset_minutes)).weekday()


def connection_of(source: Any) -> sqlite3.Connection:
    """`source`: a connection, or the store's Database."""
    return source if isinstance(source, sqlite3.Connection) else source.conn


def lock_of(source: Any):
    return getattr(source, "lock", None) or nullcontext()


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    try:
        row = conn.execute("select value from meta where key = ?", [key]).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


# -- the cache -----------------------------------------------------------------
def ensure_cache(source: Any, now: datetime, utc_offset_minutes: int, half_life_days: float) -> datetime:
    """Make the cache tables current for `now`; return the time their weights are at."""
    conn = connection_of(source)
    with lock_of(source):
        state = json.loads(_meta(conn, CACHE_KEY) or "{}")
        wanted = {"version": _meta(conn, "attendance_version") or "0", "offset": utc_offset_minutes,
                  "half_life": half_life_days, "slot_strength": SLOT_STRENGTH}
        at = datetime.fromisoformat(state["at"]) if state.get("at") else None
        fresh = (at is not None and at <= now and all(state.get(k) == v for k, v in wanted.items())
                 and not conn.execute(
                     """select 1 from events e where e.start_utc >= ? and e.start_utc < ?
                        and exists (select 1 from attendance a where a.event_id = e.id) limit 1""",
                     [utc_text(at), utc_text(now)]).fetchone())
        if fresh:
            return at
        with conn:
            _rebuild(conn, now, utc_offset_minutes, half_life_days)
            conn.execute("insert or replace into meta (key, value) values (?, ?)",
                         [CACHE_KEY, json.dumps({**wanted, "at": now.isoformat()})])
        return now


def _rebuild(conn: sqlite3.Connection, at: datetime, utc_offset_minutes: int, half_life_days: float) -> None:
    decay = math.log(2) / half_life_days
    shift = f"{int(utc_offset_minutes):+d} minutes"
    conn.execute("drop table if exists temp.rank_observed")
    conn.execute(
        f"""create temp table rank_observed as
            select e.id as id, coalesce(e.group_name, 'source:' || e.source) as g,
                   exp(-{decay!r} * max(0.0, julianday(:at) - julianday(e.start_utc))) as w,
                   (cast(strftime('%w', e.start_utc, '{shift}') as integer) + 6) % 7 as wd
            from events e where e.start_utc < :at
            and exists (select 1 from attendance a where a.event_id = e.id)""", {"at": utc_text(at)})
    for table in ("rank_group_slots", "rank_contact_slots", "rank_contact_groups"):
        conn.execute(f"delete from {table}")
    conn.execute("insert into rank_group_slots select g, wd, sum(w), count(*), 0, 0 from rank_observed group by g, wd")
    conn.execute(
        f"""insert into rank_contact_slots
            select o.g, a.contact_id, o.wd, sum(o.w), count(*) from rank_observed o
            join (select distinct event_id, contact_id from attendance
                  where contact_id is not null and status in {ATTENDED}) a on a.event_id = o.id
            group by o.g, a.contact_id, o.wd""")
    # best: the most a weekday's own hits can add to P (see `load`). With every weight later
    # scaled by f <= 1, h f / (W f + k) <= h / (W + k): it bounds P at any later now too.
    conn.execute(
        f"""insert into rank_contact_groups
            select s.g, s.contact_id, sum(s.weighted), max(s.weighted / (t.weighted + {SLOT_STRENGTH!r}))
            from rank_contact_slots s join rank_group_slots t on t.g = s.g and t.wd = s.wd
            group by s.g, s.contact_id""")
    # Weight-1 sums over every contact, so a query adds only the contacts whose weight differs.
    conn.execute("""update rank_group_slots set hits = coalesce((select sum(s.weighted) from rank_contact_slots s
                    where s.g = rank_group_slots.g and s.wd = rank_group_slots.wd), 0),
                    contacts = (select count(*) from rank_contact_groups c where c.g = rank_group_slots.g)""")
    conn.execute("drop table temp.rank_observed")


# -- loading -------------------------------------------------------------------
def load(source: Any, groups: list[str], now: datetime, *, weights: dict[int, float], floor: float,
         also: set[tuple[str, int]] = frozenset(), every: set[str] = frozenset(), utc_offset_minutes: int = 0,
         half_life_days: float = HALF_LIFE_DAYS, listed: list[str] | None = None) -> AttendanceSnapshot:
    """The attendance history of `groups` before `now`, weighted at `now`.

    `weights`: each contact's weight in the score (the aggregates need them);
    contacts not in it are left out. Contacts are read one by one when they may
    reach `floor` at some weekday (of every group: the score counts their
    calibrated P, predict.calibrated, which the aggregates cannot give), for the
    (group, contact) pairs in `also`, or for the groups in `every`. `listed` is
    accepted for callers that named the groups shown first; it no longer narrows
    the read.
    """
    snap = AttendanceSnapshot(now=now, utc_offset_minutes=utc_offset_minutes)
    groups = sorted(set(groups))
    if not groups:
        return snap
    at = ensure_cache(source, now, utc_offset_minutes, half_life_days)
    scale = 0.5 ** (max(0.0, (now - at).total_seconds() / 86400) / half_life_days)
    conn = connection_of(source)
    names = json.dumps(groups)
    usual = Counter(weights.values()).most_common(1)[0][0] if weights else 1.0
    with lock_of(source):
        # {contact id: weight - usual} as JSON, not a temp table: a query writes nothing (a read-only
        # database ranks too; PRAGMA query_only refuses temp-table writes as well).
        differ = json.dumps({str(cid): w - usual for cid, w in weights.items() if w != usual})
        totals: dict[str, list] = defaultdict(lambda: [0.0, {}, 0])
        sums: dict[str, GroupSums] = defaultdict(GroupSums)
        for g, wd, w, n, hits, people in conn.execute(
                """select g, wd, weighted, observed, hits, contacts from rank_group_slots
                   where g in (select value from json_each(?))""", [names]):
            t = totals[g]
            t[0] += w * scale
            t[1][wd] = w * scale
            t[2] += n
            sums[g].by_slot[wd] = usual * hits * scale
            sums[g].weights = usual * people
        snap.groups = {g: GroupHistory(total, by_slot, n) for g, (total, by_slot, n) in totals.items()}
        # Contacts whose weight is not the usual one: add the difference.
        for g, wd, weighted in conn.execute(
                """select s.g, s.wd, sum(w.value * s.weighted) from json_each(?) w
                   join rank_contact_slots s on s.contact_id = cast(w.key as integer)
                   where s.g in (select value from json_each(?)) group by s.g, s.wd""", [differ, names]):
            sums[g].by_slot[wd] = sums[g].by_slot.get(wd, 0.0) + weighted * scale
        for g, extra in conn.execute(
                """select c.g, sum(w.value) from json_each(?) w
                   join rank_contact_groups c on c.contact_id = cast(w.key as integer)
                   where c.g in (select value from json_each(?)) group by c.g""", [differ, names]):
            sums[g].weights += extra
        snap.sums = dict(sums)
    snap.scale = scale
    wanted = {(g, cid) for g, cid in also if g in snap.groups}
    # Below LISTED P is the rate, which the sums hold; at or above, the score needs each contact's P.
    read_contacts(source, snap, groups, min(floor, LISTED), wanted, every)
    return snap


def read_contacts(source: Any, snap: AttendanceSnapshot, groups: list[str] | set[str], floor: float,
                  pairs: set[tuple[str, int]] = frozenset(), every: set[str] = frozenset()) -> None:
    """Add to snap.history the contacts of `groups` who may reach `floor` at some weekday, the
    (group, contact) `pairs`, and every contact of the groups in `every`."""
    groups = sorted(set(groups) - snap.listed)
    if not snap.groups:  # no history at all (or never loaded: no cache tables to read yet)
        return
    conn = connection_of(source)
    snap.listed.update(groups)
    scale = snap.scale
    wanted = set(pairs)
    with lock_of(source):
        # Who may reach `floor`: P = (h + k o) / (W + k) <= h / (W + k) + o at any weekday, where
        # o = (f H + m p) / (f W + m) is the overall rate: read a contact when best + o reaches it.
        bounds = {g: [scale / (snap.groups[g].total + PRIOR_STRENGTH),
                      PRIOR * PRIOR_STRENGTH / (snap.groups[g].total + PRIOR_STRENGTH)]
                  for g in groups if g in snap.groups}
        rows = []
        if bounds:  # their weekday rows in one query (every group's, to score: thousands of contacts)
            rows = conn.execute(
                # "limit -1": the bounds are read once per group, not once per contact row (SQLite
                # does not flatten a subquery with a limit; "as materialized" needs 3.35).
                """select s.g, s.contact_id, s.wd, s.weighted, s.hits from
                   (select key as g, json_extract(value, '$[0]') as a, json_extract(value, '$[1]') as c
                    from json_each(?) limit -1) b
                   join rank_contact_groups c on c.g = b.g
                   join rank_contact_slots s on s.g = c.g and s.contact_id = c.contact_id
                   where c.best + b.a * c.weighted + b.c >= ?""",
                [json.dumps(bounds), floor]).fetchall()
        found = {(g, cid) for g, cid, *_ in rows}
        wanted = {(g, cid) for g, cid in wanted if cid not in snap.history.get(g, {}) and (g, cid) not in found}
        if wanted:
            rows += conn.execute(
                """select s.g, s.contact_id, s.wd, s.weighted, s.hits from json_each(?) j
                   join rank_contact_slots s on s.g = json_extract(j.value, '$[0]')
                    and s.contact_id = json_extract(j.value, '$[1]')""", [json.dumps(sorted(wanted))]).fetchall()
        complete = sorted(set(every) & set(snap.groups) - snap.complete)
        if complete:
            rows += conn.execute(
                """select s.g, s.contact_id, s.wd, s.weighted, s.hits from rank_contact_slots s
                   where s.g in (select value from json_each(?))""", [json.dumps(complete)]).fetchall()
            snap.complete.update(complete)
    per: dict[str, dict[int, list]] = defaultdict(dict)
    for g, cid, wd, w, n in rows:
        if cid in snap.history.get(g, {}):
            continue
        entry = per[g].setdefault(cid, [0.0, {}, 0])
        if wd not in entry[1]:
            entry[0] += w * scale
            entry[1][wd] = w * scale
            entry[2] += n
    for g, people in per.items():
        snap.history.setdefault(g, {}).update(
            {cid: ContactHistory(w, by_slot, n) for cid, (w, by_slot, n) in people.items()})


def load_recent(source: Any, snap: AttendanceSnapshot, groups: list[str]) -> None:
    """Fill snap.recent and snap.recent_hits for `groups`: their last RECENT_EVENTS observed events."""
    conn = connection_of(source)
    now = utc_text(snap.now)
    with lock_of(source):
        for g in sorted(set(groups) - set(snap.recent)):
            if g.startswith("source:"):
                where, params = "e.group_name is null and e.source = ?", [g[len("source:"):]]
            else:
                where, params = "e.group_name = ?", [g]
            ids = [r[0] for r in conn.execute(
                f"""select e.id from events e where {where} and e.start_utc < ?
                    and exists (select 1 from attendance a where a.event_id = e.id)
                    order by e.start_utc desc, e.id limit {RECENT_EVENTS}""", [*params, now])]
            snap.recent[g] = ids
            for cid, n in conn.execute(
                    f"""select contact_id, count(distinct event_id) from attendance
                        where event_id in (select value from json_each(?)) and contact_id is not null
                        and status in {ATTENDED} group by contact_id""", [json.dumps(ids)]):
                snap.recent_hits[(g, cid)] = n


def load_contacts(source: Any) -> dict[int, Contact]:
    """Contacts as the ranking needs them (name, weight, catch-up state), by id."""
    conn = connection_of(source)
    with lock_of(source):
        rows = conn.execute("select id, name, weight, last_contacted, cadence_days from contacts").fetchall()
    return {cid: Contact(cid, name or "", weight=weight, last_contacted=last, cadence_days=cadence)
            for cid, name, weight, last, cadence in rows}


def topic_matches(source: Any, topic_query: str, event_ids: list[str]) -> dict[str, tuple[float, str]]:
    """{event id: (field-weighted bm25, the best field it matches in)} for `event_ids` matching the FTS5 query.

    bm25 is more negative for a better match. The field is "title" when the
    title or the tags match, else "description", else "group_name".
    """
    if not topic_query or not event_ids:
        return {}
    conn = connection_of(source)
    weights = ", ".join(repr(FIELD_WEIGHTS[c]) for c in FTS_COLUMNS)
    wanted = set(event_ids)
    # bm25 with a column's weight 0 leaves its hits out: 0 means "not in these columns".
    only = {name: ", ".join("1.0" if c in cols else "0.0" for c in FTS_COLUMNS)
            for name, cols in (("title", ("title", "tags")), ("description", ("description",)))}
    sql = f"""select events.id, bm25(events_fts, {weights}), bm25(events_fts, {only["title"]}),
                     bm25(events_fts, {only["description"]})
              from events_fts join events on events.rowid = events_fts.rowid where events_fts match ?"""
    with lock_of(source):
        rows = conn.execute(sql, [topic_query]).fetchall()
    return {i: (bm25, "title" if title else "description" if description else "group_name")
            for i, bm25, title, description in rows if i in wanted}
