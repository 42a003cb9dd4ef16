"""Order events for one person by their topics and by where their people will be, and say why.

    score = topic part x social part x distance factor
    topic part  = TOPIC_BASE + sum over matched profile topics of weight x field x (1 + STRENGTH_BONUS x strength)
    social part = 1 + sum over contacts with any evidence of weight x P(contact attends)

- topic: FTS5 over title, description, group and tags, each field weighted
  (store.rank_cache.FIELD_WEIGHTS): a topic in the title or tags counts fully, in the
  description FIELD_FACTOR["description"], only in the group or calendar name
  FIELD_FACTOR["group_name"] (a third, and no strength bonus: a name alone is at
  most a third of the same topic in the title); `strength` (0..1) grows with the
  bm25 match. An event matching an excluded topic is dropped.
- P(contact attends): speaker 0.95, host 0.9, a known RSVP 1 (maybe 0.5), the
  user's own log 0.9, named in the event's text 0.6 (only when nothing stronger
  places them there: weak), as aggregator/evidence.py's table says; otherwise
  predicted from the contact's history with the group as of the query's "now"
  (predict.py: a shrunk rate, calibrated; listed from what the record adds).
  Every contact with evidence counts; only those at 0.05 or more are listed. A
  group's regulars lift its events by their calibrated P, not by the timid rate.
- weight: the contact's weight, x OVERDUE_BOOST when you have not caught up with
  them for longer than their cadence (never logged counts as overdue).
- distance: 1 inside home.radius_km (or with no coordinates), radius/distance
  beyond; online-only events ONLINE_FACTOR, or dropped when include_online is off.

Everything here is pure: values in (StoredEvent, AttendanceRow, Contact, the
AttendanceSnapshot), values out, no SQL. listing.py loads them through the store
and calls `score`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aggregator import evidence as ev
from aggregator import present
from aggregator.config import Settings
from aggregator.geo import haversine_km
from aggregator.model import AttendanceRow, AttendanceSnapshot, ColdStart, Contact, Event, StoredEvent
from aggregator.present import local_time, months  # noqa: F401 (public names of this module)
from aggregator.ranking import coldstart, predict
from aggregator.ranking.predict import HALF_LIFE_DAYS, RSVP_PROBABILITY  # noqa: F401 (public: pipeline, journal, cli)

TOPIC_BASE = 0.25
OVERDUE_BOOST = 1.5
ONLINE_FACTOR = 0.8
MIN_LISTED = present.LISTED
STRENGTH_BONUS = 0.5  # how much more a strong full-text match counts than a mere mention
FIELD_FACTOR = {"title": 1.0, "tags": 1.0, "description": 0.75, "group_name": 1 / 3}
NAME_ONLY = {"group_name"}  # fields that name who lists the event, not what it is about: no strength bonus
EXPLICIT = ev.EXPLICIT  # the kinds the event or the user gives, not predicted (rollup.py)

# (contact_id, evidence, probability[, detail]): chances other modules know of, per event id;
# detail says more for the reason ("title" or "description" for a mention).
ExtraChances = dict[str, list[tuple]]


@dataclass
class ContactChance:
    contact_id: int
    name: str
    probability: float
    evidence: str  # a name of evidence.KINDS: rsvp | speaker | host | logged | mentioned | predicted
    overdue: bool = False
    days_since: int | None = None  # since the last catch-up; None when never logged
    hits: int = 0
    weight: float = 1.0  # the contact's weight, boosted when overdue
    detail: str = ""  # where a mention is: "title" | "description"

    @property
    def contribution(self) -> float:
        return self.weight * self.probability


@dataclass
class Ranked:
    id: str
    event: Event
    stored: StoredEvent  # the stored event ranked (a roll-up's: its first talk, with the roll-up's times)
    score: float
    topics: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    chances: list[ContactChance] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    topic_part: float = 0.0
    social_part: float = 1.0
    distance_factor: float = 1.0
    distance_km: float | None = None
    topic_contributions: dict[str, float] = field(default_factory=dict)
    evidence: tuple[list[AttendanceRow], list[tuple]] = field(default=([], []), repr=False)
    rolled: list[Ranked] = field(default_factory=list, repr=False)  # the talks a roll-up stands for (rollup.py)
    recent: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)  # contact -> (came, of) recent events

    @property
    def contacts(self) -> list[dict[str, Any]]:
        return present.listed_contacts(self.chances)

    def start_utc(self) -> datetime:
        return self.stored.start_utc

    @property
    def group_key(self) -> str:
        return self.stored.group_key


# -- the pieces, pure ----------------------------------------------------------
def topic_contributions(matches: dict[str, dict[str, tuple[float, str]]] | dict[str, dict[str, float]],
                        event_id: str, topics: dict[str, float]) -> dict[str, float]:
    """Each matched topic's share of the topic part, best first.

    `matches[topic][event_id]` is FTS5's field-weighted bm25 (more negative is
    better), or (bm25, best field) when the field is known.
    """
    found = []
    for topic, weight in topics.items():
        hit = matches.get(topic, {}).get(event_id)
        if hit is None:
            continue
        bm25, where = hit if isinstance(hit, tuple) else (hit, "title")
        strength = 0.0 if where in NAME_ONLY else min(1.0, max(0.0, -bm25) / 10.0)
        found.append((weight * FIELD_FACTOR.get(where, 1.0) * (1.0 + STRENGTH_BONUS * strength), topic))
    found.sort(key=lambda x: (-x[0], x[1]))
    return {topic: value for value, topic in found}


def topic_relevance(matches, event_id: str, topics: dict[str, float]) -> tuple[float, list[str]]:
    """(sum of the matched topics' contributions, the topics best first)."""
    parts = topic_contributions(matches, event_id, topics)
    return sum(parts.values()), list(parts)


def catch_up_state(last_contacted: str | None, cadence_days: int, today: date) -> tuple[bool, int | None]:
    """(overdue, days since the last catch-up). Never logged counts as overdue."""
    if not last_contacted:
        return True, None
    try:
        last = date.fromisoformat(last_contacted[:10])
    except ValueError:
        return True, None
    days = (today - last).days
    return days > cadence_days, days


def distance_factor(event: Event, settings: Settings) -> tuple[float, float | None]:
    """(factor, km from home or None)."""
    profile = settings.profile
    if event.online and event.venue.lat is None:
        return (ONLINE_FACTOR if profile.include_online else 0.0), None
    home = profile.home
    if home is None or event.venue.lat is None or event.venue.lon is None:
        return 1.0, None
    km = haversine_km(home.lat, home.lon, event.venue.lat, event.venue.lon)
    if km <= home.radius_km or home.radius_km <= 0:
        return 1.0, km
    return max(0.05, home.radius_km / km), km


class People:
    """Contacts as ranking sees them: name, overdue state and weight, each computed once. Pure."""

    def __init__(self, contacts: Mapping[int, Contact], today: date, cadence_days: int):
        self.contacts, self.today, self.cadence = contacts, today, cadence_days
        self._seen: dict[int, tuple[str, bool, int | None, float]] = {}
        self._weights: dict[int, float] | None = None

    def who(self, cid: int) -> tuple[str, bool, int | None, float]:
        """(name, overdue, days since the last catch-up, weight)."""
        if cid not in self._seen:
            contact = self.contacts.get(cid) or Contact(cid, "")
            overdue, days = catch_up_state(contact.last_contacted, contact.cadence_days or self.cadence, self.today)
            weight = (contact.weight or 1.0) * (OVERDUE_BOOST if overdue else 1.0)
            self._seen[cid] = (contact.name or f"contact {cid}", overdue, days, weight)
        return self._seen[cid]

    def weights(self) -> dict[int, float]:
        """Every contact's weight in the score (who()[3]); never-logged contacts, most of them, without
        making each a Contact value (ContactRows)."""
        if self._weights is not None:
            return self._weights
        rows = getattr(self.contacts, "rows", None)
        if rows is None:
            self._weights = {cid: self.who(cid)[3] for cid in self.contacts}
            return self._weights
        overdue: dict[tuple[str | None, int], bool] = {}  # by (last catch-up, cadence): few distinct ones
        out = {}
        for cid, _, _, weight, last, cadence in rows():
            key = (last, cadence or self.cadence)
            if key not in overdue:
                overdue[key] = catch_up_state(last, key[1], self.today)[0]
            out[cid] = (weight or 1.0) * (OVERDUE_BOOST if overdue[key] else 1.0)
        self._weights = out
        return out

    def chance(self, cid: int, p: float, evidence: str, hits: int = 0, detail: str = "") -> ContactChance:
        name, overdue, days, weight = self.who(cid)
        return ContactChance(cid, name, p, evidence, overdue, days, hits, weight, detail)


def explicit_chances(attendance: list[AttendanceRow], extra: list[tuple] = ()
                     ) -> dict[int, tuple[float, str, str]]:
    """contact -> (P, evidence, detail) from the event's own rows (RSVP, speaker, host, the user's
    log) and `extra`. The stronger evidence wins; weak evidence (a mention) only counts for a
    contact nothing else places at the event (a declined RSVP is stronger than a name in the
    description). A value evidence.py's tables do not hold raises evidence.UnknownValue."""
    found: dict[int, tuple[float, str, str]] = {}
    if not attendance and not extra:
        return found

    def offer(cid: int | None, p: float, evidence: str, detail: str = "") -> None:
        if cid is None:
            return
        if ev.kind(evidence).weak:
            if cid not in found:
                found[cid] = (p, evidence, detail)
        elif cid not in found or ev.kind(found[cid][1]).weak or p > found[cid][0]:
            found[cid] = (p, evidence, detail)

    for a in attendance:
        kind = ev.stored_kind(a.evidence)
        if not kind.by_status:
            offer(a.contact_id, kind.probability, kind.name)
        elif (answer := ev.status(a.status).rsvp) is not None:  # an invitation alone says nothing
            offer(a.contact_id, answer, kind.name)
    for cid, evidence, p, *detail in extra:
        offer(cid, max(0.0, min(1.0, p)), evidence, detail[0] if detail else "")
    return found


def newcomer_factor(evidence: float) -> float:
    """A cold-start contact's P over the group's floor (coldstart.cold_probability is linear in it)."""
    return coldstart.cold_probability(evidence, 1.0)


def by_likelihood(chance: ContactChance) -> tuple:
    """The order chances are listed in: most likely first, then by name."""
    return -chance.probability, chance.name, chance.contact_id


class SocialModel:
    """Predicted chances per (group, slot) from a snapshot, each computed once. Pure."""

    def __init__(self, snap: AttendanceSnapshot, people: People, cold: ColdStart | None = None, *,
                 named_from: float = MIN_LISTED):
        """`named_from`: the least P of a predicted chance the items name (every contact still counts
        in the score; a feed that names only the likeliest need not make the others' chances)."""
        self.snap, self.people, self.cold = snap, people, cold or ColdStart()
        self.named_from = max(MIN_LISTED, named_from)
        self._cache: dict[tuple[str, int], tuple[float, dict[int, float], list[ContactChance], float,
                                                 dict[int, float]]] = {}
        self._cold_parts: dict[str, tuple[float, dict[int, float]]] = {}

    def predicted(self, group: str, slot: int) -> tuple[float, dict[int, float], list[ContactChance] | None]:
        """(sum of weight x P over everyone with history, P of each contact read, the listed chances:
        None when the snapshot holds only what they add to the score, snap.lifts)."""
        key = (group, slot)
        if key not in self._cache:
            history = self.snap.history.get(group, {})
            group_history = self.snap.groups.get(group, predict.GroupHistory())
            probs, listed, lift = predict.rates(history, group_history, slot), [], 0.0
            # The contacts listed as the rank cache worked them out (all of a group's when `every`),
            # or only what they add to the score, summed by the store (`lifted`: then who they are
            # is not known here, and `listed` is None).
            kept = self.snap.predicted.get(key) if group not in self.snap.complete else None
            lifted = self.snap.lifts.get(key) if kept is None and group not in self.snap.complete else None
            for cid, rate, p, hits in kept or ():
                probs[cid] = p
                lift += self.people.who(cid)[3] * (p - rate)
                if p >= self.named_from:
                    listed.append(self.people.chance(cid, p, ev.PREDICTED, hits))
            done = {cid for cid, *_ in kept or ()}
            # The other contacts read who are listed (for the rest, P is the linear part `rates` gives).
            others = {c: v for c, v in probs.items() if c not in done} if done else probs
            for cid, rate, p in predict.listed_of(others, group_history, slot):
                probs[cid] = p
                if lifted is None:
                    lift += self.people.who(cid)[3] * (p - rate)
                    if p >= self.named_from:
                        listed.append(self.people.chance(cid, p, ev.PREDICTED, history[cid].hits))
            if lifted is not None:
                lift, listed = lifted, None
            sums = self.snap.sums.get(group)
            if sums is None:  # a snapshot holding every contact: sum them
                total = sum(self.people.who(cid)[3] * p for cid, p in probs.items())
            else:
                # The sums give every contact's linear part; P differs from it only for those listed
                # (predict.calibrated), and the snapshot reads every contact who may be.
                total = predict.expected_total(sums.by_slot.get(slot, 0.0), sums.hits, sums.weights,
                                               group_history, slot) + lift
            # Contacts new to the group who go to groups sharing its members (coldstart.py): the
            # sums above hold only contacts with history here, so theirs are added. Their P is the
            # floor times a factor of their own (cold_probability is linear in the floor), so the
            # group's weighted sum of factors, worked out once, gives theirs at every weekday.
            floor = coldstart.floor_probability(group_history, slot)
            share, factors = self._newcomers(group)
            total += floor * share
            if floor >= self.named_from and listed is not None:  # a factor is below 1: none is listed under it
                if group in self.cold.shares and group not in self.snap.complete:
                    raise ValueError(f"the newcomers {group!r} may list were not read (cold.shares)")
                for cid, factor in factors.items():
                    if floor * factor >= self.named_from:
                        listed.append(self.people.chance(cid, floor * factor, ev.PREDICTED,
                                                         detail=f"goes to {self.cold.of(group)[cid][1]}"))
            if listed is not None:
                listed.sort(key=by_likelihood)
            self._cache[key] = (total, probs, listed, floor, factors)
        return self._cache[key][:3]

    def _newcomers(self, group: str) -> tuple[float, dict[int, float]]:
        """(sum of weight x factor, {contact: factor}) of the group's cold-start contacts (P = floor x
        factor); the sum as the store made it when it did (cold.shares: then only the contacts asked
        for are in `factors`)."""
        if group not in self._cold_parts:
            history = self.snap.history.get(group, {})
            factors = {cid: newcomer_factor(evidence)
                       for cid, (evidence, _) in self.cold.of(group).items() if cid not in history}
            share = self.cold.shares.get(group) if group not in self.snap.complete else None
            if share is None:
                share = sum(self.people.who(cid)[3] * f for cid, f in factors.items())
            self._cold_parts[group] = (share, factors)
        return self._cold_parts[group]

    def probability(self, group: str, slot: int, cid: int) -> float:
        """The predicted P of one contact at the group's events in `slot` (0 with no evidence)."""
        self.predicted(group, slot)
        _, probs, _, floor, factors = self._cache[(group, slot)]
        return probs[cid] if cid in probs else floor * factors.get(cid, 0.0)

    def chances(self, stored: StoredEvent, attendance: list[AttendanceRow], extra: list[tuple[int, str, float]] = (),
                *, every: bool = False, predicted: bool = True) -> tuple[float, list[ContactChance]]:
        """(social part, the chances listed, or all of them when `every`), most likely first;
        without `predicted`, only those the event or the user's log gives (RSVPs, speakers, ...)."""
        group = stored.group_key
        slot = self.snap.slot(stored.start_utc)
        total, probs, listed = self.predicted(group, slot)
        known = explicit_chances(attendance, extra)
        social = 1.0 + total
        out = []
        for cid, (p, evidence, detail) in known.items():
            social += self.people.who(cid)[3] * (p - self.probability(group, slot, cid))
            if p > 0:
                out.append(self.people.chance(cid, p, evidence, detail=detail))
        if not predicted:
            return social, sorted(out, key=by_likelihood) if out else out
        if listed is None and not every:
            raise ValueError(f"the contacts {group!r} lists were not read (snap.predicted)")
        if not known and not every:
            return social, list(listed)  # sorted once per group and weekday
        if every:
            history, cold = self.snap.history.get(group, {}), self.cold.of(group)
            every_p = {cid: self.probability(group, slot, cid) for cid in (*probs, *self._newcomers(group)[1])}
            out += [self.people.chance(cid, p, ev.PREDICTED, history[cid].hits) if cid in history
                    else self.people.chance(cid, p, ev.PREDICTED, detail=f"goes to {cold[cid][1]}")
                    for cid, p in every_p.items() if cid not in known and p > 0]
        else:
            out += [c for c in listed if c.contact_id not in known]
        return social, sorted(out, key=by_likelihood)


def score(stored: StoredEvent, matches, social: SocialModel, settings: Settings, *,
          topics: dict[str, float], attendance: list[AttendanceRow] = (),
          extra: list[tuple] = (), every: bool = False, predicted: bool = True) -> Ranked | None:
    """One event's Ranked (None when dropped by distance or online settings). Pure: no SQL.
    Without `predicted`, its chances are only those the event or the user's log gives (a listing
    names the predicted ones for the events it shows: listing.list_contacts)."""
    event = stored.event
    factor, km = distance_factor(event, settings)
    if factor == 0.0:
        return None
    contributions = topic_contributions(matches, stored.id, topics)
    topic_part = TOPIC_BASE + sum(contributions.values())
    social_part, chances = social.chances(stored, attendance, extra, every=every, predicted=predicted)
    return Ranked(
        id=stored.id, event=event, stored=stored, score=round(topic_part * social_part * factor, 3),
        topics=list(contributions), chances=chances, sources=stored.sources,
        topic_part=topic_part, social_part=social_part, distance_factor=factor, distance_km=km,
        topic_contributions=contributions, evidence=(attendance, list(extra)),
    )


def reasons(item: Ranked, snap: AttendanceSnapshot, settings: Settings, most: int = 3) -> list[str]:
    """Sentences a person reads: topics, who RSVPed or speaks, who tends to come, who is overdue, where."""
    recent = item.recent if item.recent or not item.chances else recent_history(snap, item)
    return present.reasons(item, recent, settings.profile.home is not None, most)


def recent_history(snap: AttendanceSnapshot, item: Ranked) -> dict[int, tuple[int, int]]:
    """contact -> (attended, of) the group's last past events with known attendees."""
    g = item.group_key
    n = len(snap.recent.get(g, ()))
    if snap.recent_by_group or not snap.recent_hits:
        hits = snap.recent_by_group.get(g, {})
        return {c.contact_id: (hits.get(c.contact_id, 0), n) for c in item.chances}
    return {c.contact_id: (snap.recent_hits.get((g, c.contact_id), 0), n) for c in item.chances}


def people_of(contacts: dict[int, Contact], settings: Settings, now: datetime) -> People:
    return People(contacts, now.astimezone(settings.timezone).date(), settings.profile.reconnect_after_days)


def social_model(snap: AttendanceSnapshot, settings: Settings, now: datetime,
                 cold: ColdStart | None = None) -> SocialModel:
    return SocialModel(snap, people_of(snap.contacts, settings, now), cold)


def explanation(item: Ranked, snap: AttendanceSnapshot) -> dict[str, Any]:
    """`why --json` for one ranked item."""
    return present.explanation(item, recent_history(snap, item), topic_base=TOPIC_BASE, formula=FORMULA)


# -- presentation shared by the CLI, the feed and the server ---------------
FORMULA = "topic part x social part x distance factor"


def as_json(item: Ranked, default_tz: ZoneInfo) -> dict[str, Any]:
    """The `upcoming --json` shape of CONTRACT.md."""
    return present.as_json(item, default_tz)


def dumps(items: list[Ranked], default_tz: ZoneInfo) -> str:
    return present.dumps(items, default_tz)
