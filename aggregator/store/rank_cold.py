"""Cold start in the rank cache (store.rank_cache's other half): worked out when the cache is rebuilt,
by the ranking's function (aggregator.ranking.coldstart), kept in rank_cold, read by a query.

rank_cold: per group, the contacts new to it (no attendance there) with their
evidence, the related group giving most of it, and their factor (P over the
group's floor), in the order the ranking counts them (`seq`; g null: any group no
contact attends); rank_cold_groups: the groups it was worked out for. A query
reads each group's weighted sum of factors and only the contacts it names, or a
group's every row.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable

from aggregator.model import ColdStart, ColdStartInputs

# How cold start is worked out (aggregator.ranking.coldstart): (budget, within_budget(rows, work, groups),
# derive(inputs, groups)); the group None of `derive` stands for any group no contact attends.
# factor(evidence): a newcomer's P over the group's floor, kept per row so a query sums them.
ColdRule = tuple[int, Callable[[int, int, int], bool], Callable[[ColdStartInputs, list], ColdStart],
                 Callable[[float], float]]


def weight_split(weights: dict[int, float]) -> tuple[float, str]:
    """(the weight most contacts have, {contact id: weight - that} of the others as JSON): sums are read
    at the usual weight, plus each other contact's difference. JSON, not a temp table: a query writes
    nothing (a read-only database ranks too; PRAGMA query_only refuses temp-table writes as well)."""
    usual = Counter(weights.values()).most_common(1)[0][0] if weights else 1.0
    return usual, json.dumps({str(cid): w - usual for cid, w in weights.items() if w != usual})


class ColdStartCache:
    """The cold-start half of RankCacheRepository (self.database is the store's Database)."""

    # -- cold start ----------------------------------------------------------------
    def _cold_rebuild(self, cold: ColdRule) -> dict:
        """Work out cold start for every group with history (and any other: `None`) and keep it,
        when its budget allows all of them at once; return {"rows", "work", "all"}."""
        conn = self.database.conn
        budget, within, derive, factor = cold
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
            conn.executemany("insert into rank_cold (g, seq, contact_id, evidence, related, factor) "
                             "values (?, ?, ?, ?, ?, ?)",
                             [(g, i, cid, value, related, factor(value)) for g, people in found.evidence.items()
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

    def cold_start(self, groups: list[str], contacts: set[int] | None, cold: ColdRule, *,
                   weights: dict[int, float] | None = None, pairs: set[tuple[str, int]] = frozenset()) -> ColdStart:
        """Cold-start evidence for `groups` (the events' groups) of the contacts with no attendance at
        each, as the last rebuild worked it out (after `ensure`). `contacts`: those counted (None: all).

        Given `weights` (contact -> weight in the score), each group's newcomers are summed here
        (found.shares: weight x factor) and only the (group, contact) `pairs` are read one by one."""
        found = ColdStart()
        groups = sorted(set(groups))
        if not groups:
            return found
        budget, within, derive, _ = cold
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
            if weights is not None:
                return self._cold_summed(groups, known, contacts, weights, pairs)
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

    def _cold_summed(self, groups: list[str], known: set[str], contacts: set[int] | None,
                     weights: dict[int, float], pairs: set[tuple[str, int]]) -> ColdStart:
        """cold_start with each group's newcomers summed in SQL (the usual weight over all of them,
        plus the difference of each contact whose weight is not the usual one), and only `pairs` read.
        A group the rebuild did not see takes the rows of any group (g null)."""
        found = ColdStart()
        conn = self.database.conn
        usual, differ = weight_split(weights)
        unknown = [g for g in groups if g not in known]
        sources = {g: g for g in known} | dict.fromkeys(unknown)  # the rows each group reads (None: g null)
        shares: dict[str | None, float] = {}
        for g, total in conn.execute(
                """select g, sum(factor) from rank_cold where g in (select value from json_each(?)) group by g""",
                [json.dumps(sorted(known))]):
            shares[g] = usual * total
        if unknown:
            [(total,)] = conn.execute("select coalesce(sum(factor), 0) from rank_cold where g is null").fetchall()
            shares[None] = usual * total
        if differ != "{}":
            for g, extra in conn.execute(
                    """select c.g, sum(w.value * c.factor) from json_each(?) w
                       cross join rank_cold c on c.contact_id = cast(w.key as integer)
                       where c.g is null or +c.g in (select value from json_each(?)) group by c.g""",
                    [differ, json.dumps(sorted(known))]):
                shares[g] = shares.get(g, 0.0) + extra
        asked = {(sources[g], cid) for g, cid in pairs if g in sources and (contacts is None or cid in contacts)}
        rows = conn.execute(
            """select c.g, c.contact_id, c.evidence, c.related from json_each(?) j
               join rank_cold c on c.contact_id = json_extract(j.value, '$[1]')
               and c.g is json_extract(j.value, '$[0]')""",
            [json.dumps(sorted(asked, key=lambda k: (k[0] or "", k[1])))]).fetchall() if asked else []
        by_source: dict[str | None, dict[int, tuple[float, str]]] = defaultdict(dict)
        for g, cid, value, related in rows:
            by_source[g][cid] = (value, related)
        for g in groups:
            found.shares[g] = shares.get(sources[g], 0.0)
            people = {cid: by_source[sources[g]][cid] for gg, cid in pairs
                      if gg == g and cid in by_source.get(sources[g], {})}
            if people:
                found.evidence[g] = people
        return found
