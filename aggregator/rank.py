"""Order upcoming events for one person, and say why.

Today: topic relevance (FTS5 over title, description, group and tags against
the profile's weighted topics; excluded topics drop an event), then start
time. The social part (which contacts tend to attend) plugs in here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.config import Settings
from aggregator.model import Event
from aggregator.store import Store, parse_utc, row_event


@dataclass
class Ranked:
    id: str
    event: Event
    row: dict[str, Any]
    score: float
    topics: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def start_utc(self) -> datetime:
        return parse_utc(self.row["start_utc"])


def topic_relevance(matches: dict[str, dict[str, float]], event_id: str, topics: dict[str, float]) -> tuple[float, list[str]]:
    """Sum of the weights of the profile topics an event matches, best match first.

    `matches[topic][event_id]` is FTS5's bm25 (more negative is better); a
    stronger match earns up to half its weight again.
    """
    score, found = 0.0, []
    for topic, weight in topics.items():
        bm25 = matches.get(topic, {}).get(event_id)
        if bm25 is None:
            continue
        strength = min(1.0, max(0.0, -bm25) / 10.0)
        score += weight * (1.0 + 0.5 * strength)
        found.append((weight, topic))
    return score, [t for _, t in sorted(found, key=lambda x: (-x[0], x[1]))]


def upcoming(
    store: Store,
    settings: Settings,
    *,
    now: datetime,
    days: int = 30,
    limit: int = 20,
    topic: str | None = None,
    sort: str = "score",
    include_cancelled: bool = False,
) -> list[Ranked]:
    """Ranked upcoming events between now and `days` ahead (`limit` 0 means all)."""
    rows = store.event_rows(start=now, end=now + timedelta(days=days), include_cancelled=include_cancelled)
    ranked = rank_rows(store, settings, rows, now=now, topic=topic)
    if sort == "start":
        ranked.sort(key=lambda r: (r.row["start_utc"], -r.score, r.id))
    return ranked[:limit] if limit else ranked


def rank_rows(store: Store, settings: Settings, rows: list[dict[str, Any]], *, now: datetime,
              topic: str | None = None) -> list[Ranked]:
    """Score stored event rows for the profile, best first; excluded topics dropped."""
    if not rows:
        return []
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
    attendees = store.attendees(ids)
    ranked: list[Ranked] = []
    for row in rows:
        if row["id"] in excluded:
            continue
        if wanted and row["id"] not in matches[wanted]:
            continue
        score, found = topic_relevance(matches, row["id"], topics)
        reasons = [f"topic: {', '.join(found)}"] if found else []
        event = row_event(row, attendees.get(row["id"], ()))
        ranked.append(Ranked(
            id=row["id"], event=event, row=row, score=round(score, 3), topics=found, reasons=reasons,
            sources=[row["source"]],
        ))
    ranked.sort(key=lambda r: (-r.score, r.row["start_utc"], r.id))
    return ranked


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
