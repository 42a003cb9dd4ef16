"""Ranking over the store: load the events, attendance, contacts and snapshot, then call the pure ranker.

score.py scores values and knows nothing of SQLite; this module is the one place
that reads what ranking needs, through the store's repositories (the attendance
sums, cold start and full-text matches through store.rank_cache, contacts once
per query through store.people). It also finds the contacts named in each
event's text (mentions.py) and, for the listings, rolls each conference day's
unremarkable talks into one entry (rollup.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from aggregator import evidence as ev
from aggregator.config import Settings, UnknownName
from aggregator.errors import AggregatorError
from aggregator.identity import fold
from aggregator.model import AttendanceSnapshot, ColdStart, Contact, ContactRows, StoredEvent, local_weekday
from aggregator.ranking import coldstart, predict, rollup
from aggregator.ranking import score as rank
from aggregator.ranking.mentions import ContactName, MentionIndex
from aggregator.ranking.score import MIN_LISTED, ExtraChances, Ranked
from aggregator.store import Store
from aggregator.store.codec import fts_phrase

_LETTERS = re.compile(r"[^\W\d_]+")
# How the store's rank cache works out cold start when it rebuilds (coldstart.py).
COLD = (coldstart.WORK_BUDGET, coldstart.within_budget, coldstart.derive, rank.newcomer_factor)


def offset_minutes(now: datetime, zone: tzinfo) -> int:
    """The user's zone at `now`, in minutes east of UTC: weekdays are local."""
    offset = now.astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def refresh(store: Store, now: datetime, zone: tzinfo, half_life_days: float = predict.HALF_LIFE_DAYS) -> None:
    """Bring the ranking's cache (attendance sums, cold start) up to date after a change, here
    rather than on the next query (the fetch, an import, your log, a merge call it)."""
    constants = replace(predict.CONSTANTS, half_life_days=half_life_days)
    store.rank_cache.ensure(now, offset_minutes(now, zone), constants, COLD, predict.listed)


def upcoming(store: Store, settings: Settings, *, now: datetime, days: int = 30, limit: int = 20,
             topic: str | None = None, sort: str = "score", include_cancelled: bool = False,
             extra_chances: ExtraChances | None = None, roll_up: bool = True) -> list[Ranked]:
    """Ranked upcoming events between now and `days` ahead (`limit` 0 means all); a conference's
    talks nobody of yours gives or your topics match are rolled up per day (rollup.py)."""
    events = store.events.between(start=now, end=now + timedelta(days=days), include_cancelled=include_cancelled)
    ranked, snap = _rank(store, settings, events, now=now, topic=topic, extra_chances=extra_chances, predicted=False)
    if roll_up:
        ranked = rollup.roll_up(ranked, rollup.conference_sources(settings), settings.timezone)
    if sort == "start":
        ranked.sort(key=lambda r: (r.start_utc(), -r.score, r.id))
    shown = ranked[:limit] if limit else ranked
    list_contacts(store, shown, snap, settings)
    add_reasons(store, shown, snap, settings)
    return shown


def list_contacts(store: Store, items: list[Ranked], snap: AttendanceSnapshot, settings: Settings) -> None:
    """Name the likely contacts of the items shown (the scores needed only the groups' sums)."""
    items = [i for i in items if not i.rolled]
    if snap.lifts:  # scored from what the listed contacts add: read who they are, for these only
        keys = {(i.group_key, snap.slot(i.start_utc())) for i in items}
        store.rank_cache.read_listed(snap, keys - set(snap.predicted), snap.contacts)
    store.rank_cache.read_contacts(snap, {i.group_key for i in items}, predict.CONSTANTS.listed, predict.CONSTANTS)
    cold = cold_start(store, snap)
    if cold.shares:  # scored from the newcomers' sums: read them, for the groups shown
        cold = store.rank_cache.cold_start(sorted({i.group_key for i in items}), set(snap.contacts), COLD)
    social = rank.social_model(snap, settings, snap.now, cold)
    for item in items:
        attendance, extra = item.evidence
        item.chances = social.chances(item.stored, attendance, extra)[1]


GOING = "you're going (in your calendar)"


def add_reasons(store: Store, items: list[Ranked], snap: AttendanceSnapshot, settings: Settings) -> None:
    """Fill in each item's reasons (the recent history they quote is read only for what is shown)."""
    items = [i for i in items if not i.rolled]  # a roll-up's reasons are made with it
    store.rank_cache.load_recent(snap, [i.group_key for i in items])
    going = store.personal.going([i.id for i in items])  # profile.calendars: entries ahead that matched
    for item in items:
        item.recent = rank.recent_history(snap, item)
        item.reasons = ([GOING] if item.id in going else []) + rank.reasons(item, snap, settings)


def rank_events(store: Store, settings: Settings, events: list[StoredEvent], *, now: datetime,
                topic: str | None = None, explain: bool = True, extra_chances: ExtraChances | None = None,
                every: bool = False, roll_up: bool = False, named_from: float = MIN_LISTED) -> list[Ranked]:
    """Score stored events for the profile, best first; excluded topics dropped.

    `every`: each item's chances name every contact with evidence, not only those listed.
    `roll_up`: conference days' other talks become one entry each (the feed).
    `named_from`: the least P of a predicted chance the items name (the feed says only the likeliest).
    """
    ranked, snap = _rank(store, settings, events, now=now, topic=topic, extra_chances=extra_chances, every=every,
                         named_from=named_from)
    if roll_up:
        ranked = rollup.roll_up(ranked, rollup.conference_sources(settings), settings.timezone)
    if explain:
        add_reasons(store, ranked, snap, settings)
    return ranked


def _texts(stored: StoredEvent) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("title", stored.event.title or ""), ("description", stored.event.description or "")


def contact_names(contacts: ContactRows | Iterable[Contact], events: list[StoredEvent]) -> list[ContactName]:
    """The contacts who may be named in `events`: those with a word of a name in their text at all
    (indexing 10,000 names costs more than ranking; one pass over the folded texts leaves most out)."""
    # "\n" is no letter: a word never runs from one text into the next, nor from one name into another.
    words = set(_LETTERS.findall(fold("\n".join(text for stored in events for _, text in _texts(stored)))))
    rows = list(contacts.rows() if isinstance(contacts, ContactRows)
                else ((c.id, c.name, c.aliases) for c in contacts))
    # The words of names that the texts hold at all: a name without one of them is not named.
    shared = words & set(_LETTERS.findall(fold("\n".join(n for _, name, aliases, *_ in rows for n in (name, *aliases)))))
    if not shared:
        return []
    few = len(shared) <= 16  # then a substring test (a superset of a word match) leaves most names unparsed
    out = []
    for cid, name, aliases, *_ in rows:
        if not name:
            continue
        names = (name, *aliases)
        if few and not any(word in fold(n) for n in names for word in shared):
            continue
        if any(not shared.isdisjoint(_LETTERS.findall(fold(n))) for n in names):
            out.append(ContactName(cid, name, tuple(aliases)))
    return out


def mention_chances(events: list[StoredEvent], index: MentionIndex) -> ExtraChances:
    """event id -> (contact, "mentioned", P, "title" | "description") for each contact named in its text."""
    p = ev.kind(ev.MENTIONED).probability
    found: ExtraChances = {}
    for stored in events:
        seen: set[int] = set()
        for where, text in _texts(stored):
            for mention in index.find(text):
                if mention.contact_id not in seen:
                    seen.add(mention.contact_id)
                    found.setdefault(stored.id, []).append((mention.contact_id, ev.MENTIONED, p, where))
    return found


def cold_start(store: Store, snap: AttendanceSnapshot, people: rank.People | None = None,
               pairs: set[tuple[str, int]] = frozenset()) -> ColdStart:
    """Cold-start evidence (coldstart.py) for the snapshot's groups, as the rank cache's last rebuild
    worked it out: read once per query (the scores and the contacts listed share it). Given `people`,
    each group's newcomers are summed by the store and only the (group, contact) `pairs` read."""
    if snap.cold is None:
        weights = None if people is None else people.weights()
        snap.cold = store.rank_cache.cold_start(sorted(snap.groups), set(snap.contacts), COLD, weights=weights,
                                                pairs=pairs)
    return snap.cold


def load_snapshot(store: Store, settings: Settings, events: list[StoredEvent], now: datetime,
                  people: rank.People, *, also: set[tuple[str, int]] = frozenset(), every: bool = False,
                  named: set[str] | None = None) -> AttendanceSnapshot:
    """The attendance history the events are scored on. `named`: the ids of the events whose listed
    contacts are read (None: all); the others' listed contacts count only by what they add."""
    groups = sorted({e.group_key for e in events})
    offset = offset_minutes(now, settings.timezone)
    slot = {e.id: (e.group_key, local_weekday(e.start_utc, offset)) for e in events}  # as snap.slot will
    snap = store.rank_cache.load(groups, now, weights=people.weights(),
                                 floor=MIN_LISTED, constants=predict.CONSTANTS, cold=COLD, also=also,
                                 every=set(groups) if every else set(), utc_offset_minutes=offset,
                                 listed=predict.listed, slots=set(slot.values()),
                                 named=None if named is None else {slot[i] for i in named if i in slot})
    snap.contacts = people.contacts
    return snap


def _rank(store: Store, settings: Settings, events: list[StoredEvent], *, now: datetime, topic: str | None,
          extra_chances: ExtraChances | None, every: bool = False, predicted: bool = True,
          named_from: float = MIN_LISTED) -> tuple[list[Ranked], AttendanceSnapshot]:
    """(items, snapshot): the events scored, and the attendance history they were scored on.
    Without `predicted`, the items' chances are only those the events or the user's log give
    (list_contacts names the predicted ones of the items shown)."""
    if not events:
        return [], AttendanceSnapshot(now=now)
    events = with_merged(store, events)
    profile = settings.profile
    topics = dict(profile.topics)
    wanted = topic.strip().lower() if topic else None
    if wanted and wanted not in topics:
        topics[wanted] = 1.0
    ids = [e.id for e in events]
    found = store.rank_cache.topics_matching([fts_phrase(t) for t in (*topics, *profile.exclude_topics)], ids)
    matches = dict(zip(topics, found, strict=False))
    excluded: set[str] = set()
    for bad in found[len(topics):]:
        excluded.update(bad)
    attendance = store.attendance.of_events(ids)
    extra: ExtraChances = {}
    contacts = store.people.for_ranking()  # once per query: names to find in the texts, weights to score
    for found in (mention_chances(events, MentionIndex(contact_names(contacts, events))), extra_chances or {}):
        for eid, chances in found.items():
            extra.setdefault(eid, []).extend(chances)
    group_of = {e.id: e.group_key for e in events}
    also = {(group_of[eid], a.contact_id) for eid, found in attendance.items() if eid in group_of
            for a in found if a.contact_id is not None}
    also.update((group_of[eid], chance[0]) for eid, found in extra.items() if eid in group_of
                for chance in found)
    people = rank.people_of(contacts, settings, now)
    snap = load_snapshot(store, settings, events, now, people, also=also, every=every,
                         named=None if predicted else set())
    social = rank.SocialModel(snap, people, cold_start(store, snap, None if predicted else people, also),
                              named_from=named_from)
    ranked: list[Ranked] = []
    for stored in events:
        if stored.id in excluded or (wanted and stored.id not in matches[wanted]):
            continue
        item = rank.score(stored, matches, social, settings, topics=topics, attendance=attendance.get(stored.id, []),
                          extra=extra.get(stored.id, ()), every=every, predicted=predicted)
        if item is not None:
            ranked.append(item)
    ranked.sort(key=lambda r: (-r.score, r.start_utc(), r.id))
    return ranked, snap


def with_merged(store: Store, events: list[StoredEvent]) -> list[StoredEvent]:
    """Merged events completed from the other sources' listings (what one source lacks, another
    may say), with every source named."""
    merged = store.merges.members([e.id for e in events if e.is_canonical])
    if not merged:
        return events
    out = []
    for stored in events:
        others = [m for m in merged.get(stored.id, ()) if m.removed_at is None]  # gone from its source
        if others:
            stored = replace(stored, event=completed(stored, others),
                             merged_sources=tuple(sorted({m.source for m in others})))
        out.append(stored)
    return out


def completed(stored: StoredEvent, others: list[StoredEvent]):
    """`stored`'s event with each missing field taken from the first other listing that has it, and
    every listing's tags."""
    event = stored.event
    venue = event.venue
    fill = {}
    for name in ("description", "url", "group", "timezone"):
        if getattr(event, name) is None:
            fill[name] = next((getattr(m.event, name) for m in others if getattr(m.event, name) is not None), None)
    if event.end is None:
        donor = next((m for m in others if m.event.end is not None and m.event.all_day == event.all_day), None)
        if donor is not None:
            fill["end"] = donor.event.end
    places = {}
    for name in ("name", "address", "city", "lat", "lon"):
        if getattr(venue, name) is None:
            places[name] = next((getattr(m.event.venue, name) for m in others
                                 if getattr(m.event.venue, name) is not None), None)
    if places:
        fill["venue"] = replace(venue, **places)
    tags = list(event.tags)
    for m in others:
        tags += [t for t in m.event.tags if t not in tags]
    fill["tags"] = tuple(tags)
    return event.replace(**fill)


def explain(store: Store, settings: Settings, stored: StoredEvent, *, now: datetime,
            extra_chances: ExtraChances | None = None) -> dict[str, Any]:
    """The full breakdown of one event's score (`aggregator why`): every contact with evidence listed."""
    ranked, snap = _rank(store, settings, [stored], now=now, topic=None, extra_chances=extra_chances, every=True)
    if not ranked:
        return {"id": stored.id, "title": stored.title, "score": 0.0, "dropped": True,
                "reasons": ["dropped: it matches an excluded topic, or it is online and online events are off"]}
    [item] = ranked
    add_reasons(store, ranked, snap, settings)
    return rank.explanation(item, snap)


def why(store: Store, settings: Settings, ident: str, *, now: datetime) -> dict[str, Any]:
    """`aggregator why IDENT`: a stored event's breakdown, else a roll-up's; bad usage (exit 2) when
    neither is known (roll-ups are looked for only then: finding them ranks the coming months)."""
    try:
        stored = store.events.find(ident)
    except AggregatorError as exc:
        rolled = find_roll_up(store, settings, ident, now=now)
        if rolled is None:
            raise UnknownName(str(exc)) from None
        return rolled
    return explain(store, settings, stored, now=now)


def find_roll_up(store: Store, settings: Settings, ident: str, *, now: datetime,
                 days: int = rollup.SEARCH_DAYS) -> dict[str, Any] | None:
    """`why` for a roll-up id (or a unique prefix of one) among the coming `days`' listing, else None."""
    ident = ident.strip().lower()
    if not ident:
        return None
    items = upcoming(store, settings, now=now, days=days, limit=0)
    found = [i for i in items if i.rolled and i.id.startswith(ident)]
    if len(found) != 1:
        return None
    return rollup.explanation(found[0], rank.explanation(found[0], AttendanceSnapshot(now=now)))


def past(store: Store, settings: Settings, *, now: datetime, days: int = 30) -> list[Ranked]:
    """`aggregator past`: events that started in the last `days` days, most recent first, scored and
    explained as `upcoming` lists them; their ids are what `attended` takes."""
    since = now - timedelta(days=days)
    events = [e for e in store.events.between(start=since, end=now) if since <= e.start_utc <= now]
    ranked, snap = _rank(store, settings, events, now=now, topic=None, extra_chances=None, predicted=False)
    ranked.sort(key=lambda r: (r.start_utc(), r.score), reverse=True)
    list_contacts(store, ranked, snap, settings)
    add_reasons(store, ranked, snap, settings)
    return ranked
