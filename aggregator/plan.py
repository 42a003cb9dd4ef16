"""`aggregator plan`: the fewest evenings in the coming days that see the most of your overdue contacts.

A weighted set cover over the ranking's own output (listing.upcoming): each upcoming
event is a set of overdue contacts, each with the chance the ranking shows for them
there (the contacts `upcoming` lists, P >= 0.05). Going to several events, a contact
is seen with probability 1 - prod(1 - P); the expected number of overdue contacts
seen is the sum of that over contacts.

Greedy, the classic way (ln n of the fewest evenings for set cover, 1 - 1/e of the
best for a given number of evenings): take the event that adds the most expected
contacts not yet seen, then the next, and so on. One event per evening: two events
on the same local day cannot both be attended, so once one is chosen the others of
that day are out. Ties go to the better topic fit (the ranking's topic part), then
the nearer venue, then the sooner. Stop when the best remaining evening would add
less than MIN_GAIN expected contacts (a quarter of a person): past that point an
evening out is for the talk, not for the people.

Pure apart from the one listing call; `choose` is the algorithm, testable on values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.present import LISTED, as_json, days_words, local_time
from aggregator.ranking import ContactChance, Ranked

DAYS = 30
MIN_GAIN = 0.25  # expected contacts an extra evening must add to be worth planning


@dataclass
class Evening:
    item: Ranked
    reaches: list[ContactChance]  # the overdue contacts shown there, most likely first
    adds: float  # expected contacts this evening adds to those chosen before it


@dataclass
class Plan:
    days: int
    evenings: list[Evening]  # soonest first
    overdue: int  # contacts overdue for a catch-up
    reachable: list[str] = field(default_factory=list)  # overdue contacts shown at some event of the window
    reached: float = 0.0  # expected overdue contacts seen across the evenings


def evening_of(item: Ranked, tz: ZoneInfo) -> date:
    start = local_time(item.event.start, item.event.timezone, tz)
    return start.astimezone(tz).date() if isinstance(start, datetime) else start


def choose(candidates: list[tuple[Ranked, list[ContactChance]]], tz: ZoneInfo, *,
           min_gain: float = MIN_GAIN) -> list[Evening]:
    """Greedy weighted set cover: evenings in the order chosen, each with what it adds."""
    unseen: dict[int, float] = {}  # contact id -> P(not seen at any evening chosen so far)
    taken: set[date] = set()
    chosen: list[Evening] = []
    while True:
        best, best_key = None, None
        for item, reaches in candidates:
            if evening_of(item, tz) in taken:
                continue
            gain = sum(unseen.get(c.contact_id, 1.0) * c.probability for c in reaches)
            distance = item.distance_km if item.distance_km is not None else math.inf
            key = (round(gain, 9), round(item.topic_part, 9), -distance, -item.start_utc().timestamp())
            if best_key is None or key > best_key or (key == best_key and item.id < best[0].id):
                best, best_key = (item, reaches, gain), key
        if best is None or best[2] < min_gain:
            return chosen
        item, reaches, gain = best
        chosen.append(Evening(item, reaches, gain))
        taken.add(evening_of(item, tz))
        for c in reaches:
            unseen[c.contact_id] = unseen.get(c.contact_id, 1.0) * (1 - c.probability)


def make_plan(store, settings, *, now: datetime, days: int = DAYS) -> Plan:
    """The plan for the coming `days`, from the ranking's listing of them."""
    from aggregator import journal, ranking

    overdue = {o.contact.id for o in journal.overdue_contacts(store, settings, now=now)}
    candidates = []
    if overdue:
        for item in ranking.upcoming(store, settings, now=now, days=days, limit=0):
            if item.rolled or item.event.status == "cancelled" or item.start_utc() < now:
                continue  # already begun: an evening to plan is still ahead
            reaches = [c for c in item.chances if c.contact_id in overdue and c.probability >= LISTED]
            if reaches:
                candidates.append((item, reaches))
    chosen = choose(candidates, settings.timezone)
    unseen: dict[int, float] = {}
    for evening in chosen:
        for c in evening.reaches:
            unseen[c.contact_id] = unseen.get(c.contact_id, 1.0) * (1 - c.probability)
    reachable = sorted({c.name for _, reaches in candidates for c in reaches})
    return Plan(days=days, evenings=sorted(chosen, key=lambda e: (e.item.start_utc(), e.item.id)),
                overdue=len(overdue), reachable=reachable, reached=sum(1 - p for p in unseen.values()))


def as_dict(plan: Plan, tz: ZoneInfo) -> dict[str, Any]:
    """`plan --json` (CONTRACT.md): evenings with whom they reach, the overdue count, the expected reach."""
    evenings = []
    for evening in plan.evenings:
        shown = as_json(evening.item, tz)
        evenings.append({
            **{k: shown[k] for k in ("id", "title", "start", "end", "location", "group", "url")},
            "reaches": [{"name": c.name, "probability": round(c.probability, 3), "evidence": c.evidence,
                         "contact_id": c.contact_id} for c in evening.reaches],
            "adds": round(evening.adds, 3),
        })
    return {"days": plan.days, "evenings": evenings, "overdue": plan.overdue, "reached": round(plan.reached, 2),
            "reachable": len(plan.reachable), "min_gain": MIN_GAIN}


def lines(plan: Plan, tz: ZoneInfo) -> list[str]:
    """The plan for a terminal or a pipe: a line per evening, then whom it reaches, in words."""
    from aggregator.agenda import one_line, person_in_words, short_id, when

    if not plan.overdue:
        return ["Nobody is overdue for a catch-up: nothing to plan. "
                "Log catch-ups with `aggregator touched NAME`; `aggregator upcoming` lists what is on."]
    if not plan.evenings:
        where = (f"only at events where each evening would add under {MIN_GAIN:g} expected contacts"
                 if plan.reachable else "at no listed event")
        return [f"None of your {plan.overdue} overdue contacts is likely at an event in the next {days_words(plan.days)} "
                f"({where}). Try `aggregator plan --days {plan.days * 2}`, or `aggregator reconnect` to write to them."]
    count = len(plan.evenings)
    out = [f"{count} evening{'s' if count != 1 else ''} in the next {days_words(plan.days)} to see about "
           f"{plan.reached:.1f} of your {plan.overdue} overdue contacts:"]
    for evening in plan.evenings:
        event = evening.item.event
        place = f" · {one_line(event.venue.label())}" if event.venue.label() else ""
        out.append(f"  {when(evening.item, tz)}  {one_line(event.title)}{place}  [{short_id(evening.item.id)}]")
        out.append("      " + ", ".join(person_in_words(c, say_overdue=False) for c in evening.reaches))
    seen = {c.name for e in plan.evenings for c in e.reaches}
    missed = [name for name in plan.reachable if name not in seen]
    if missed:
        out.append(f"Also somewhere, but not worth an evening of their own: {', '.join(map(one_line, missed))}.")
    out.append(f"(An evening is added while it adds at least {MIN_GAIN:g} expected contacts; "
               "`aggregator why ID` explains an event.)")
    return out
