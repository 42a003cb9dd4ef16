"""Order events for one person by their topics and by where their people will be, and say why.

    score = topic part x (1 + sum over contacts of weight x P(contact attends)) x distance factor

- topic part: TOPIC_BASE + the weights of the profile topics the event matches
  (FTS5 over title, description, group, tags; a stronger bm25 match earns up to
  half a weight more). An event matching an excluded topic is dropped. The base
  lets your people lift an event that matches no topic.
- P(contact attends): 1 for a known RSVP (0.5 for "maybe"); otherwise
  predicted: the contact's recency-weighted attendance rate over the group's
  past events whose attendees are known, shrunk toward a small prior, so
  4 of the last 5 is likely and once, two years ago, is not.
- weight: the contact's weight, times OVERDUE_BOOST when you have not caught up
  with them for longer than their cadence (profile.reconnect_after_days).
- distance: 1 inside home.radius_km (or when the event has no coordinates),
  falling off as radius/distance beyond; online-only events ONLINE_FACTOR, or
  dropped when profile.include_online is false.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.config import Settings
from aggregator.geo import haversine_km
from aggregator.model import Event
from aggregator.store import Store, parse_utc, row_event

TOPIC_BASE = 0.25
HALF_LIFE_DAYS = 180.0
PRIOR = 0.02
PRIOR_STRENGTH = 1.0
OVERDUE_BOOST = 1.5
ONLINE_FACTOR = 0.8
MIN_LISTED = 0.05
STRENGTH_BONUS = 0.5  # how much more a strong full-text match counts than a mere mention
RSVP_PROBABILITY = {"going": 1.0, "attended": 1.0, "maybe": 0.5, "declined": 0.0}


@dataclass
class ContactChance:
    contact_id: int
    name: str
    probability: float
    evidence: str  # rsvp | predicted
    overdue: bool = False
    days_since: int | None = None  # since the last catch-up; None when never logged
    hits: int = 0


@dataclass
class Ranked:
    id: str
    event: Event
    row: dict[str, Any]
    score: float
    topics: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    chances: list[ContactChance] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    topic_part: float = 0.0
    social_part: float = 1.0
    distance_factor: float = 1.0
    distance_km: float | None = None

    @property
    def contacts(self) -> list[dict[str, Any]]:
        return [{"name": c.name, "probability": round(c.probability, 3), "evidence": c.evidence,
                 "contact_id": c.contact_id} for c in self.chances if c.probability >= MIN_LISTED]

    def start_utc(self) -> datetime:
        return parse_utc(self.row["start_utc"])


# -- the pieces, pure ----------------------------------------------------------
def topic_relevance(matches: dict[str, dict[str, float]], event_id: str, topics: dict[str, float]) -> tuple[float, list[str]]:
    """Sum of the weights of the profile topics an event matches, best match first.

    `matches[topic][event_id]` is FTS5's bm25 (more negative is better).
    """
    score, found = 0.0, []
    for topic, weight in topics.items():
        bm25 = matches.get(topic, {}).get(event_id)
        if bm25 is None:
            continue
        strength = min(1.0, max(0.0, -bm25) / 10.0)
        score += weight * (1.0 + STRENGTH_BONUS * strength)
        found.append((weight, topic))
    return score, [t for _, t in sorted(found, key=lambda x: (-x[0], x[1]))]


def predicted_probability(weighted_hits: float, weighted_events: float) -> float:
    """Recency-weighted attendance rate, shrunk toward PRIOR by PRIOR_STRENGTH pseudo-events."""
    return (weighted_hits + PRIOR * PRIOR_STRENGTH) / (weighted_events + PRIOR_STRENGTH)


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


def months(days: int) -> str:
    m = round(days / 30.4)
    return f"{m} months" if m >= 2 else f"{days} days"


# -- ranking over the store ----------------------------------------------------
def group_key(row: dict[str, Any]) -> str:
    return row.get("group_name") or f"source:{row['source']}"


def upcoming(store: Store, settings: Settings, *, now: datetime, days: int = 30, limit: int = 20,
             topic: str | None = None, sort: str = "score", include_cancelled: bool = False) -> list[Ranked]:
    """Ranked upcoming events between now and `days` ahead (`limit` 0 means all)."""
    rows = store.event_rows(start=now, end=now + timedelta(days=days), include_cancelled=include_cancelled)
    ranked = rank_rows(store, settings, rows, now=now, topic=topic, explain=False)
    if sort == "start":
        ranked.sort(key=lambda r: (r.row["start_utc"], -r.score, r.id))
    shown = ranked[:limit] if limit else ranked
    add_reasons(store, settings, shown, now)
    return shown


def add_reasons(store: Store, settings: Settings, items: list[Ranked], now: datetime) -> None:
    """Fill in each item's reasons (they cost queries: only for what is shown)."""
    if items:
        social = SocialModel(store, settings, [i.row for i in items], now)
        for item in items:
            item.reasons = reasons(item, social, settings)


def rank_rows(store: Store, settings: Settings, rows: list[dict[str, Any]], *, now: datetime,
              topic: str | None = None, explain: bool = True) -> list[Ranked]:
    """Score stored event rows for the profile, best first; excluded topics dropped."""
    if not rows:
        return []
    ensure_rates(store, settings, now)
    rows = with_merged(store, rows)
    profile = settings.profile
    topics = dict(profile.topics)
    wanted = topic.strip().lower() if topic else None
    if wanted and wanted not in topics:
        topics[wanted] = 1.0
    ids = [r["id"] for r in rows]
    matches = {t: store.topic_matches(t, ids) for t in topics}
    excluded: set[str] = set()
    for bad in profile.exclude_topics:
        excluded.update(store.topic_matches(bad, ids))
    attendance = store.attendees(ids)
    social = SocialModel(store, settings, rows, now)
    ranked: list[Ranked] = []
    for row in rows:
        if row["id"] in excluded or (wanted and row["id"] not in matches[wanted]):
            continue
        event = row_event(row, attendance.get(row["id"], ()))
        factor, km = distance_factor(event, settings)
        if factor == 0.0:
            continue
        relevance, found = topic_relevance(matches, row["id"], topics)
        chances = social.chances(row, attendance.get(row["id"], ()))
        social_part = 1.0 + sum(social.weight(c) * c.probability for c in chances)
        topic_part = TOPIC_BASE + relevance
        item = Ranked(
            id=row["id"], event=event, row=row, score=round(topic_part * social_part * factor, 3),
            topics=found, chances=chances, sources=json.loads(row["sources"]) if row.get("sources") else [row["source"]],
            topic_part=topic_part, social_part=social_part, distance_factor=factor, distance_km=km,
        )
        ranked.append(item)
    ranked.sort(key=lambda r: (-r.score, r.row["start_utc"], r.id))
    if explain:
        for item in ranked:
            item.reasons = reasons(item, social, settings)
    return ranked


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


def ensure_rates(store: Store, settings: Settings, now: datetime) -> None:
    if store.rates_stale():
        store.rebuild_rates(now, HALF_LIFE_DAYS)


class SocialModel:
    """Who is likely at an event: RSVPs first, then each contact's history with the group."""

    def __init__(self, store: Store, settings: Settings, rows: list[dict[str, Any]], now: datetime):
        self.store = store
        self.now = now
        self.today = now.astimezone(settings.timezone).date()
        self.cadence = settings.profile.reconnect_after_days
        groups = sorted({group_key(r) for r in rows})
        # Only contacts who can reach MIN_LISTED: p >= m  <=>  hits >= m x total + (m - PRIOR) x strength
        floor = (MIN_LISTED, (MIN_LISTED - PRIOR) * PRIOR_STRENGTH)
        self.totals, self.rates = store.group_rates(groups, min_hits=floor)
        self._predicted: dict[str, list[tuple[int, float, int]]] = {}
        self._contacts: dict[int, dict[str, Any]] | None = None
        self._recent: dict[str, list[str]] = {}
        self._people: dict[int, tuple[str, bool, int | None]] = {}

    @property
    def contacts(self) -> dict[int, dict[str, Any]]:
        if self._contacts is None:
            self._contacts = {c["id"]: c for c in self.store.contact_rows()}
        return self._contacts

    def chances(self, row: dict[str, Any], attendance: list[dict[str, Any]]) -> list[ContactChance]:
        found: dict[int, ContactChance] = {}
        for a in attendance:
            cid = a.get("contact_id")
            if cid is None or cid in found or a.get("status") not in RSVP_PROBABILITY:
                continue
            found[cid] = self._chance(cid, RSVP_PROBABILITY[a["status"]], "rsvp")
        for cid, p, hits in self.predicted(group_key(row)):
            if cid not in found:
                found[cid] = self._chance(cid, p, "predicted", hits)
        return sorted((c for c in found.values() if c.probability > 0), key=lambda c: (-c.probability, c.name))

    def predicted(self, g: str) -> list[tuple[int, float, int]]:
        """(contact, probability, hits) of everyone likely enough at the group's events (cached per group)."""
        if g not in self._predicted:
            total = self.totals.get(g, 0.0)
            self._predicted[g] = [(cid, p, hits) for cid, weighted, hits in self.rates.get(g, ())
                                  if (p := predicted_probability(weighted, total)) >= MIN_LISTED]
        return self._predicted[g]

    def _chance(self, cid: int, p: float, evidence: str, hits: int = 0) -> ContactChance:
        name, overdue, days = self._who(cid)
        return ContactChance(cid, name, p, evidence, overdue, days, hits)

    def _who(self, cid: int) -> tuple[str, bool, int | None]:
        """(name, overdue, days since the last catch-up), computed once per contact."""
        if cid not in self._people:
            contact = self.contacts.get(cid, {})
            cadence = contact.get("cadence_days") or self.cadence
            overdue, days = catch_up_state(contact.get("last_contacted"), cadence, self.today)
            self._people[cid] = (contact.get("name") or f"contact {cid}", overdue, days)
        return self._people[cid]

    def recent_history(self, row: dict[str, Any], contact_id: int, last: int = 5) -> tuple[int, int]:
        """(attended, of) the group's last `last` past events with known attendees."""
        g = group_key(row)
        if g not in self._recent:
            self._recent[g] = self.store.recent_observed(g, self.now, last)
        events = self._recent[g]
        return self.store.attended_count(contact_id, events), len(events)

    def weight(self, chance: ContactChance) -> float:
        base = self.contacts.get(chance.contact_id, {}).get("weight") or 1.0
        return base * (OVERDUE_BOOST if chance.overdue else 1.0)


def reasons(item: Ranked, social: SocialModel, settings: Settings, most: int = 3) -> list[str]:
    """Sentences a person reads: topics, who RSVPed, who tends to come, who is overdue, where."""
    out = []
    if item.topics:
        out.append("topic: " + ", ".join(item.topics))
    group = item.event.group or "this series"
    for c in [c for c in item.chances if c.probability >= 0.2][:most]:
        if c.evidence == "rsvp":
            out.append(f"{c.name} RSVPed" + (" (maybe)" if c.probability < 1 else ""))
        else:
            hits, n = social.recent_history(item.row, c.contact_id)
            history = f"came to {hits} of the last {n} {group} events" if n else f"has come to {group} before"
            out.append(f"{c.name} {history} (predicted {round(c.probability * 100)}% likely)")
    for c in [c for c in item.chances if c.overdue and c.probability >= 0.2][:most]:
        if c.days_since is None:
            out.append(f"you have not logged a catch-up with {c.name} yet")
        else:
            out.append(f"you have not caught up with {c.name} in {months(c.days_since)}")
    if item.event.online and item.distance_km is None:
        out.append("online")
    elif item.distance_km is not None and settings.profile.home is not None:
        out.append(f"{item.distance_km:.0f} km from home")
    return out


# -- presentation shared by the CLI, the feed and the server ---------------
def local_time(value: datetime | date, tz_name: str | None, default: ZoneInfo) -> datetime | date:
    if not isinstance(value, datetime):
        return value
    zone = default
    if tz_name:
        try:
            zone = ZoneInfo(tz_name)
        except Exception:
            zone = default
    return value.astimezone(zone)


def as_json(item: Ranked, default_tz: ZoneInfo) -> dict[str, Any]:
    """The `upcoming --json` shape of CONTRACT.md."""
    e = item.event
    start = local_time(e.start, e.timezone, default_tz)
    end = local_time(e.effective_end(), e.timezone, default_tz)
    text = (lambda v: v.isoformat() if e.all_day else v.isoformat(timespec="seconds"))
    return {
        "id": item.id,
        "title": e.title,
        "start": text(start),
        "end": text(end),
        "all_day": e.all_day,
        "timezone": e.timezone or (None if e.all_day else default_tz.key),
        "url": e.url,
        "location": e.venue.label(),
        "online": e.online,
        "group": e.group,
        "sources": item.sources,
        "status": e.status,
        "score": item.score,
        "reasons": item.reasons,
        "contacts": item.contacts,
        "tags": list(e.tags),
        "description": e.description,
    }


def dumps(items: list[Ranked], default_tz: ZoneInfo) -> str:
    return json.dumps([as_json(i, default_tz) for i in items], ensure_ascii=False, indent=2)


def explain(store: Store, settings: Settings, row: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The full breakdown of one event's score (`aggregator why`)."""
    [item] = rank_rows(store, settings, [row], now=now) or [None]
    if item is None:
        return {"id": row["id"], "title": row["title"], "score": 0.0, "dropped": True,
                "reasons": ["dropped: it matches an excluded topic, or it is online and online events are off"]}
    social = SocialModel(store, settings, [row], now)
    contacts = []
    for c in item.chances:
        hits, n = social.recent_history(row, c.contact_id)
        contacts.append({
            "name": c.name, "contact_id": c.contact_id, "probability": round(c.probability, 3),
            "evidence": c.evidence, "weight": round(social.weight(c), 3), "overdue": c.overdue,
            "days_since_catch_up": c.days_since, "recent": {"attended": hits, "of": n},
        })
    return {
        "id": item.id, "title": item.event.title, "group": item.event.group, "sources": item.sources,
        "score": item.score,
        "formula": "topic part x social part x distance factor",
        "topic_part": {"value": round(item.topic_part, 3), "base": TOPIC_BASE,
                       "topics": {t: settings.profile.topics.get(t, 1.0) for t in item.topics}},
        "social_part": {"value": round(item.social_part, 3), "contacts": contacts},
        "distance_factor": {"value": round(item.distance_factor, 3),
                            "km_from_home": round(item.distance_km, 1) if item.distance_km is not None else None,
                            "online": item.event.online},
        "reasons": item.reasons,
    }
