"""P(a contact comes to a group's next event), from their attendance at its past events. Pure.

For a contact with history at the group (events before the query's "now" whose
attendees are known, each weighted 2^(-age / HALF_LIFE_DAYS) at that "now"):

    overall = (weighted hits + PRIOR x PRIOR_STRENGTH) / (weighted events + PRIOR_STRENGTH)
    P       = (weighted hits in the event's slot + SLOT_STRENGTH x overall)
              / (weighted events in that slot + SLOT_STRENGTH)

The slot is the weekday of the event's local start: many groups run two series
(a Tuesday talk night, a Saturday hack day) that different people come to. The
slot rate is shrunk toward the contact's overall rate for the group, so one
Saturday seen says little.

PRIOR, PRIOR_STRENGTH, SLOT_STRENGTH and HALF_LIFE_DAYS were fitted on real
attendance (bench/ranking_real.py --fit: a grid search minimising the log loss
of P over (test event, contact with history at its group) pairs, on two cut
dates with a contact sample the evaluation does not use). Contacts listed as a
speaker or host, who RSVPed, whom the user's own log puts there, or whose full name
the event's text holds take the fixed probabilities below instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

HALF_LIFE_DAYS = 90.0
PRIOR = 0.01
PRIOR_STRENGTH = 8.0
SLOT_STRENGTH = 8.0
RSVP_PROBABILITY = {"going": 1.0, "attended": 1.0, "accepted": 1.0, "maybe": 0.5, "tentative": 0.5,
                    "declined": 0.0}
# A contact's full name in the event's title or description (mentions.py): most often the speaker
# or the organiser, sometimes a talk about their work or a thank-you; 0.6 sits between a "maybe"
# RSVP (0.5) and the user's own log (0.9).
EVIDENCE_PROBABILITY = {"speaker": 0.95, "host": 0.9, "logged": 0.9, "mentioned": 0.6}


def recency_weight(age_days: float, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """Weight of a past event `age_days` before "now" (an event in the future weighs 1)."""
    return 0.5 ** (max(0.0, age_days) / half_life_days)


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


def overall_rate(contact: ContactHistory, group: GroupHistory, *, prior: float = PRIOR,
                 strength: float = PRIOR_STRENGTH) -> float:
    return (contact.weighted + prior * strength) / (group.total + strength)


def probability(contact: ContactHistory, group: GroupHistory, slot: int | None, *, prior: float = PRIOR,
                strength: float = PRIOR_STRENGTH, slot_strength: float = SLOT_STRENGTH) -> float:
    """P(the contact comes to the group's event in `slot`), from their history there."""
    overall = overall_rate(contact, group, prior=prior, strength=strength)
    if slot is None:
        return overall
    return ((contact.by_slot.get(slot, 0.0) + slot_strength * overall)
            / (group.by_slot.get(slot, 0.0) + slot_strength))


def log_loss(pairs: list[tuple[float, int]]) -> float:
    eps = 1e-6
    return -sum(math.log(min(1 - eps, max(eps, p if y else 1 - p))) for p, y in pairs) / max(1, len(pairs))


def expected_total(slot_hits: float, hits: float, weights: float, group: GroupHistory, slot: int | None) -> float:
    """Sum over a group's contacts of weight x probability(...), from sums alone (it is linear in them).

    slot_hits = sum of weight x weighted hits in `slot`; hits = the same over all
    slots; weights = sum of the contacts' weights.
    """
    overall_sum = (hits + PRIOR * PRIOR_STRENGTH * weights) / (group.total + PRIOR_STRENGTH)
    if slot is None:
        return overall_sum
    return (slot_hits + SLOT_STRENGTH * overall_sum) / (group.by_slot.get(slot, 0.0) + SLOT_STRENGTH)
