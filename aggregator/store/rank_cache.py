"""Every query the ranking makes, and the cache they read: store.rank_cache.

Recency is weighed at the query's "now", not at fetch time. Summing a million
attendance rows on every query is too slow, so the sums are kept per (group,
contact, weekday) in cache tables, weighted at the time they were built
(`at`): with exponential decay every weight moves by the same factor
2^(-(now - at) / half-life), so one multiplication makes them exact at any
later "now". They are rebuilt when attendance changes (every writer bumps
attendance_version, and the fetch, an import, your log and a merge rebuild
them right away: contacts.refresh_social), when an event with known attendees
has passed since `at`, or for a "now" before `at`.

Cold start (aggregator.ranking.coldstart) is worked out from the same tables at
the same rebuild, by the ranking's function the caller passes in (the store
knows no ranking logic), and kept in rank_cold (store.rank_cold, the other half
of this repository): a query reads its groups' sums and the rows it names.

The contacts each (group, weekday) lists (rate at the listing threshold and up)
and their calibrated P are worked out at the same rebuild too, by the ranking's
function (`ListRule`), and kept in rank_listed: a query reads the rows of its
events' groups and weekdays instead of every contact who might reach the list.
Their P is frozen at the time it was worked out ("listed_at"): a query up to
FROZEN_DAYS later reads it (a day's decay moves a rate by under 1%); a later
query, or one before it, works them out again first.

Every contact with evidence counts in the score, yet only a few can be listed:
per group, the weighted sums over all contacts are read as aggregates (a
contact's rate is linear in their sums, and so is P for a contact not listed),
and the contacts themselves only for those who may be listed (their calibrated
P, which the score adds), those with their
own evidence at the events, and every contact of the groups asked for in full
(`why`).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from aggregator.evidence import CAME, sql_list
from aggregator.model import (
    AttendanceSnapshot,
    ContactHistory,
    GroupHistory,
    GroupSums,
    RateConstants,
)
from aggregator.store.codec import utc_text
from aggregator.store.database import Database
from aggregator.store.rank_cold import ColdRule, ColdStartCache, weight_split

RECENT_EVENTS = 5  # "came to 3 of the last 5"
# Topic relevance by field: FTS5 bm25 column weights for the events_fts columns.
FIELD_WEIGHTS = {"title": 4.0, "description": 1.5, "group_name": 0.5, "tags": 4.0}
FTS_COLUMNS = ("title", "description", "group_name", "tags")
# meta row: {"version", "at", "offset", "half_life", "slot_strength", "cold", "listed_at"} of the cache tables,
# which the store's schema (migrations v7, v10, v11) makes; a change of their meaning is a new migration there.
CACHE_KEY = "rank_cache"
ATTENDED = sql_list(CAME)  # ('going', 'attended'): the statuses that count as a visit (aggregator/evidence.py)
# How the ranking lists a group's contacts at a weekday (aggregator.ranking.predict.listed):
# (contacts who may reach the list, the group, weekday) -> [(contact, rate, P)].
ListRule = Callable[[dict[int, ContactHistory], GroupHistory, int], list[tuple[int, float, float]]]
FROZEN_DAYS = 1.0  # how long after it was worked out a query reads rank_listed


class RankCacheRepository(ColdStartCache):
    def __init__(self, database: Database):
        self.database = database

    def _state(self) -> dict:
        return json.loads(self._meta(CACHE_KEY) or "{}")

    def _meta(self, key: str) -> str | None:
        try:
            return self.database.meta(key)
        except sqlite3.OperationalError:  # no meta table: an empty file
            return None

    # -- the cache -------------------------------------------------------------
    def ensure(self, now: datetime, utc_offset_minutes: int, constants: RateConstants, cold: ColdRule,
               listed: ListRule | None = None) -> datetime:
        """Make the cache tables (sums, cold start and, given `listed`, the contacts listed) current for
        `now`; return the time their weights are at."""
        database, conn = self.database, self.database.conn
        with database.lock:
            state = self._state()
            wanted = {"version": self._meta("attendance_version") or "0", "offset": utc_offset_minutes,
                      "half_life": constants.half_life_days, "slot_strength": constants.slot_strength}
            at = datetime.fromisoformat(state["at"]) if state.get("at") else None
            fresh = (at is not None and at <= now and all(state.get(k) == v for k, v in wanted.items())
                     and "cold" in state and not conn.execute(
                         """select 1 from events e where e.start_utc >= ? and e.start_utc < ?
                            and exists (select 1 from attendance a where a.event_id = e.id) limit 1""",
                         [utc_text(at), utc_text(now)]).fetchone())
            if fresh:
                if listed is not None and not self.listed_fresh(now, state):
                    try:
                        with database.transaction():
                            self._listed_rebuild(now, at, constants, listed)
                            database.set_meta(CACHE_KEY, json.dumps({**state, "listed_at": now.isoformat()}))
                    except sqlite3.OperationalError as exc:
                        if "readonly" not in str(exc):
                            raise
                        # A read-only file: the sums are current, so the query works out the contacts
                        # listed from them itself (load: rank_listed is not read, listed_fresh is false).
                return at
            with database.transaction():
                self._rebuild(now, utc_offset_minutes, constants)
                counts = self._cold_rebuild(cold)
                done = {**wanted, "at": now.isoformat(), "cold": counts}
                if listed is not None:
                    self._listed_rebuild(now, now, constants, listed)
                    done["listed_at"] = now.isoformat()
                else:
                    conn.execute("delete from rank_listed")
                    conn.execute("delete from rank_listed_sums")
                database.set_meta(CACHE_KEY, json.dumps(done))
            return now

    def listed_fresh(self, now: datetime, state: dict | None = None) -> bool:
        """Whether rank_listed may be read for a query at `now` (worked out at most FROZEN_DAYS before it)."""
        state = self._state() if state is None else state
        if not state.get("listed_at"):
            return False
        age = (now - datetime.fromisoformat(state["listed_at"])).total_seconds()
        return 0 <= age <= FROZEN_DAYS * 86400

    def _rebuild(self, at: datetime, utc_offset_minutes: int, constants: RateConstants) -> None:
        conn = self.database.conn
        decay = math.log(2) / constants.half_life_days
        slot_strength = constants.slot_strength
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
        conn.execute("insert into rank_group_slots select g, wd, sum(w), count(*), 0, 0 from rank_observed "
                     "group by g, wd")
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
                select s.g, s.contact_id, sum(s.weighted), max(s.weighted / (t.weighted + {slot_strength!r}))
                from rank_contact_slots s join rank_group_slots t on t.g = s.g and t.wd = s.wd
                group by s.g, s.contact_id""")
        # Weight-1 sums over every contact, so a query adds only the contacts whose weight differs.
        conn.execute("""update rank_group_slots set hits = coalesce((select sum(s.weighted) from rank_contact_slots s
                        where s.g = rank_group_slots.g and s.wd = rank_group_slots.wd), 0),
                        contacts = (select count(*) from rank_contact_groups c where c.g = rank_group_slots.g)""")
        conn.execute("drop table temp.rank_observed")

    # -- the contacts listed -----------------------------------------------------------
    def _listed_rebuild(self, now: datetime, at: datetime, constants: RateConstants, rule: ListRule) -> None:
        """rank_listed: for every group with history and every weekday, the contacts `rule` lists, with
        their rate and P at `now` (from the sums weighted at `at`)."""
        conn = self.database.conn
        conn.execute("delete from rank_listed")
        scale = 0.5 ** (max(0.0, (now - at).total_seconds() / 86400) / constants.half_life_days)
        totals: dict[str, list] = defaultdict(lambda: [0.0, {}, 0])
        for g, wd, w, n in conn.execute("select g, wd, weighted, observed from rank_group_slots"):
            t = totals[g]
            t[0] += w * scale
            t[1][wd] = w * scale
            t[2] += n
        groups = {g: GroupHistory(total, by_slot, n) for g, (total, by_slot, n) in totals.items()}
        history = self._listable(groups, scale, constants, constants.listed)
        rows = []
        for g, people in history.items():
            for wd in range(7):
                rows += [(g, wd, cid, rate, p, people[cid].hits) for cid, rate, p in rule(people, groups[g], wd)]
        conn.executemany("insert into rank_listed (g, wd, contact_id, rate, p, hits) values (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("delete from rank_listed_sums")
        conn.execute("insert into rank_listed_sums select g, wd, sum(p - rate) from rank_listed group by g, wd")

    def _listable(self, groups: dict[str, GroupHistory], scale: float, constants: RateConstants,
                  floor: float) -> dict[str, dict[int, ContactHistory]]:
        """The contacts of `groups` whose record may add `floor` to the rate of no record at some
        weekday, at a time the cache's weights are scaled by `scale` (<= 1) to."""
        strength = constants.prior_strength
        # Who may reach `floor` by their record (what it adds to the rate of no record: the prior
        # alone lists no one, predict.py): (h + k (o - o0)) / (W + k) <= h / (W + k) + (o - o0) at
        # any weekday, where o - o0 = f H / (f W + m): read a contact when best + that reaches it.
        bounds = {g: [scale / (group.total + strength), 0.0] for g, group in groups.items()}
        if not bounds:
            return {}
        rows = self.database.conn.execute(
            # "limit -1": the bounds are read once per group, not once per contact row (SQLite
            # does not flatten a subquery with a limit; "as materialized" needs 3.35).
            """select s.g, s.contact_id, s.wd, s.weighted, s.hits from
               (select key as g, json_extract(value, '$[0]') as a, json_extract(value, '$[1]') as c
                from json_each(?) limit -1) b
               join rank_contact_groups c on c.g = b.g
               join rank_contact_slots s on s.g = c.g and s.contact_id = c.contact_id
               where c.best + b.a * c.weighted + b.c >= ?""", [json.dumps(bounds), floor]).fetchall()
        return histories(rows, scale)

    def listed_lifts(self, snap: AttendanceSnapshot, slots: set[tuple[str, int]], usual: float, differ: str) -> None:
        """snap.lifts for the (group, weekday) `slots` of groups with history: the sum over the contacts
        each lists of weight x (P - rate), summed here (`usual` over all of them, plus `differ`: the
        difference of each contact whose weight is not the usual one, weight_split's JSON)."""
        keys = sorted({(g, wd) for g, wd in slots if g in snap.groups})
        lifts = dict.fromkeys(keys, 0.0)
        with self.database.lock:
            for g, wd, lift in self.database.conn.execute(
                    "select g, wd, lift from rank_listed_sums where g in (select value from json_each(?))",
                    [json.dumps(sorted({g for g, _ in keys}))]):
                if (g, wd) in lifts:
                    lifts[(g, wd)] = usual * lift
            for g, wd, extra in self.database.conn.execute(
                    """select l.g, l.wd, sum(w.value * (l.p - l.rate)) from json_each(?) w
                       cross join rank_listed l on l.contact_id = cast(w.key as integer) group by l.g, l.wd""",
                    [differ]):
                if (g, wd) in lifts:
                    lifts[(g, wd)] += extra
        snap.lifts.update(lifts)

    def read_listed(self, snap: AttendanceSnapshot, slots: set[tuple[str, int]], contacts: set[int] | dict) -> None:
        """snap.predicted for the (group, weekday) `slots` of groups with history: the contacts each
        lists (of `contacts`), as rank_listed holds them."""
        keys = sorted({(g, wd) for g, wd in slots if g in snap.groups})
        found: dict[tuple[str, int], list] = {key: [] for key in keys}
        with self.database.lock:
            rows = self.database.conn.execute(
                """select l.g, l.wd, l.contact_id, l.rate, l.p, l.hits from json_each(?) j
                   join rank_listed l on l.g = json_extract(j.value, '$[0]') and l.wd = json_extract(j.value, '$[1]')""",
                [json.dumps(keys)]).fetchall()
        for g, wd, cid, rate, p, hits in rows:
            if cid in contacts:
                found[(g, wd)].append((cid, rate, p, hits))
        snap.predicted.update(found)

    # -- loading -------------------------------------------------------------------
    def load(self, groups: list[str], now: datetime, *, weights: dict[int, float], floor: float,
             constants: RateConstants, cold: ColdRule, also: set[tuple[str, int]] = frozenset(),
             every: set[str] = frozenset(), utc_offset_minutes: int = 0, listed: ListRule | None = None,
             slots: set[tuple[str, int]] = frozenset(), named: set[tuple[str, int]] | None = None
             ) -> AttendanceSnapshot:
        """The attendance history of `groups` before `now`, weighted at `now`.

        Given `listed` (the ranking's ListRule), what the contacts each of `slots` (group, weekday)
        lists add to the score is read from rank_listed (snap.lifts), and the contacts themselves
        for the slots in `named` (None: all of `slots`; snap.predicted), not worked out from every
        contact's sums.

        `weights`: each contact's weight in the score (the aggregates need them);
        contacts not in it are left out. Contacts are read one by one when they may
        reach `floor` at some weekday (of every group: the score counts their
        calibrated P, predict.calibrated, which the aggregates cannot give), for the
        (group, contact) pairs in `also`, or for the groups in `every`.
        """
        snap = AttendanceSnapshot(now=now, utc_offset_minutes=utc_offset_minutes)
        groups = sorted(set(groups))
        if not groups:
            return snap
        half_life_days = constants.half_life_days
        at = self.ensure(now, utc_offset_minutes, constants, cold, listed)
        scale = 0.5 ** (max(0.0, (now - at).total_seconds() / 86400) / half_life_days)
        conn = self.database.conn
        names = json.dumps(groups)
        usual, differ = weight_split(weights)
        with self.database.lock:
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
            # Contacts whose weight is not the usual one: add the difference. Looked up by contact
            # ("cross join", "+g": not contacts x groups asked, 87 s for 3,000 such contacts at 1M rows).
            for g, wd, weighted in conn.execute(
                    """select s.g, s.wd, sum(w.value * s.weighted) from json_each(?) w
                       cross join rank_contact_slots s on s.contact_id = cast(w.key as integer)
                       where +s.g in (select value from json_each(?)) group by s.g, s.wd""", [differ, names]):
                sums[g].by_slot[wd] = sums[g].by_slot.get(wd, 0.0) + weighted * scale
            for g, extra in conn.execute(
                    """select c.g, sum(w.value) from json_each(?) w
                       cross join rank_contact_groups c on c.contact_id = cast(w.key as integer)
                       where +c.g in (select value from json_each(?)) group by c.g""", [differ, names]):
                sums[g].weights += extra
            snap.sums = dict(sums)
        snap.scale = scale
        wanted = {(g, cid) for g, cid in also if g in snap.groups}
        if listed is not None and self.listed_fresh(now):
            self.listed_lifts(snap, set(slots), usual, differ)
            self.read_listed(snap, set(slots) if named is None else set(named), weights)
            snap.listed.update(groups)  # the contacts listed are read: read_contacts adds only `also` and `every`
        # An unlisted contact's P is linear in their sums, which the sums hold; a listed one's is read by contact.
        self.read_contacts(snap, groups, min(floor, constants.listed), constants, wanted, every)
        return snap

    def read_contacts(self, snap: AttendanceSnapshot, groups: list[str] | set[str], floor: float,
                      constants: RateConstants, pairs: set[tuple[str, int]] = frozenset(),
                      every: set[str] = frozenset()) -> None:
        """Add to snap.history the contacts of `groups` whose record may add `floor` to the rate of no
        record at some weekday, the (group, contact) `pairs`, and every contact of the groups in `every`."""
        groups = sorted(set(groups) - snap.listed)
        if not snap.groups:  # no history at all (or never loaded: no cache tables to read yet)
            return
        conn = self.database.conn
        snap.listed.update(groups)
        scale = snap.scale
        with self.database.lock:
            found = self._listable({g: snap.groups[g] for g in groups if g in snap.groups}, scale, constants, floor)
            wanted = {(g, cid) for g, cid in pairs
                      if cid not in snap.history.get(g, {}) and cid not in found.get(g, {})}
            rows = []
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
        for read in (found, histories(rows, scale)):
            for g, people in read.items():
                known = snap.history.setdefault(g, {})
                known.update({cid: h for cid, h in people.items() if cid not in known})

    def load_recent(self, snap: AttendanceSnapshot, groups: list[str]) -> None:
        """Fill snap.recent and snap.recent_hits for `groups`: their last RECENT_EVENTS observed events."""
        conn = self.database.conn
        now = utc_text(snap.now)
        with self.database.lock:
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
                    snap.recent_by_group.setdefault(g, {})[cid] = n

    def topic_matches(self, topic_query: str, event_ids: list[str]) -> dict[str, tuple[float, str]]:
        """{event id: (field-weighted bm25, the best field it matches in)} for `event_ids` matching the FTS5 query.

        bm25 is more negative for a better match. The field is "title" when the
        title or the tags match, else "description", else "group_name".
        """
        return self.topics_matching([topic_query], event_ids)[0]

    def topics_matching(self, queries: list[str], event_ids: list[str]) -> list[dict[str, tuple[float, str]]]:
        """topic_matches of each of `queries` over the same events (their rowids looked up once)."""
        if not event_ids:
            return [{} for _ in queries]
        weights = ", ".join(repr(FIELD_WEIGHTS[c]) for c in FTS_COLUMNS)
        # bm25 with a column's weight 0 leaves its hits out: 0 means "not in these columns".
        only = {name: ", ".join("1.0" if c in cols else "0.0" for c in FTS_COLUMNS)
                for name, cols in (("title", ("title", "tags")), ("description", ("description",)))}
        # "+rowid": the full-text index lists its matches and each is looked up among the events asked
        # about (an ephemeral index); without the "+" FTS5 would probe its index once per rowid asked.
        sql = f"""select rowid, bm25(events_fts, {weights}), bm25(events_fts, {only["title"]}),
                         bm25(events_fts, {only["description"]})
                  from events_fts where events_fts match ? and +rowid in (select value from json_each(?))"""
        out: list[dict[str, tuple[float, str]]] = []
        with self.database.lock:
            conn = self.database.conn
            ids = dict(conn.execute("select rowid, id from events where id in (select value from json_each(?))",
                                    [json.dumps(sorted(set(event_ids)))]).fetchall()) if any(queries) else {}
            rowids = json.dumps(sorted(ids))
            for query in queries:
                rows = conn.execute(sql, [query, rowids]).fetchall() if query else []
                out.append({ids[r]: (bm25, "title" if title else "description" if description else "group_name")
                            for r, bm25, title, description in rows})
        return out

def histories(rows: list[tuple], scale: float) -> dict[str, dict[int, ContactHistory]]:
    """group -> contact -> ContactHistory from rank_contact_slots rows (g, contact, weekday, weighted,
    hits), the weights scaled by `scale`; a (group, contact, weekday) read twice counts once."""
    per: dict[str, dict[int, list]] = defaultdict(dict)
    for g, cid, wd, w, n in rows:
        entry = per[g].setdefault(cid, [0.0, {}, 0])
        if wd not in entry[1]:
            entry[0] += w * scale
            entry[1][wd] = w * scale
            entry[2] += n
    return {g: {cid: ContactHistory(w, by_slot, n) for cid, (w, by_slot, n) in people.items()}
            for g, people in per.items()}
