"""The `confs_tech` kind: the tech-conferences conference-data JSON (confs.tech).

`https://raw.githubusercontent.com/tech-conferences/conference-data/main/conferences/<year>/<topic>.json`:
a list of {name, url, startDate, endDate (dates, inclusive), city, country,
online, cfpUrl, cfpEndDate, ...}; older files lack `online` and friends. The
file's topic becomes a tag; the CFP goes in the description.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

from aggregator.errors import SourceError
from aggregator.model import Event, Venue, stable_id
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text
from sources import _conference as conf


class ConfsTechSource:
    kind = "confs_tech"
    full_snapshot = True

    def collect(self, spec: SourceSpec, http, ctx: Context):
        response = http.get(spec.url, accept="application/json")
        return parse(response.content, response.url, ctx=ctx, topic=spec.options.get("topic"))


def topic_of(url: str) -> str | None:
    match = re.search(r"/(\d{4})/([^/]+)\.json$", urlsplit(url).path)
    return match.group(2).replace("-", " ") if match else None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, topic: str | None = None) -> list[Event]:
    items = conf.load_json(data, "not conference-data JSON", "unreadable")
    if not isinstance(items, list):
        raise SourceError("not conference-data JSON: expected a list of conferences")
    topic = topic or topic_of(base_url)
    events = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name, start = clean_text(item.get("name"), one_line=True, limit=300), _date(item.get("startDate"))
        if not name or start is None:
            ctx.warn(f"conference {str(item.get('name'))[:40]!r}: no name or start date; skipped")
            continue
        end = _date(item.get("endDate")) or start
        online = bool(item.get("online")) and not item.get("city")
        lines = []
        if item.get("cfpUrl"):
            cfp_end = f" (closes {item['cfpEndDate']})" if item.get("cfpEndDate") else ""
            lines.append(f"Call for papers{cfp_end}: {item['cfpUrl']}")
        if item.get("cocUrl"):
            lines.append(f"Code of conduct: {item['cocUrl']}")
        city, country = item.get("city"), item.get("country")
        events.append(Event(
            source_uid=stable_id(name, start.isoformat(), str(item.get("url") or "")),
            title=name, start=start, end=max(end, start) + timedelta(days=1), all_day=True,
            url=item.get("url") if str(item.get("url", "")).startswith("http") else None,
            venue=Venue(name=", ".join(p for p in (city, country) if p) or None, city=city),
            online=online or bool(item.get("online") and not city),
            group=name.rstrip(" 0123456789"), tags=(topic,) if topic else (),
            description="\n".join(lines) or None,
        ))
    ctx.count_input(sum(isinstance(item, dict) for item in items), len(events), "conferences")
    return events
