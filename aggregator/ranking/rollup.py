"""A conference's talks do not flood the listings: its other talks become one entry per day.

A conference is the events of a `schedule` or `sessionize` source with one group
(the conference title). Its talks where one of your people has explicit evidence
(speaker, host, RSVP, your log, a mention) or one of your topics matches stay
listed on their own. The rest of each conference day (the local date of the talk's
start) become one roll-up, when there are ROLL_FROM (4) or more of them (three
talks do not flood a listing, and each keeps its own title and link):

    title       "<Conference> — <n> more talks"
    start, end  the first rolled talk's start, the last rolled talk's end
    description a few of the rolled talks, then the highlighted talks of that day
    id          stable_id("rollup", source, conference, local date): the feed's UID stays
    score       the best rolled talk's score
    sources     the conference source

Pure: ranked items in, ranked items out, best first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.config import Settings
from aggregator.model import Event, StoredEvent, stable_id
from aggregator.present import local_time
from aggregator.ranking.score import EXPLICIT, Ranked

CONFERENCE_KINDS = {"schedule", "sessionize"}
ROLL_FROM = 4  # a conference day's other talks are rolled up when there are this many or more
NAMED = 5  # rolled talks a roll-up's description names
SEARCH_DAYS = 400  # how far ahead `why <roll-up id>` looks


def conference_sources(settings: Settings) -> set[str]:
    """The names of the configured sources whose events are a conference's talks."""
    return {spec.name for spec in settings.sources if spec.kind in CONFERENCE_KINDS}


def stands_out(item: Ranked) -> bool:
    """A talk listed on its own: your topics match, or one of your people has explicit evidence."""
    return bool(item.topics) or any(c.evidence in EXPLICIT for c in item.chances)


def day_of(item: Ranked, zone: ZoneInfo) -> date:
    moment = local_time(item.event.start, item.event.timezone, zone)
    return moment.date() if isinstance(moment, datetime) else moment


def roll_up(items: list[Ranked], conference_sources: set[str], zone: ZoneInfo) -> list[Ranked]:
    """`items` with each conference day's unremarkable talks rolled into one entry, best first."""
    days: dict[tuple[str, str, date], list[Ranked]] = defaultdict(list)
    for item in items:
        source = item.stored.source
        if source in conference_sources and not item.stored.gone:
            days[(source, item.event.group or "", day_of(item, zone))].append(item)
    rolled_ids: set[str] = set()
    entries = []
    for (source, conference, day), talks in days.items():
        rest = [t for t in talks if not stands_out(t)]
        if len(rest) < ROLL_FROM:
            continue
        rolled_ids.update(t.id for t in rest)
        entries.append(_entry(source, conference or source, day, rest, [t for t in talks if stands_out(t)]))
    out = [i for i in items if i.id not in rolled_ids] + entries
    out.sort(key=lambda r: (-r.score, r.start_utc(), r.id))
    return out


def _entry(source: str, conference: str, day: date, rest: list[Ranked], highlighted: list[Ranked]) -> Ranked:
    by_start = sorted(rest, key=lambda t: (t.start_utc(), t.id))
    first, best = by_start[0], max(rest, key=lambda t: (t.score, t.id))
    last = max(rest, key=lambda t: (t.stored.end_utc or t.start_utc(), t.id))
    ident = stable_id("rollup", source, conference, day.isoformat())
    title = f"{conference} — {len(rest)} more talks"
    event = Event(source_uid=ident, title=title, start=first.event.start, end=last.event.effective_end(),
                  all_day=first.event.all_day, timezone=first.event.timezone,
                  description=description(by_start, highlighted), url=None, venue=first.event.venue,
                  online=all(t.event.online for t in rest), group=conference)
    stored = StoredEvent(
        id=ident, source=source, event=event, start_utc=first.start_utc(), end_utc=last.stored.end_utc,
        content_hash="", sequence=0, first_seen=min(t.stored.first_seen for t in rest),
        last_seen=max(t.stored.last_seen for t in rest), updated_at=max(t.stored.updated_at for t in rest))
    reason = f"{len(rest)} more talks of {conference} on {day.isoformat()}, rolled into one; the best: " \
             f"{best.event.title}"
    return replace(best, id=ident, event=event, stored=stored, reasons=[reason], chances=[], sources=[source],
                   evidence=([], []), rolled=by_start)


def description(rolled: list[Ranked], highlighted: list[Ranked]) -> str:
    names = [t.event.title for t in rolled[:NAMED]]
    more = len(rolled) - len(names)
    lines = ["Also on the programme: " + "; ".join(names) + (f"; and {more} more." if more else ".")]
    if highlighted:
        lines.append("Listed on their own this day: " + "; ".join(t.event.title for t in highlighted) + ".")
    return "\n".join(lines)


def explanation(item: Ranked, detail: dict[str, Any]) -> dict[str, Any]:
    """`why` for a roll-up: the best talk's breakdown, said to be a roll-up, with its talks named."""
    detail = dict(detail)
    detail["rolled_up"] = {"count": len(item.rolled),
                           "talks": [{"id": t.id, "title": t.event.title, "score": t.score} for t in item.rolled]}
    detail["reasons"] = [f"a roll-up of {len(item.rolled)} talks; its score is its best talk's",
                         *item.reasons]
    return detail
