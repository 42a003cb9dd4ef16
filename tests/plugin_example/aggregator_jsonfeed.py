"""The `jsonfeed` kind: events from a JSON list (an example aggregator source plugin).

    [{"id": "42", "title": "Python night", "start": "2027-01-14T18:30:00-08:00",
      "end": "2027-01-14T20:30:00-08:00", "url": "https://example.org/42"}]

A start without a UTC offset is read in the `timezone` option (else the user's
zone); a bare date ("2027-01-14") is an all-day event. `max_events` caps how
many events one fetch keeps.
"""

from __future__ import annotations

import json
from datetime import date, datetime, tzinfo
from typing import ClassVar
from zoneinfo import ZoneInfo

from aggregator.errors import SourceError
from aggregator.model import Event
from aggregator.source import Context, HttpClient, OptionTypes, SourceSpec
from aggregator.text import clean_text, clean_url, safe_text


class JsonFeedSource:
    kind = "jsonfeed"  # must equal the entry-point name
    api_version = 1  # the aggregator.source.API_VERSION this kind was written for
    full_snapshot = True  # each fetch lists every upcoming event: a missing one has vanished
    options: ClassVar[OptionTypes] = {"timezone": str, "max_events": int}  # checked by config validation

    def collect(self, spec: SourceSpec, http: HttpClient, ctx: Context) -> list[Event]:
        zone = spec.options.get("timezone")
        try:
            reading_zone = ZoneInfo(zone) if zone else ctx.timezone
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise SourceError(f"unknown timezone {zone!r}; use an IANA name like Europe/Berlin") from None
        response = http.get(spec.url, accept="application/json")
        events = parse(response.content, response.url, ctx=ctx, zone=reading_zone)
        # The source's `group:`, bounded clean text and range checks are the pipeline's (aggregator.normalise).
        return events[: spec.options.get("max_events", 1000)]


def parse(data: bytes | str, url: str = "", *, ctx: Context, zone: tzinfo | None = None) -> list[Event]:
    """The events of one JSON list; a broken item is skipped with a warning."""
    try:
        items = json.loads(data)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
        raise SourceError(f"not a JSON list of events: {str(exc)[:100]}") from None
    if not isinstance(items, list):
        raise SourceError("not a JSON list of events: the top level is not a list")
    events = []
    for number, item in enumerate(items, 1):
        ctx.check_deadline()
        try:
            events.append(_event(item, zone or ctx.timezone))
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            ctx.warn(f"event {number}: {safe_text(exc, one_line=True)[:100]}; skipped")
    return events


def _event(item: dict, zone: tzinfo) -> Event:
    uid = safe_text(item.get("id") or "", one_line=True)[:200]
    title = clean_text(item.get("title"), one_line=True, limit=300)
    if not uid or not title:
        raise ValueError("no id or no title")
    start = _when(item.get("start"), zone)
    end = _when(item["end"], zone) if item.get("end") else None
    if end is not None and (type(end) is not type(start) or end <= start):
        end = None  # an end of another kind, or not after the start, is no end at all
    return Event(source_uid=uid, title=title, start=start, end=end, all_day=type(start) is date,
                 url=clean_url(item.get("url")), description=clean_text(item.get("description")))


def _when(value: object, zone: tzinfo) -> datetime | date:
    text = str(value or "")
    if len(text) == 10:
        return date.fromisoformat(text)
    when = datetime.fromisoformat(text)
    return when if when.utcoffset() is not None else when.replace(tzinfo=zone)
