"""Cold start: a contact new to a group "might be there" when they go to groups that share members with it.

For a contact with no attendance at group g, but attendance at groups h that
the user's contacts also attend together with g:

    affinity(h -> g) = contacts who attended both h and g / (contacts who attended h + AFFINITY_STRENGTH)
    rate(c, h)       = c's recency-weighted hits at h / h's recency-weighted events
    evidence(c, g)   = sum over h of rate(c, h) x affinity(h -> g)
    P(c, g, slot)    = floor(g, slot) x evidence / (evidence + COLD_STRENGTH)

floor(g, slot) is predict.probability of a contact with no hits at g: any
real attendance at g gives strictly more (predict.py's rates grow with hits), so
a cold-start P, strictly below it, never outranks a contact with real history
there; it only orders the contacts new to the group among themselves, and
counts (a little) in the score. The strict cap is why a cold-start chance never
reaches the 5% listing threshold with predict.py's constants.

`cold_probability` and `evidence` are pure; `load` reads the snapshot's cache
table rank_contact_groups (snapshot.py keeps it) through the store's connection,
read-only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aggregator import predict

# Shrinks an affinity measured on few shared contacts: two groups sharing 1 of 2 contacts say little.
AFFINITY_STRENGTH = 5.0
# Evidence at which a cold-start P is half the floor.
COLD_STRENGTH = 0.05


@dataclass
class ColdStart:
    """group -> contact -> (evidence, the related group that gives the most of it)."""

    evidence: dict[str, dict[int, tuple[float, str]]] = field(default_factory=dict)

    def of(self, group: str) -> dict[int, tuple[float, str]]:
        return self.evidence.get(group, {})


def cold_probability(evidence: float, floor: float) -> float:
    """A P strictly below `floor` (the P of no hits at the group), growing with `evidence` >= 0."""
    if evidence <= 0 or floor <= 0:
        return 0.0
    return floor * evidence / (evidence + COLD_STRENGTH)


def floor_probability(group: predict.GroupHistory, slot: int | None) -> float:
    """P of a contact with no hits at the group: the bound every real attendance there exceeds."""
    return predict.probability(predict.ContactHistory(), group, slot)


def evidence(rates: dict[str, float], shared: dict[str, int], members: dict[str, int]
             ) -> tuple[float, str | None]:
    """(sum over related groups h of rate at h x affinity(h -> target), the h giving most).

    `rates`: the contact's rate at each group they attend; `shared[h]`: contacts who
    attended both h and the target; `members[h]`: contacts who attended h.
    """
    total, best, best_group = 0.0, 0.0, None
    for h, rate in rates.items():
        both = shared.get(h, 0)
        if not both or rate <= 0:
            continue
        part = rate * both / (members.get(h, 0) + AFFINITY_STRENGTH)
        total += part
        if part > best or (part == best and best_group is not None and h < best_group):
            best, best_group = part, h
    return total, best_group


def load(conn: Any, groups: list[str], contacts: set[int] | None = None) -> ColdStart:
    """Cold-start evidence for `groups` (the events' groups) of the contacts with no attendance at
    each, from the cache tables (read-only). `contacts`: those counted (None: all)."""
    found = ColdStart()
    if not groups:
        return found
    names = json.dumps(sorted(set(groups)))
    shared: dict[str, dict[str, int]] = defaultdict(dict)
    for g, h, n in conn.execute(
            """select a.g, b.g, count(*) from rank_contact_groups a
               join rank_contact_groups b on b.contact_id = a.contact_id and b.g != a.g
               where a.g in (select value from json_each(?)) group by a.g, b.g""", [names]):
        shared[g][h] = n
    related = sorted({h for per in shared.values() for h in per})
    if not related:
        return found
    members: dict[str, int] = {}
    totals: dict[str, float] = {}
    for h, n, total in conn.execute(
            """select c.g, count(*), (select sum(t.weighted) from rank_group_slots t where t.g = c.g)
               from rank_contact_groups c where c.g in (select value from json_each(?)) group by c.g""",
            [json.dumps(related)]):
        members[h], totals[h] = n, total or 0.0
    rates: dict[int, dict[str, float]] = defaultdict(dict)
    at: dict[int, set[str]] = defaultdict(set)
    for g, cid, weighted in conn.execute(
            """select g, contact_id, weighted from rank_contact_groups
               where contact_id in (select contact_id from rank_contact_groups
                                    where g in (select value from json_each(?)))""", [json.dumps(related)]):
        if contacts is not None and cid not in contacts:
            continue
        at[cid].add(g)
        if totals.get(g):
            rates[cid][g] = weighted / totals[g]  # both scaled alike: the ratio holds at any "now"
    for g in set(groups):
        per = shared.get(g)
        if not per:
            continue
        out = {}
        for cid, contact_rates in rates.items():
            if g in at[cid]:
                continue  # real history at g: predict.py's P
            value, best = evidence(contact_rates, per, members)
            if value > 0 and best is not None:
                out[cid] = (value, best)
        if out:
            found.evidence[g] = out
    return found
