"""A schema.org series listed as one event -> its occurrences (eventSchedule, subEvent, EventSeries).

Read by `schemaorg.parse_page` for every event a page holds: a daily or weekly
`eventSchedule` is expanded inside the fetch window; an EventSeries or an event listing
its parts, or one spanning months, is not shown as one event.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from aggregator import timezones
from aggregator.model import Event
from aggregator.source import Context
from sources.schemaorg import first, text_of, type_names, walk_events

LONG = timedelta(days=3)  # a span beyond which a marked series is not one event
MAX_OCCURRENCES = 400
_DAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
         "mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
_PERIOD = re.compile(r"^P(\d{1,3})([DW])$", re.I)


def _sub_events(obj: dict) -> list[dict]:
    """The Event objects an event lists as its parts (subEvent), when any has a start."""
    parts = [part for key in ("subEvent", "subEvents") for part in walk_events(obj.get(key))]
    return [part for part in parts if part is not obj and text_of(part.get("startDate"))]


def occurrences(obj: dict, event: Event, ctx: Context, series_after: timedelta | None = None) -> list[Event]:
    """The event, or the occurrences of a series listed as one event.

    An `eventSchedule` (daily or weekly, schema.org Schedule) is expanded inside `ctx.window`.
    Otherwise a series is an EventSeries, an event listing its parts (`subEvent`), or (with
    `series_after`) any event spanning longer than that, whose span from first start to last
    end is over `LONG`: shown as one it would sit in the feed for months. Its listed parts
    stand for it (they are read on their own); without them its first occurrence is kept,
    ending at the listed end's time of day, with a warning. A festival of a few days that
    lists its gigs stays an event beside them."""
    scheduled = _scheduled(obj, event, ctx)
    if scheduled is not None:
        return scheduled
    span = (event.end - event.start) if event.end is not None else timedelta(0)
    parts = _sub_events(obj)
    marked = "eventseries" in type_names(obj) or parts
    if span <= LONG or not (marked or (series_after is not None and span > series_after)):
        return [event]
    if parts:
        return []
    ctx.warn(f"{event.title[:60]!r} runs from {event.start:%Y-%m-%d} to {event.end:%Y-%m-%d} and looks like a "
             f"series whose dates the page does not list; only its first occurrence is kept")
    return [event.replace(end=_first_end(event))]


def _first_end(event: Event) -> datetime | date | None:
    """The end of a series' first occurrence: the listed end's time of day on the first day
    (the next day for a night past midnight), or None when it cannot be told."""
    start, end = event.start, event.end
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return start + timedelta(days=1) if event.all_day else None
    local_end = end.astimezone(start.tzinfo)
    candidate = start.replace(hour=local_end.hour, minute=local_end.minute, second=0, microsecond=0)
    if candidate <= start:
        candidate += timedelta(days=1)
    return candidate if candidate - start <= timedelta(hours=18) else None


def _scheduled(obj: dict, event: Event, ctx: Context) -> list[Event] | None:
    """The occurrences a daily or weekly schema.org `eventSchedule` gives inside the fetch window,
    or None when there is no schedule this reads (none, monthly, no timed start)."""
    schedule = first(obj.get("eventSchedule"))
    rhythm = _rhythm(schedule.get("repeatFrequency")) if isinstance(schedule, dict) else None
    if rhythm is None or not isinstance(event.start, datetime):
        return None
    ctx.check_deadline()  # up to a thousand days walked per schedule: a page of many is held to the budget
    interval, unit = rhythm
    zone = timezones.zone(timezones.iana_name(text_of(schedule.get("scheduleTimezone")) or "") or "") \
        or event.start.tzinfo
    local_start = event.start.astimezone(zone)
    first_day = _day(schedule.get("startDate")) or local_start.date()
    # the schedule's end, else the event's when it spans the series (not when it is the first night's)
    series_end = event.end if event.end is not None and event.end - event.start > timedelta(days=1) else None
    last_day = _day(schedule.get("endDate")) or (series_end.astimezone(zone).date() if series_end else None)
    clock = _clock(schedule.get("startTime")) or local_start.time().replace(second=0, microsecond=0)
    first_start = datetime.combine(first_day, clock, tzinfo=zone)
    end_clock = _clock(schedule.get("endTime"))
    first_end = (datetime.combine(first_day, end_clock, tzinfo=zone) if end_clock
                 else _first_end(event.replace(start=first_start)))
    if first_end is not None and first_end <= first_start:
        first_end += timedelta(days=1)
    length = first_end - first_start if first_end is not None else None
    weekdays = _weekdays(schedule.get("byDay")) or {first_day.weekday()}
    window_start, window_end = ctx.window
    found: list[Event] = []
    day = max(first_day, window_start.astimezone(zone).date())
    while (last_day is None or day <= last_day) and len(found) < MAX_OCCURRENCES:
        starts = datetime.combine(day, clock, tzinfo=zone)
        if starts > window_end:
            break
        offset = (day - first_day).days
        due = offset % interval == 0 if unit == "D" else day.weekday() in weekdays and (offset // 7) % interval == 0
        if due and starts >= window_start:
            found.append(event.replace(source_uid=f"{event.source_uid}#{day.isoformat()}", start=starts,
                                       end=starts + length if length else None,
                                       timezone=getattr(zone, "key", None) or event.timezone))
        day += timedelta(days=1)
    return found


def _weekdays(value: Any) -> set[int]:
    """Weekday numbers (Monday 0) from a Schedule's byDay: "https://schema.org/Thursday", "Thursday", "TH"."""
    days = value if isinstance(value, list) else [value]
    return {_DAYS[name] for name in (str(text_of(d) or "").rsplit("/", 1)[-1].lower() for d in days) if name in _DAYS}


def _rhythm(value: Any) -> tuple[int, str] | None:
    """(interval, "D" or "W") from a Schedule's repeatFrequency: "P1W", "P2D", "weekly", "daily"."""
    text = str(text_of(value) or "").strip()
    text = {"daily": "P1D", "weekly": "P1W"}.get(text.lower(), text)
    match = _PERIOD.match(text)
    if match is None or int(match.group(1)) < 1:
        return None
    return int(match.group(1)), match.group(2).upper()


def _day(value: Any) -> date | None:
    text = text_of(value)
    try:
        return date.fromisoformat(text.strip()[:10]) if text else None
    except ValueError:
        return None


def _clock(value: Any) -> time | None:
    text = text_of(value)
    match = re.match(r"^\s*T?(\d{1,2}):(\d{2})", text or "")
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return time(int(match.group(1)), int(match.group(2)))
