"""Cold start: a contact new to a group "might be there" when they go to groups that share members with it.

For a contact with no attendance at group g, but attendance at groups h that
the user's contacts also attend together with g:

    affinity(h -> g) = contacts who attended both h and g / (contacts who attended h + AFFINITY_STRENGTH)
    rate(c, h)       = c's recency-weighted hits at h / h's recency-weighted events
    evidence(c, g)   = sum over h of rate(c, h) x affinity(h -> g)
                       + ACTIVITY_SHARE x sum over every group h of rate(c, h)
    P(c, g, slot)    = floor(g, slot) x evidence / (evidence + COLD_STRENGTH)

floor(g, slot) is predict.py's linear part (LOW_SCALE x rate) of a contact with
no hits at g: any real attendance at g gives strictly more (predict.py's rates
grow with hits, and its calibration never lowers a P as the rate grows nor takes
it below that linear part), so a cold-start P, strictly below it, never outranks
a contact with real history there; it only orders the contacts new to the group
among themselves, and counts (a little) in the score. The strict cap is why a
cold-start chance never reaches the 5% listing threshold: with no hits,
predict.py's rate is at most its PRIOR (0.05), and the floor LOW_SCALE times that.

The activity term breaks the tie between newcomers with no related group: one
who goes to the user's groups at all came more often than one who goes nowhere
(bench/ranking_real.py: mean per-event AUC .946 without it, higher with it).

All pure: `derive` turns what the store's rank cache holds (ColdStartInputs) into
the evidence; the store runs it when it rebuilds its cache (after a fetch, an import,
your log, a merge), stores the result, and a query reads only its groups' rows.
"""

from __future__ import annotations

from collections import defaultdict

from aggregator.model import ColdStart, ColdStartInputs
from aggregator.ranking import predict

# Shrinks an affinity measured on few shared contacts: two groups sharing 1 of 2 contacts say little.
AFFINITY_STRENGTH = 5.0
# Evidence at which a cold-start P is half the floor. Fitted so that the newcomers' summed P matches
# how many of them came, on the fitting cuts (bench/ranking_real.py --fitting, "newcomers given a P"):
# it scales with the floor (predict.py's PRIOR x LOW_SCALE).
COLD_STRENGTH = 0.017
ACTIVITY_SHARE = 1e-3
# Rows of the shared-membership join, or contact rows x groups asked, past which cold start is
# skipped (see `within_budget`): a few hundred contacts in a few dozen groups are far below it.
WORK_BUDGET = 2_000_000


def cold_probability(evidence: float, floor: float) -> float:
    """A P strictly below `floor` (the P of no hits at the group), growing with `evidence` >= 0."""
    if evidence <= 0 or floor <= 0:
        return 0.0
    return floor * evidence / (evidence + COLD_STRENGTH)


def floor_probability(group: predict.GroupHistory, slot: int | None) -> float:
    """P of a contact with no hits at the group, uncalibrated (predict.rates' linear part): the
    bound every real attendance there exceeds."""
    return predict.no_hits(group, slot)


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


def within_budget(rows: int, work: int, groups: int) -> bool:
    """Whether cold start is worked out for `groups` groups asked. Bounded time: the
    shared-membership join costs about `work` (the sum over contacts of the groups they attend,
    squared), the evidence loop at most `rows` (contact rows) x groups asked; past the budget (a
    dense, unusual store) cold start is left out rather than slow."""
    return rows * groups <= WORK_BUDGET and work <= WORK_BUDGET


def derive(inputs: ColdStartInputs, groups: list) -> ColdStart:
    """Cold-start evidence for `groups` of every contact with no attendance at each (in the order
    of inputs.rows). A group None stands for any group no contact attends (activity alone)."""
    found = ColdStart()
    rates: dict[int, dict[str, float]] = defaultdict(dict)
    at: dict[int, set[str]] = defaultdict(set)
    for g, cid, weighted in inputs.rows:
        at[cid].add(g)
        if inputs.totals.get(g):
            rates[cid][g] = weighted / inputs.totals[g]  # both scaled alike: the ratio holds at any "now"
    asked = set(groups)
    for cid, contact_rates in rates.items():
        # A contact active in the user's groups at all is likelier than one who is not: a tie-break
        # ACTIVITY_SHARE the size of shared-membership evidence, at every group they are new to.
        activity = ACTIVITY_SHARE * sum(contact_rates.values())
        usual = max(contact_rates, key=lambda h: (contact_rates[h], h)) if contact_rates else None
        for g in asked - at[cid]:  # at g: predict.py's P
            value, best = evidence(contact_rates, inputs.shared.get(g, {}), inputs.members)
            if value + activity > 0 and (best or usual) is not None:
                found.evidence.setdefault(g, {})[cid] = (value + activity, best or usual)
    return found
