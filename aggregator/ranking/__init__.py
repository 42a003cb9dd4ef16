"""Ranking: which upcoming events matter to you, and who of your people will be there. The front door.

    from aggregator.ranking import upcoming, past, rank_events, why, explain, Ranked

score (the formula, Ranked), predict (P from a contact's history), coldstart
(contacts new to a group), rollup (a conference day's other talks) and mentions
(contacts named in an event's text) are pure: values in, values out, no store.
listing reads what they need through the store's repositories (store.rank_cache
holds every query the ranking makes) and calls them; its names load on first use,
so importing the pure parts (or `Ranked`) does not open the store's modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aggregator.ranking.predict import EVIDENCE_PROBABILITY, HALF_LIFE_DAYS, LISTED, RSVP_PROBABILITY
from aggregator.ranking.score import (
    FORMULA,
    MIN_LISTED,
    ContactChance,
    ExtraChances,
    Ranked,
    as_json,
    catch_up_state,
    dumps,
    explanation,
    local_time,
    months,
)

if TYPE_CHECKING:
    from aggregator.ranking.listing import (
        explain,
        find_roll_up,
        past,
        rank_events,
        refresh,
        upcoming,
        why,
        with_merged,
    )

_OVER_THE_STORE = {"explain", "find_roll_up", "past", "rank_events", "refresh", "upcoming", "why", "with_merged"}

__all__ = ["EVIDENCE_PROBABILITY", "FORMULA", "HALF_LIFE_DAYS", "LISTED", "MIN_LISTED", "RSVP_PROBABILITY",
           "ContactChance", "ExtraChances", "Ranked", "as_json", "catch_up_state", "dumps", "explain",
           "explanation", "find_roll_up", "local_time", "months", "past", "rank_events", "refresh", "upcoming",
           "why", "with_merged"]


def __getattr__(name: str):
    """The store-facing names (listing.py), imported on first use."""
    if name in _OVER_THE_STORE:
        from aggregator.ranking import listing

        return getattr(listing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
