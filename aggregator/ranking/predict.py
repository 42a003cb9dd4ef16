"""P(a contact comes to a group's next event), from their attendance at its past events. Pure.

For a contact with history at the group (events before the query's "now" whose
attendees are known, each weighted 2^(-age / HALF_LIFE_DAYS) at that "now"), a
shrunk rate, then a calibration of it:

    overall = (weighted hits + PRIOR x PRIOR_STRENGTH) / (weighted events + PRIOR_STRENGTH)
    rate    = (weighted hits in the event's slot + SLOT_STRENGTH x overall)
              / (weighted events in that slot + SLOT_STRENGTH)
    none    = the rate of a contact with no hits there (the prior's share alone)
    P       = LOW_SCALE x rate                               when rate - none < LIST_FROM
              max(LISTED, sigmoid(PLATT_A + PLATT_B x logit(rate)))   otherwise

The rate is an empirical-Bayes (beta-binomial) posterior mean: the prior is what
a contact with history at a group does there, PRIOR, worth PRIOR_STRENGTH
weighted events. The prior is weak (2.5 events, where it used to be 8), so the
contact's own record decides as soon as there is one: at a small group "4 of its
5 events" is mostly the record, while one visit among a weekly group's forty
stays near nothing; and the recency weights make the record recent ("2 of the last
5" counts more than 2 of the first 5). The rate alone is still too timid at
the top (real regulars at 4 of the last 5 came about half the time, at 5 of 5
nearly always) and too generous below 5% (rates of 1-5% came about a third as
often as they say). Platt scaling (a logistic map of the rate's log-odds;
PLATT_B > 1 stretches it) turns the rate of a listed contact into what such
rates really turned out to be, and LOW_SCALE scales the rates of the others.

A contact is listed (P >= LISTED, 5%, never less) when their own record adds at
least LIST_FROM (1.25 points) to the rate a contact with no record there gets
from the prior: not for the prior alone (at a group that met twice in a year,
the prior is 3%, and one visit two years ago adds nothing). Platt's map takes
most rates below about 7% under 5%, and those contacts sit at that floor. They
are listed because, with an unlisted contact shown as nothing, they are the best
of the rest: on the Nashville RSVPs (bench/ranking_real.py) more than half the
listed pairs sit at the floor and came 2.1-2.2% of the time, against well under
0.1% for the contacts left unlisted; listing them is what lets the shown list
beat a plain count cut at 5% (per-event AUC). The floor overstates them by about
three points, the price of listing them at all; above it, P is what came
(predicted 21-23%, came 21-22%).

Unlisted, P is LOW_SCALE x the rate, linear in the contact's sums, so the score
still counts thousands of unlisted contacts from per-group aggregates (`rates`
and `expected_total` give that linear part; score.py adds P minus it for the
contacts it read, which are all those whose rate may reach LIST_FROM:
CONSTANTS.listed, a bound on the rate, so a few more than are listed). P never
decreases as the rate grows and is never below the linear part, so any hit at a
group still outranks none (coldstart.py relies on it).

The slot is the weekday of the event's local start: many groups run two series
(a Tuesday talk night, a Saturday hack day) that different people come to. The
slot rate is shrunk toward the contact's overall rate for the group, so one
Saturday seen says little.

PRIOR, PRIOR_STRENGTH, SLOT_STRENGTH and HALF_LIFE_DAYS were fitted together on
real attendance by bench/ranking_real.py --fit: a grid over the rate's constants,
each with the Platt map that minimises the log loss of sigmoid(A + B x
logit(rate)) over (test event, contact with history at its group) pairs, on cut
dates and contact samples the benchmark never reports. Prior 0.05 and strength
2.5 were within 0.0002 of the grid's best log loss (0.1, 2.5) and were preferred.
LIST_FROM is the highest from which the shown list beats the plain count cut at
5% by 0.02 of per-event AUC on those fitting cuts (--fit's second table; from
2% +0.019, from 1.25% +0.021, from lower little more and more overstated), with
PLATT_A and PLATT_B fitted on its listed pairs and LOW_SCALE = its unlisted
pairs' came / their summed rate. Tried there and left out: a contact's activity
across all the user's groups and the days since their last visit, beside the
rate in the calibration, predicted no better when one fitting cut was left out
in turn. Eight constants in all, none per group or per city.

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
PLATT_A = -0.02
PLATT_B = 1.32
LIST_FROM = 0.0125  # listed (P >= LISTED) when the record adds this much to the rate of no record
LOW_SCALE = 0.40  # P / rate of a contact not listed
LISTED = 0.05  # present.LISTED: contacts shown from here up (kept equal by a test)
# LIST_FROM on the scale of `rates`' values (what `calibrated` takes; score.py compares with it).
CALIBRATED_FROM = LOW_SCALE * LIST_FROM
# What the store's rank cache needs of them (its sums' weights; `listed`: contacts whose rate may reach it are read).
CONSTANTS = RateConstants(PRIOR, PRIOR_STRENGTH, SLOT_STRENGTH, HALF_LIFE_DAYS, LIST_FROM)
__all__ = ["CALIBRATED_FROM", "CONSTANTS", "EVIDENCE_PROBABILITY", "HALF_LIFE_DAYS", "LISTED", "LIST_FROM",
           "LOW_SCALE", "PLATT_A", "PLATT_B", "PRIOR", "PRIOR_STRENGTH", "RSVP_PROBABILITY", "SLOT_STRENGTH",
           "ContactHistory", "GroupHistory", "calibrated", "expected_total", "listed", "listed_of", "log_loss",
           "no_hits", "overall_rate", "probability", "rate", "rates", "recency_weight"]


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
    """LOW_SCALE x rate(...) of many contacts of one group, linear in their sums: their P below
    CALIBRATED_FROM, and what `calibrated` takes (the score reads thousands: one loop, no calls)."""
    base, weight = PRIOR * PRIOR_STRENGTH, group.total + PRIOR_STRENGTH
    if slot is None:
        return {cid: LOW_SCALE * (h.weighted + base) / weight for cid, h in contacts.items()}
    events = (group.by_slot.get(slot, 0.0) + SLOT_STRENGTH) / LOW_SCALE
    share = SLOT_STRENGTH / weight
    return {cid: (h.by_slot.get(slot, 0.0) + share * (h.weighted + base)) / events for cid, h in contacts.items()}


def no_hits(group: GroupHistory, slot: int | None) -> float:
    """`rates`' value of a contact with no hits at the group (the prior's share alone): its
    arithmetic with the hits at 0, so the same float."""
    base, weight = PRIOR * PRIOR_STRENGTH, group.total + PRIOR_STRENGTH
    if slot is None:
        return LOW_SCALE * base / weight
    return SLOT_STRENGTH / weight * base / ((group.by_slot.get(slot, 0.0) + SLOT_STRENGTH) / LOW_SCALE)


def calibrated(value: float, a: float = PLATT_A, b: float = PLATT_B, *, none: float = 0.0) -> float:
    """P from `rates`' value (LOW_SCALE x the rate), `none` that of no hits at the group (no_hits):
    itself while value - none < CALIBRATED_FROM (not listed), else Platt's map of the rate, never
    below LISTED. Never below `value` either."""
    if value - none < CALIBRATED_FROM:
        return value
    rate = value / LOW_SCALE
    if rate >= 1.0:
        return 1.0
    z = a + b * math.log(rate / (1.0 - rate))
    return max(LISTED, value, 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0)


def listed(contacts: dict[int, ContactHistory], group: GroupHistory, slot: int) -> list[tuple[int, float, float]]:
    """(contact, `rates`' value, P) of the contacts a group's event in `slot` lists. The store's rank
    cache keeps them, worked out when it is rebuilt."""
    return listed_of(rates(contacts, group, slot), group, slot)


def listed_of(values: dict[int, float], group: GroupHistory, slot: int | None) -> list[tuple[int, float, float]]:
    """(contact, value, P) of those of `values` (`rates`' values at the group and slot) listed: whose
    record adds LIST_FROM to no record's rate (`calibrated` maps them, P >= LISTED)."""
    none = no_hits(group, slot)
    return [(cid, value, calibrated(value, none=none)) for cid, value in values.items()
            if value - none >= CALIBRATED_FROM]


def probability(contact: ContactHistory, group: GroupHistory, slot: int | None, **constants: float) -> float:
    """P(the contact comes to the group's event in `slot`), from their history there."""
    none = LOW_SCALE * rate(ContactHistory(), group, slot, **constants)
    return calibrated(LOW_SCALE * rate(contact, group, slot, **constants), none=none)


def log_loss(pairs: list[tuple[float, int]]) -> float:
    eps = 1e-6
    return -sum(math.log(min(1 - eps, max(eps, p if y else 1 - p))) for p, y in pairs) / max(1, len(pairs))


def expected_total(slot_hits: float, hits: float, weights: float, group: GroupHistory, slot: int | None) -> float:
    """Sum over a group's contacts of weight x `rates`' value (LOW_SCALE x rate), from sums alone
    (it is linear in them): every contact's P but for those `calibrated` changes.

    slot_hits = sum of weight x weighted hits in `slot`; hits = the same over all
    slots; weights = sum of the contacts' weights.
    """
    overall_sum = (hits + PRIOR * PRIOR_STRENGTH * weights) / (group.total + PRIOR_STRENGTH)
    if slot is None:
        return LOW_SCALE * overall_sum
    return LOW_SCALE * (slot_hits + SLOT_STRENGTH * overall_sum) / (group.by_slot.get(slot, 0.0) + SLOT_STRENGTH)
