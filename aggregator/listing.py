"""Ranking over the store: load the rows, attendance, contacts and snapshot, then call the pure ranker.

rank.py scores values and knows nothing of SQLite; this module is the one place
that reads what it needs through the Store (and its row codec). It also finds
the contacts named in each event's text (mentions.py) and, for the listings,
rolls each conference day's unremarkable talks into one entry (rollup.py).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from aggregator import coldstart, predict, rank, rollup, snapshot
from aggregator.coldstart import ColdStart
from aggregator.config import Settings, UnknownName
from aggregator.errors import AggregatorError
from aggregator.identity import fold
from aggregator.mentions import ContactName, MentionIndex
from aggregator.rank import MIN_LISTED, ExtraChances, Ranked, group_key
from aggregator.snapshot import AttendanceSnapshot
from aggregator.store import Store
from aggregator.store.codec import fts_phrase, json_list, row_event

_LETTERS = re.compile(r"[^\W\d_]+")


def upcoming(store: Store, settings: Settings, *, now: datetime, days: int = 30, limit: int = 20,
             topic: str | None = None, sort: str = "score", include_cancelled: bool = False,
             extra_chances: ExtraChances | None = None, roll_up: bool = True) -> list[Ranked]:
    """Ranked upcoming events between now and `days` ahead (`limit` 0 means all); a conference's
    talks nobody of yours gives or your topics match are rolled up per day (rollup.py)."""
    rows = store.event_rows(start=now, end=now + timedelta(days=days), include_cancelled=include_cancelled)
    ranked, snap = _rank(store, settings, rows, now=now, topic=topic, extra_chances=extra_chances, listed=[])
    if roll_up:
        ranked = rollup.roll_up(ranked, rollup.conference_sources(settings), settings.timezone)
    if sort == "start":
        ranked.sort(key=lambda r: (r.row["start_utc"], -r.score, r.id))
    shown = ranked[:limit] if limit else ranked
    list_contacts(store, shown, snap, settings)
    add_reasons(store, shown, snap, settings)
    return shown


def list_contacts(store: Store, items: list[Ranked], snap: AttendanceSnapshot, settings: Settings) -> None:
    """Name the likely contacts of the items shown (the scores needed only the groups' sums)."""
    items = [i for i in items if not i.rolled]
    snapshot.read_contacts(store, snap, {group_key(i.row) for i in items}, MIN_LISTED)
    social = rank.social_model(snap, settings, snap.now, cold_start(store, snap))
    for item in items:
        attendance, extra = item.evidence
        item.chances = social.chances(item.row, item.start_utc(), attendance, extra)[1]


GOING = "you're going (in your calendar)"


def add_reasons(store: Store, items: list[Ranked], snap: AttendanceSnapshot, settings: Settings) -> None:
    """Fill in each item's reasons (the recent history they quote is read only for what is shown)."""
    items = [i for i in items if not i.rolled]  # a roll-up's reasons are made with it
    snapshot.load_recent(store, snap, [group_key(i.row) for i in items])
    going = store.personal.going([i.id for i in items])  # profile.calendars: entries ahead that matched
    for item in items:
        item.reasons = ([GOING] if item.id in going else []) + rank.reasons(item, snap, settings)


def rank_rows(store: Store, settings: Settings, rows: list[dict[str, Any]], *, now: datetime,
              topic: str | None = None, explain: bool = True, extra_chances: ExtraChances | None = None,
              every: bool = False, roll_up: bool = False) -> list[Ranked]:
    """Score stored event rows for the profile, best first; excluded topics dropped.

    `every`: each item's chances name every contact with evidence, not only those listed.
    `roll_up`: conference days' other talks become one entry each (the feed).
    """
    ranked, snap = _rank(store, settings, rows, now=now, topic=topic, extra_chances=extra_chances, every=every)
    if roll_up:
        ranked = rollup.roll_up(ranked, rollup.conference_sources(settings), settings.timezone)
    if explain:
        add_reasons(store, ranked, snap, settings)
    return ranked


def contact_names(store: Store, rows: list[dict[str, Any]]) -> list[ContactName]:
    """The contacts who may be named in `rows`: those with a word of a name in their text at all
    (indexing 10,000 names costs more than ranking; one pass over the folded texts leaves most out)."""
    words: set[str] = set()
    for row in rows:
        for where in ("title", "description"):
            words.update(_LETTERS.findall(fold(row.get(where) or "")))
    out = []
    for contact in store.contact_rows():
        names = (contact.get("name") or "", *json_list(contact.get("aliases")))
        if names[0] and any(not words.isdisjoint(_LETTERS.findall(fold(name))) for name in names):
            out.append(ContactName(contact["id"], names[0], names[1:]))
    return out


def mention_chances(rows: list[dict[str, Any]], index: MentionIndex) -> ExtraChances:
    """event id -> (contact, "mentioned", P, "title" | "description") for each contact named in its text."""
    p = predict.EVIDENCE_PROBABILITY["mentioned"]
    found: ExtraChances = {}
    for row in rows:
        seen: set[int] = set()
        for where in ("title", "description"):
            for mention in index.find(row.get(where) or ""):
                if mention.contact_id not in seen:
                    seen.add(mention.contact_id)
                    found.setdefault(row["id"], []).append((mention.contact_id, "mentioned", p, where))
    return found


def cold_start(store: Store, snap: AttendanceSnapshot) -> ColdStart:
    """Cold-start evidence (coldstart.py) for the snapshot's groups, read after snapshot.load
    has brought the cache tables up to date."""
    with snapshot.lock_of(store):
        return coldstart.load(snapshot.connection_of(store), sorted(snap.groups), set(snap.contacts))


def load_snapshot(store: Store, settings: Settings, rows: list[dict[str, Any]], now: datetime,
                  people: rank.People, *, also: set[tuple[str, int]] = frozenset(), every: bool = False,
                  listed: list[str] | None = None) -> AttendanceSnapshot:
    offset = now.astimezone(settings.timezone).utcoffset()
    groups = sorted({group_key(r) for r in rows})
    snap = snapshot.load(store, groups, now, weights={cid: people.who(cid)[3] for cid in people.contacts},
                         floor=MIN_LISTED, also=also, every=set(groups) if every else set(), listed=listed,
                         utc_offset_minutes=int(offset.total_seconds() // 60) if offset else 0)
    snap.contacts = people.contacts
    return snap


def _rank(store: Store, settings: Settings, rows: list[dict[str, Any]], *, now: datetime, topic: str | None,
          extra_chances: ExtraChances | None, every: bool = False,
          listed: list[str] | None = None) -> tuple[list[Ranked], AttendanceSnapshot]:
    """(items, snapshot); `listed`: the groups whose contacts are named now (None: all; upcoming
    names them for the items it shows only)."""
    if not rows:
        return [], AttendanceSnapshot(now=now)
    rows = with_merged(store, rows)
    profile = settings.profile
    topics = dict(profile.topics)
    wanted = topic.strip().lower() if topic else None
    if wanted and wanted not in topics:
        topics[wanted] = 1.0
    ids = [r["id"] for r in rows]
    matches = {t: snapshot.topic_matches(store, fts_phrase(t), ids) for t in topics}
    excluded: set[str] = set()
    for bad in profile.exclude_topics:
        excluded.update(snapshot.topic_matches(store, fts_phrase(bad), ids))
    attendance = store.attendees(ids)
    extra: ExtraChances = {}
    for found in (mention_chances(rows, MentionIndex(contact_names(store, rows))), extra_chances or {}):
        for eid, chances in found.items():
            extra.setdefault(eid, []).extend(chances)
    group_of = {r["id"]: group_key(r) for r in rows}
    also = {(group_of[eid], a["contact_id"]) for eid, found in attendance.items() if eid in group_of
            for a in found if a.get("contact_id") is not None}
    also.update((group_of[eid], chance[0]) for eid, found in extra.items() if eid in group_of
                for chance in found)
    people = rank.people_of(snapshot.load_contacts(store), settings, now)
    snap = load_snapshot(store, settings, rows, now, people, also=also, every=every, listed=listed)
    social = rank.SocialModel(snap, people, cold_start(store, snap))
    ranked: list[Ranked] = []
    for row in rows:
        if row["id"] in excluded or (wanted and row["id"] not in matches[wanted]):
            continue
        found = attendance.get(row["id"], [])
        item = rank.score(row, row_event(row, found), matches, social, settings, topics=topics, attendance=found,
                          extra=extra.get(row["id"], ()), every=every)
        if item is not None:
            ranked.append(item)
    ranked.sort(key=lambda r: (-r.score, r.row["start_utc"], r.id))
    return ranked, snap


MERGE_FIELDS = ("description", "url", "venue_name", "venue_address", "venue_city", "lat", "lon", "group_name",
                "timezone", "end", "end_utc")


def with_merged(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of merged events completed from the other sources' listings, with every source named."""
    merged = store.members([r["id"] for r in rows if r.get("canonical_id") == r["id"]])
    if not merged:
        return rows
    out = []
    for row in rows:
        others = [m for m in merged.get(row["id"], ()) if not m.get("removed_at")]  # gone from its source
        if others:
            row = dict(row)
            for name in MERGE_FIELDS:
                if row.get(name) is None:
                    row[name] = next((m[name] for m in others if m.get(name) is not None), None)
            tags = json.loads(row["tags"]) if row.get("tags") else []
            for m in others:
                tags += [t for t in (json.loads(m["tags"]) if m.get("tags") else []) if t not in tags]
            row["tags"] = json.dumps(tags) if tags else None
            row["sources"] = json.dumps([row["source"], *sorted({m["source"] for m in others})])
        out.append(row)
    return out


def explain(store: Store, settings: Settings, row: dict[str, Any], *, now: datetime,
            extra_chances: ExtraChances | None = None) -> dict[str, Any]:
    """The full breakdown of one event's score (`aggregator why`): every contact with evidence listed."""
    ranked, snap = _rank(store, settings, [row], now=now, topic=None, extra_chances=extra_chances, every=True)
    if not ranked:
        return {"id": row["id"], "title": row["title"], "score": 0.0, "dropped": True,
                "reasons": ["dropped: it matches an excluded topic, or it is online and online events are off"]}
    [item] = ranked
    add_reasons(store, ranked, snap, settings)
    return rank.explanation(item, snap)


def why(store: Store, settings: Settings, ident: str, *, now: datetime) -> dict[str, Any]:
    """`aggregator why IDENT`: a stored event's breakdown, else a roll-up's; bad usage (exit 2) when
    neither is known (roll-ups are looked for only then: finding them ranks the coming months)."""
    try:
        row = store.find_event(ident)
    except AggregatorError as exc:
        rolled = find_roll_up(store, settings, ident, now=now)
        if rolled is None:
            raise UnknownName(str(exc)) from None
        return rolled
    return explain(store, settings, row, now=now)


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
