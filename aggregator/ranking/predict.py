"""P(a contact comes to a group's next event), from their attendance at its past events. Pure.

For a contact with history at the group (events before the query's "now" whose
attendees are known, each weighted 2^(-age / HALF_LIFE_DAYS) at that "now"), a
shrunk rate, then a calibration of it:

    overall = (weighted hits + PRIOR x PRIOR_STRENGTH) / (weighted events + PRIOR_STRENGTH)
    rate    = (weighted hits in the event's slot + SLOT_STRENGTH x overall)
              / (weighted events in that slot + SLOT_STRENGTH)
    P       = rate                                           when rate < LISTED
              max(LISTED, sigmoid(PLATT_A + PLATT_B x logit(rate)))   otherwise

The rate is an empirical-Bayes (beta-binomial) posterior mean: the prior is what
a contact with history at a group does there, PRIOR, worth PRIOR_STRENGTH
weighted events. The prior is weak (2.5 events, where it used to be 8), so the
contact's own record decides as soon as there is one: at a small group "4 of its
5 events" is mostly the record, while one visit among a weekly group's forty
stays near nothing; and the recency weights make the record recent ("2 of the last
5" counts more than 2 of the first 5). The rate alone is still too timid at
the top (real regulars at 4 of the last 5 came about half the time, at 5 of 5
nearly always) and too generous just above 5%. Platt scaling (a logistic map of
the rate's log-odds; PLATT_B > 1 stretches it) turns it into what such rates
really turned out to be.

The map is applied only from the listing threshold (LISTED, 5%) up, and never
takes a P below it there: a contact whose rate lists them stays listed, shown at
no less than 5% (on the Nashville RSVPs a third to two fifths of the listed pairs sit at
that floor, and 3.6-3.7% of them came: the floor overstates them by a point or
so, the price of listing them at all; above it, predicted 21-22%, came 20-22%). Below the threshold P is the rate, linear in
the contact's sums, so the score still counts thousands of unlisted contacts from
per-group aggregates (`expected_total`); score.py adds P - rate of the contacts it
read, which are all those whose rate may reach LISTED. P never decreases as the
rate grows, so any hit at a group still outranks none (coldstart.py relies on it).

The slot is the weekday of the event's local start: many groups run two series
(a Tuesday talk night, a Saturday hack day) that different people come to. The
slot rate is shrunk toward the contact's overall rate for the group, so one
Saturday seen says little.

PRIOR, PRIOR_STRENGTH, SLOT_STRENGTH, HALF_LIFE_DAYS, PLATT_A and PLATT_B were
fitted together on real attendance by bench/ranking_real.py --fit: a grid over the
rate's constants, each with the Platt map that minimises the log loss of
sigmoid(A + B x logit(rate)) over (test event, contact with history at its group)
pairs, on cut dates and contact samples the benchmark never reports. Prior 0.05
and strength 2.5 were within 0.0002 of the grid's best log loss (0.1, 2.5) and
were preferred: with them one visit long ago, at a group that meets rarely, stays
below 5% (with 0.1 it reached the floor). Six constants in all, none per group or
per city.

Contacts listed as a speaker or host, who RSVPed, whom the user's own log puts
there, or whose full name the event's text holds take the fixed probabilities
of aggregator/evidence.py's table instead.
"""

from __future__ import annotations

import math

from aggregator.evidence import EVIDENCE_PROBABILITY, RSVP_PROBABILITY  # the fixed P of each kind (evidence.KINDS)
from aggregator.model import ContactHistory, GroupHistory, RateConstants

HALF_LIFE_DAYS = 90.0
PRIOR = 0.05
PRIOR_STRENGTH = 2.5
SLOT_STRENGTH = 8.0
PLATT_A = -0.03
PLATT_B = 1.30
LISTED = 0.05  # present.LISTED: contacts shown from here up (kept equal by a test)
# What the store's rank cache needs of them (its sums' weights, which contacts may reach LISTED).
CONSTANTS = RateConstants(PRIOR, PRIOR_STRENGTH, SLOT_STRENGTH, HALF_LIFE_DAYS, LISTED)
__all__ = ["CONSTANTS", "EVIDENCE_PROBABILITY", "HALF_LIFE_DAYS", "LISTED", "PLATT_A", "PLATT_B", "PRIOR",
           "PRIOR_STRENGTH", "RSVP_PROBABILITY", "SLOT_STRENGTH", "ContactHistory", "GroupHistory", "calibrated",
           "expected_total", "listed", "log_loss", "overall_rate", "probability", "rate", "rates", "recency_weight"]


def recency_weight(age_days: float, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """Weight of a past event `age_days` before "now" (an event in the future weighs 1)."""
    return 0.5 ** (max(0.0, age_days) / half_life_days)


def overall_rate(contact: ContactHistory, group: GroupHistory, *, prior: float = PRIOR,
                 strength: float = PRIOR_STRENGTH) -> float:
    return (contact.weighted + prior * strength) / (group.total + strength)


def rate(contact: ContactHistory, group: GroupHistory, slot: int | None, *, prior: float = PRIOR,
         strength: float = PRIOR_STRENGTH, slot_strength: float = SLOT_STRENGTH) -> float:
    """The shrunk rate of the contact at the group's events in `slot` (linear in their sums)."""
    overall = overall_rate(contact, group, prior=prior, strength=strength)
    if slot is None:
        return overall
    return ((contact.by_slot.get(slot, 0.0) + slot_strength * overall)
            / (group.by_slot.get(slot, 0.0) + slot_strength))


def rates(contacts: dict[int, ContactHistory], group: GroupHistory, slot: int | None) -> dict[int, float]:
    """rate(...) of many contacts of one group (the score reads thousands: one loop, no calls)."""
    base, weight = PRIOR * PRIOR_STRENGTH, group.total + PRIOR_STRENGTH
    if slot is None:
        return {cid: (h.weighted + base) / weight for cid, h in contacts.items()}
    events = group.by_slot.get(slot, 0.0) + SLOT_STRENGTH
    share = SLOT_STRENGTH / weight
    return {cid: (h.by_slot.get(slot, 0.0) + share * (h.weighted + base)) / events for cid, h in contacts.items()}


def calibrated(value: float, a: float = PLATT_A, b: float = PLATT_B) -> float:
    """P from a rate: the rate below LISTED, else Platt's map of it, never below LISTED."""
    if value < LISTED:
        return value
    if value >= 1.0:
        return 1.0
    z = a + b * math.log(value / (1.0 - value))
    return max(LISTED, 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0)


def listed(contacts: dict[int, ContactHistory], group: GroupHistory, slot: int) -> list[tuple[int, float, float]]:
    """(contact, rate, P) of the contacts a group's event in `slot` lists: rate LISTED and up (the
    store's rank cache keeps them, worked out when it is rebuilt)."""
    return [(cid, r, calibrated(r)) for cid, r in rates(contacts, group, slot).items() if r >= LISTED]


def probability(contact: ContactHistory, group: GroupHistory, slot: int | None, **constants: float) -> float:
    """P(the contact comes to the group's event in `slot`), from their history there."""
    return calibrated(rate(contact, group, slot, **constants))


def log_loss(pairs: list[tuple[float, int]]) -> float:
    eps = 1e-6
    return -sum(math.log(min(1 - eps, max(eps, p if y else 1 - p))) for p, y in pairs) / max(1, len(pairs))


def expected_total(slot_hits: float, hits: float, weights: float, group: GroupHistory, slot: int | None) -> float:
    """Sum over a group's contacts of weight x rate(...), from sums alone (it is linear in them).

    slot_hits = sum of weight x weighted hits in `slot`; hits = the same over all
    slots; weights = sum of the contacts' weights.
    """
    overall_sum = (hits + PRIOR * PRIOR_STRENGTH * weights) / (group.total + PRIOR_STRENGTH)
    if slot is None:
        return overall_sum
    return (slot_hits + SLOT_STRENGTH * overall_sum) / (group.by_slot.get(slot, 0.0) + SLOT_STRENGTH)
