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
knows no ranking logic), and kept in rank_cold: a query reads its groups' rows.

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
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime

from aggregator.evidence import CAME, sql_list
from aggregator.model import (
    AttendanceSnapshot,
    ColdStart,
    ColdStartInputs,
    ContactHistory,
    GroupHistory,
    GroupSums,
    RateConstants,
)
from aggregator.store.codec import utc_text
from aggregator.store.database import Database

RECENT_EVENTS = 5  # "came to 3 of the last 5"
# Topic relevance by field: FTS5 bm25 column weights for the events_fts columns.
FIELD_WEIGHTS = {"title": 4.0, "description": 1.5, "group_name": 0.5, "tags": 4.0}
FTS_COLUMNS = ("title", "description", "group_name", "tags")
# meta row: {"version", "at", "offset", "half_life", "slot_strength", "cold"} of the cache tables, which
# the store's schema (migrations v7, v10) makes; a change of their meaning is a new migration there.
CACHE_KEY = "rank_cache"
ATTENDED = sql_list(CAME)  # ('going', 'attended'): the statuses that count as a visit (aggregator/evidence.py)
# How cold start is worked out (aggregator.ranking.coldstart): (budget, within_budget(rows, work, groups),
# derive(inputs, groups)); the group None of `derive` stands for any group no contact attends.
ColdRule = tuple[int, Callable[[int, int, int], bool], Callable[[ColdStartInputs, list], ColdStart]]


class RankCacheRepository:
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
    def ensure(self, now: datetime, utc_offset_minutes: int, constants: RateConstants, cold: ColdRule) -> datetime:
        """Make the cache tables (sums and cold start) current for `now`; return the time their weights are at."""
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
                return at
            with database.transaction():
                self._rebuild(now, utc_offset_minutes, constants)
                counts = self._cold_rebuild(cold)
                database.set_meta(CACHE_KEY, json.dumps({**wanted, "at": now.isoformat(), "cold": counts}))
            return now

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

    # -- cold start ----------------------------------------------------------------
    def _cold_rebuild(self, cold: ColdRule) -> dict:
        """Work out cold start for every group with history (and any other: `None`) and keep it,
        when its budget allows all of them at once; return {"rows", "work", "all"}."""
        conn = self.database.conn
        budget, within, derive = cold
        conn.execute("delete from rank_cold")
        conn.execute("delete from rank_cold_groups")
        [(rows,)] = conn.execute("select count(*) from rank_contact_groups").fetchall()
        [(work,)] = conn.execute("""select coalesce(sum(n * n), 0) from
                                    (select count(*) n from rank_contact_groups group by contact_id)""").fetchall()
        groups = [g for (g,) in conn.execute("select distinct g from rank_contact_groups order by g")]
        counts = {"rows": rows, "work": work, "all": within(rows, work, len(groups) + 1)}
        if counts["all"]:
            found = derive(self._cold_inputs(groups), [*groups, None])
            conn.executemany("insert into rank_cold_groups (g) values (?)", [(g,) for g in groups])
            conn.executemany("insert into rank_cold (g, seq, contact_id, evidence, related) values (?, ?, ?, ?, ?)",
                             [(g, i, cid, value, related) for g, people in found.evidence.items()
                              for i, (cid, (value, related)) in enumerate(people.items())])
        return counts

    def _cold_inputs(self, groups: list[str]) -> ColdStartInputs:
        conn = self.database.conn
        names = json.dumps(sorted(set(groups)))
        inputs = ColdStartInputs()
        shared: dict[str, dict[str, int]] = defaultdict(dict)
        for g, h, n in conn.execute(
                """select a.g, b.g, count(*) from rank_contact_groups a
                   join rank_contact_groups b on b.contact_id = a.contact_id and b.g != a.g
                   where a.g in (select value from json_each(?)) group by a.g, b.g""", [names]):
            shared[g][h] = n
        inputs.shared = dict(shared)
        related = sorted({g for (g,) in conn.execute("select distinct g from rank_contact_groups")})
        for h, n, total in conn.execute(
                """select c.g, count(*), (select sum(t.weighted) from rank_group_slots t where t.g = c.g)
                   from rank_contact_groups c where c.g in (select value from json_each(?)) group by c.g""",
                [json.dumps(related)]):
            inputs.members[h], inputs.totals[h] = n, total or 0.0
        inputs.rows = conn.execute(
            """select g, contact_id, weighted from rank_contact_groups
               where contact_id in (select contact_id from rank_contact_groups
                                    where g in (select value from json_each(?)))""", [json.dumps(related)]).fetchall()
        return inputs

    def cold_start(self, groups: list[str], contacts: set[int] | None, cold: ColdRule) -> ColdStart:
        """Cold-start evidence for `groups` (the events' groups) of the contacts with no attendance at
        each, as the last rebuild worked it out (after `ensure`). `contacts`: those counted (None: all)."""
        found = ColdStart()
        groups = sorted(set(groups))
        if not groups:
            return found
        budget, within, derive = cold
        with self.database.lock:
            counts = self._state().get("cold") or {}
            if not within(counts.get("rows", 0), counts.get("work", 0), len(groups)):
                return found
            if not counts.get("all"):  # a store too dense to work out every group at once: these only
                every = derive(self._cold_inputs(groups), groups)
                for g, people in every.evidence.items():
                    kept = {cid: v for cid, v in people.items() if contacts is None or cid in contacts}
                    if kept:
                        found.evidence[g] = kept
                return found
            names = json.dumps(groups)
            known = {g for (g,) in self.database.conn.execute(
                "select g from rank_cold_groups where g in (select value from json_each(?))", [names])}
            rows = self.database.conn.execute(
                """select g, contact_id, evidence, related from rank_cold
                   where g in (select value from json_each(?)) order by g, seq""", [names]).fetchall()
            anywhere = [] if known >= set(groups) else self.database.conn.execute(
                "select contact_id, evidence, related from rank_cold where g is null order by seq").fetchall()
        for g, cid, value, related in rows:
            if contacts is None or cid in contacts:
                found.evidence.setdefault(g, {})[cid] = (value, related)
        if anywhere:
            people = {cid: (value, related) for cid, value, related in anywhere if contacts is None or cid in contacts}
            for g in groups:
                if g not in known and people:
                    found.evidence[g] = dict(people)
        return found

    # -- loading -------------------------------------------------------------------
    def load(self, groups: list[str], now: datetime, *, weights: dict[int, float], floor: float,
             constants: RateConstants, cold: ColdRule, also: set[tuple[str, int]] = frozenset(),
             every: set[str] = frozenset(), utc_offset_minutes: int = 0) -> AttendanceSnapshot:
        """The attendance history of `groups` before `now`, weighted at `now`.

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
        at = self.ensure(now, utc_offset_minutes, constants, cold)
        scale = 0.5 ** (max(0.0, (now - at).total_seconds() / 86400) / half_life_days)
        conn = self.database.conn
        names = json.dumps(groups)
        usual = Counter(weights.values()).most_common(1)[0][0] if weights else 1.0
        with self.database.lock:
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
        # Below LISTED P is the rate, which the sums hold; at or above, the score needs each contact's P.
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
        wanted = set(pairs)
        strength = constants.prior_strength
        with self.database.lock:
            # Who may reach `floor` by their record (what it adds to the rate of no record: the prior
            # alone lists no one, predict.py): (h + k (o - o0)) / (W + k) <= h / (W + k) + (o - o0) at
            # any weekday, where o - o0 = f H / (f W + m): read a contact when best + that reaches it.
            bounds = {g: [scale / (snap.groups[g].total + strength), 0.0]
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

    def topic_matches(self, topic_query: str, event_ids: list[str]) -> dict[str, tuple[float, str]]:
        """{event id: (field-weighted bm25, the best field it matches in)} for `event_ids` matching the FTS5 query.

        bm25 is more negative for a better match. The field is "title" when the
        title or the tags match, else "description", else "group_name".
        """
        if not topic_query or not event_ids:
            return {}
        weights = ", ".join(repr(FIELD_WEIGHTS[c]) for c in FTS_COLUMNS)
        wanted = set(event_ids)
        # bm25 with a column's weight 0 leaves its hits out: 0 means "not in these columns".
        only = {name: ", ".join("1.0" if c in cols else "0.0" for c in FTS_COLUMNS)
                for name, cols in (("title", ("title", "tags")), ("description", ("description",)))}
        sql = f"""select events.id, bm25(events_fts, {weights}), bm25(events_fts, {only["title"]}),
                         bm25(events_fts, {only["description"]})
                  from events_fts join events on events.rowid = events_fts.rowid where events_fts match ?"""
        with self.database.lock:
            rows = self.database.conn.execute(sql, [topic_query]).fetchall()
        return {i: (bm25, "title" if title else "description" if description else "group_name")
                for i, bm25, title, description in rows if i in wanted}
