"""Series handling for the `ics` kind: which copy of an event counts, private names for
a feed's own time zones, and bounded expansion of recurring series inside the window.

Caps: a series yields at most SERIES_CAP occurrences inside the window and a source at
most SOURCE_CAP; a real meetup feed (weekly events, a few hundred series) stays far below
both, while a `FREQ=MINUTELY` series with no end would otherwise yield 525,600 a year.
A capped series keeps the occurrences nearest to now, as the pipeline keeps a source's
(aggregator/pipeline.py, NearestEvents), upcoming ones first: its next ones, and the most
recent past ones for at most one in PAST_SHARE of the cap (more when fewer are upcoming).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

import recurring_ical_events
from icalendar.prop import vDDDTypes, vRecur
from recurring_ical_events.util import time_span_contains_event

from sources.ics_text import Component, split_line

SERIES_CAP = 1_000
SOURCE_CAP = 20_000
PAST_SHARE = 4  # a capped series keeps past occurrences for at most 1 in 4 of its cap while more are upcoming
SINGLE_EVENTS_UNTIL = datetime(9000, 1, 1, tzinfo=timezone.utc)  # no window end for a single event
UTC = timezone.utc


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence as recurring-ical-events finds it, without the copy of its VEVENT
    that `between()` would build for each (the copy was most of a large feed's ingest time).

    `source` is the VEVENT it repeats, `recurrence_id` that VEVENT's own RECURRENCE-ID
    property or None, `end` the end recurring-ical-events computes (DTEND, DTSTART+DURATION
    or its default).
    """

    start: date | datetime
    end: date | datetime
    source: object
    recurrence_id: object


class _OccurrenceQuery(recurring_ical_events.CalendarQuery):
    """`between()` answers with recurring-ical-events' own occurrence objects, uncopied."""

    def _occurrences_to_components(self, found):
        return [_occurrence(o, self.keep_recurrence_attributes) for o in found]


def _occurrence(found, keep_recurrence_attributes: bool) -> Occurrence:
    source = getattr(getattr(found, "_adapter", None), "_component", None)
    if source is None:  # a recurring-ical-events without the attribute: pay for the copy,
        # whose RECURRENCE-ID (its own, or its start) reads the same way downstream
        source = found.as_component(keep_recurrence_attributes)
    return Occurrence(found.start, found.end, source, source.get("RECURRENCE-ID"))


@dataclass
class Budget:
    """Occurrences a source may still yield (SOURCE_CAP), shared by its series."""

    left: int = field(default_factory=lambda: SOURCE_CAP)
    warned: bool = False


def latest_versions(blocks: list[Component]) -> list[Component]:
    """One copy per (UID, RECURRENCE-ID): the highest SEQUENCE, then the latest DTSTAMP/LAST-MODIFIED.

    Copies that carry the same version marks (or none) are taken as unrelated events
    that reuse a UID, and all are kept.
    """
    groups: dict[str, list[Component]] = {}
    for block in blocks:
        rid = (block.value("RECURRENCE-ID") or "").strip()
        groups.setdefault(rid, []).append(block)
    kept: list[Component] = []
    for copies in groups.values():
        if len(copies) == 1:
            kept.extend(copies)
            continue
        marks = [_version(b) for b in copies]
        if len(set(marks)) == 1:
            kept.extend(copies)
        else:
            newest = max(range(len(copies)), key=lambda i: (marks[i], i))  # a tie: the later copy
            kept.append(copies[newest])
    return kept


def _version(block: Component) -> tuple[int, str]:
    try:
        sequence = int((block.value("SEQUENCE") or "0").strip())
    except ValueError:
        sequence = 0
    stamp = max((block.value(p) or "").strip().rstrip("Z") for p in ("DTSTAMP", "LAST-MODIFIED"))
    return sequence, stamp


def private_tzid(tzid: str, definition: Component) -> str:
    """A name for a feed's own VTIMEZONE that no feed with other rules shares.

    icalendar caches zones built from VTIMEZONEs per process by TZID, first come first
    served: a feed defining "Customized Time Zone" one way would set the rules for every
    later feed using that TZID. Naming the zone after its rules keeps feeds apart.
    """
    rules = "\n".join(line for line in definition.lines if not line.startswith(("TZID", "LAST-MODIFIED", "TZURL")))
    digest = hashlib.sha1(rules.encode("utf-8", "replace")).hexdigest()[:16]
    return f"aggregator-{digest}-{re.sub(r'[^A-Za-z0-9_-]+', '_', tzid)[:40]}"


def rename_tzid(definition: Component, new_tzid: str) -> list[str]:
    return [f"TZID:{new_tzid}" if split_line(line)[0] == "TZID" else line for line in definition.lines]


# For series faster than daily, the window is read in growing slices that start this short,
# so that an endless FREQ=MINUTELY series never builds more than a slice's occurrences.
FIRST_SLICE = {"SECONDLY": timedelta(minutes=10), "MINUTELY": timedelta(hours=6), "HOURLY": timedelta(days=10)}
_FREQ = re.compile(r"FREQ=(SECONDLY|MINUTELY|HOURLY)", re.I)
_WALKED_FREQ = re.compile(r"FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY)", re.I)
_STEP = {"SECONDLY": timedelta(seconds=1), "MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1),
         "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}
_INTERVAL = re.compile(r"INTERVAL=(\d{1,9})", re.I)
_COUNT = re.compile(r"COUNT=(\d{1,12})", re.I)
# A floating time is read in a zone only later: its place on the UTC line is known to within this.
_FLOATING_SLACK = timedelta(days=1)


def first_slice(rrules: list[str], window: tuple[datetime, datetime]) -> timedelta:
    spans = [FIRST_SLICE[m.group(1).upper()] for rule in rrules for m in [_FREQ.search(rule)] if m]
    return min(spans) if spans else window[1] - window[0]


def fast_forward(master, window_start: datetime):
    """A series, its DTSTART moved on by whole periods of its rule to just before the window;
    `master` itself when that changes nothing or cannot be done exactly.

    dateutil walks a rule from its DTSTART, one occurrence at a time and keeping each: an endless
    FREQ=MINUTELY series begun ten years ago costs five million steps before the window opens, a
    weekly one begun in 1998 some 1,500 (a feed holding hundreds of those pays for each). A whole
    number of periods later (INTERVAL times a second, minute, hour, day or week) the rule yields
    the same instants: dateutil steps those frequencies in wall-clock time, keeps DTSTART's
    weekday, hour, minute and second as the defaults of the BY* parts, and every BY* part names
    absolute calendar values. COUNT counts from the first DTSTART: a lone rule without BY* parts
    yields one instance a period, so its COUNT goes down by the periods skipped; a counted rule
    with BY* parts is left alone, as is a month or a year (no fixed length). The moved DTSTART,
    always an occurrence for recurring-ical-events, ends before the window opens.
    """
    if master is None or "DTSTART" not in master or any(p in master for p in ("RDATE", "EXRULE")):
        return master
    adapter = recurring_ical_events.EventAdapter(master)
    rules = list(adapter.rrules)
    steps = [_rule_step(rule) for rule in rules]
    start = adapter.start
    if not rules or None in steps or start != master["DTSTART"].dt:
        return master  # no rule, a rule that must be walked, or an end before the start
    step = max(steps)
    timed = isinstance(start, datetime)
    if any(step % other for other in steps) or (not timed and step % timedelta(days=1)):
        return master  # several rules on different grids, or hours on a date: not worth it
    if timed and start.tzinfo is not None:
        local, slack = window_start.astimezone(start.tzinfo).replace(tzinfo=None), timedelta(0)
    else:  # floating or a date: placed in a zone only later
        local, slack = window_start.astimezone(UTC).replace(tzinfo=None), _FLOATING_SLACK
    base = start.replace(tzinfo=None) if timed else datetime(start.year, start.month, start.day)
    gap = local - (adapter.end - start) - step - slack - base
    if gap < _FLOATING_SLACK:
        return master  # little to skip
    periods = gap // step
    counted = _COUNT.search(rules[0])
    if any(map(_COUNT.search, rules[1:])) or (counted and len(rules) > 1):
        return master  # counted rules together: left alone
    if counted and int(counted.group(1)) <= periods:
        return master  # ended before the window: the walk is that of its instances
    moved = start + periods * step  # wall-clock arithmetic in the same tzinfo, as dateutil counts
    shifted = master.copy()
    if counted:
        left = f"COUNT={int(counted.group(1)) - periods}"
        shifted["RRULE"] = vRecur.from_ical(rules[0][:counted.start()] + left + rules[0][counted.end():])
    shifted["DTSTART"] = vDDDTypes(moved)
    if "DTEND" in master:
        shifted["DTEND"] = vDDDTypes(moved + (adapter.end - start))
    return shifted


def _rule_step(rule: str) -> timedelta | None:
    """The rule's period (INTERVAL times its FREQ) when it is weekly or faster, and has no COUNT
    or no BY* part (then each period is one instance)."""
    freq = _WALKED_FREQ.search(rule)
    if not freq or ("COUNT=" in rule.upper() and "BY" in rule.upper()):
        return None
    interval = _INTERVAL.search(rule)
    return _STEP[freq.group(1).upper()] * max(1, int(interval.group(1)) if interval else 1)


def earliest_start(components: list, window_start: datetime) -> datetime:
    """Where to begin reading a series: the window's start, or its first possible occurrence
    (the earliest DTSTART or RDATE of its VEVENTs) when that lies inside the window."""
    try:
        starts = []
        for component in components:
            adapter = recurring_ical_events.EventAdapter(component)
            starts.append(adapter.start)
            starts += [r[0] if isinstance(r, tuple) else r for r in adapter.rdates]
        first = min(_sort_key(value) - (timedelta(0) if _is_aware(value) else _FLOATING_SLACK) for value in starts)
    except Exception:  # an odd value: read from the window's start, as recurring-ical-events would
        return window_start
    return max(window_start, first)


def series_occurrences(calendar, window: tuple[datetime, datetime], first: timedelta,
                       begin: datetime | None = None, now: datetime | None = None) -> list[Occurrence]:
    """A series' occurrences inside `window`: all of them in time order or, when there are more
    than SERIES_CAP, at least SERIES_CAP + 1 in the order they are kept (`capped` keeps the first
    n and puts them in time order): nearest to `now` first (`nearest_first`); without `now`,
    the first in time.

    recurring-ical-events' `after()` re-scans the rule from its start for each occurrence
    (quadratic); `between()` on growing slices is linear and stops once the cap is passed.
    The slices begin at `begin` (no occurrence starts between the window's start and it), so
    a series that begins late in the window is not met by an already huge slice.
    """
    start, end = window
    floor = max(start, begin or start)
    query = recurring_ical_events.of(calendar, calendar_query=_OccurrenceQuery)
    found: list[Occurrence] = []
    seen: set[tuple[str, str]] = set()
    low, span = floor, first
    while low < end and len(found) <= SERIES_CAP:
        high = min(end, low + span)
        found += _in_slice(query, low, high, seen)
        low, span = high, span * 2
    if len(found) > SERIES_CAP and now is not None and now > floor:
        return _Around(calendar, query, (floor, end), first, now).kept_order()
    found.sort(key=lambda occurrence: _sort_key(occurrence.start))
    return found


class _Around:
    """A capped series read outward from now: slices growing forward from now and backward
    from it, each read from the series walked to just before it (`fast_forward`), until the
    occurrences the cap keeps are known. The work is that of the occurrences kept: an endless
    FREQ=MINUTELY series begun in 2016 reads about a day of minutes on either side of now."""

    def __init__(self, calendar, query, window: tuple[datetime, datetime], first: timedelta, now: datetime):
        self.calendar, self.query, self.first = calendar, query, first
        self.floor, self.end = window
        self.now = min(max(now, self.floor), self.end)
        self.master = next((c for c in calendar.walk("VEVENT") if "RECURRENCE-ID" not in c), None)
        self.seen: set[tuple[str, str]] = set()
        self.upcoming: list[tuple[datetime, Occurrence]] = []  # starting at or after now
        self.past: list[tuple[datetime, Occurrence]] = []
        self.low = self.now  # read backward down to here

    def kept_order(self) -> list[Occurrence]:
        past_kept = SERIES_CAP // PAST_SHARE
        forward, backward = self._forward(), self._backward()
        _drain(forward, lambda: len(self.upcoming) > SERIES_CAP - past_kept)
        _drain(backward, lambda: self._past_read() > past_kept)
        _drain(backward, lambda: self._past_read() > SERIES_CAP - len(self.upcoming))  # few upcoming: more past
        _drain(forward, lambda: len(self.upcoming) > SERIES_CAP - self._past_read())  # little past: more upcoming
        return nearest_first([o for _, o in self.upcoming], [o for _, o in self.past])

    def _past_read(self) -> int:
        """Past occurrences known to be the most recent: those from where reading backward got to."""
        return sum(key >= self.low for key, _ in self.past)

    def _forward(self):
        query, low, span = self._query_from(self.now), self.now, self.first
        while low < self.end:
            high = min(self.end, low + span)
            self._take(query, low, high)
            yield
            low, span = high, span * 2

    def _backward(self):
        high, span = self.now, self.first
        while high > self.floor:
            low = max(self.floor, high - span)
            self._take(self._query_from(low), low, high)
            self.low = low
            yield
            high, span = low, span * 2

    def _take(self, query, low: datetime, high: datetime) -> None:
        for occurrence in _in_slice(query, low, high, self.seen):
            key = _sort_key(occurrence.start)
            (self.upcoming if key >= self.now else self.past).append((key, occurrence))

    def _query_from(self, low: datetime):
        """A query of the series walked to just before `low`; the first read's when that changes
        nothing (recurring-ical-events keeps what it walked of a rule)."""
        walked = fast_forward(self.master, low)
        if walked is self.master:
            return self.query
        calendar = type(self.calendar)()
        for component in self.calendar.walk("VEVENT"):
            calendar.add_component(walked if component is self.master else component)
        return recurring_ical_events.of(calendar, calendar_query=_OccurrenceQuery)


def _drain(slices, enough) -> None:
    while not enough() and next(slices, StopIteration) is not StopIteration:
        pass


def nearest_first(upcoming: list[Occurrence], past: list[Occurrence]) -> list[Occurrence]:
    """A series' occurrences (those starting at or after now, those before) in the order a cap
    keeps them: nearest to now first, as the pipeline keeps a source's (NearestEvents), upcoming
    ones first: of any first n, at most one in PAST_SHARE is past, unless fewer are upcoming.

    Past occurrences are history a fetch has stored before (the store deletes none), while the
    next ones are what a user plans with, so the next ones take most of the cap."""
    upcoming = sorted(upcoming, key=lambda o: _sort_key(o.start))
    past = sorted(past, key=lambda o: _sort_key(o.start), reverse=True)
    kept: list[Occurrence] = []
    ahead = behind = 0
    while ahead < len(upcoming) or behind < len(past):
        past_turn = behind < (len(kept) + 1) // PAST_SHARE or ahead == len(upcoming)
        if past_turn and behind < len(past):
            kept.append(past[behind])
            behind += 1
        else:
            kept.append(upcoming[ahead])
            ahead += 1
    return kept


def capped(found: list[Occurrence], budget: Budget, warn, uid: str) -> list[Occurrence]:
    """The occurrences of a series that its cap and the source's budget allow, in time order
    (warning when cut): the first of `found`, which `series_occurrences` orders as they are kept."""
    return _capped(found, min(SERIES_CAP, budget.left), budget, warn, uid)


def _in_slice(query, low: datetime, high: datetime, seen: set) -> list[Occurrence]:
    """The slice's occurrences not yet seen (one that spans a slice boundary comes twice)."""
    fresh = []
    for occurrence in query.between(low, high):
        rid = occurrence.recurrence_id
        key = (repr(occurrence.start), None if rid is None else repr(rid))
        if key not in seen:
            seen.add(key)
            fresh.append(occurrence)
    return fresh


def _capped(found: list[Occurrence], cap: int, budget: Budget, warn, uid: str) -> list[Occurrence]:
    if len(found) > cap:
        found = sorted(found[:cap], key=lambda occurrence: _sort_key(occurrence.start))
        if cap == budget.left:
            if not budget.warned:
                warn(f"stopped at {SOURCE_CAP} occurrences for this source (series {uid!r} and later ones cut)")
                budget.warned = True
        else:
            warn(f"series {uid!r} has more than {SERIES_CAP} occurrences in the window: only the {SERIES_CAP} "
                 f"nearest to now are kept, upcoming ones first")
    budget.left -= len(found)
    return found


# Properties that make a VEVENT more than one occurrence, or part of a series.
SERIES_PROPS = ("RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID")


def is_single(components: list) -> bool:
    """True for a lone VEVENT that recurs in no way, with plain date or date-time times."""
    if len(components) != 1 or any(p in components[0] for p in SERIES_PROPS):
        return False
    event = components[0]
    times = [event.get(p) for p in ("DTSTART", "DTEND")]
    return times[0] is not None and all(t is None or type(t.dt) in (date, datetime) for t in times)


def single_occurrence(event, window: tuple[datetime, datetime], budget: Budget, warn, uid: str) -> list[Occurrence]:
    """A single event as `occurrences` gives a series, kept however far ahead it lies: the
    window's end bounds the expansion of recurring series only (fetch.horizon_days), and a
    Meetup event announced 13 months ahead is still an event. Its start is held to the
    window's start (fetch.history_days) as a series' occurrences are.

    The answer is recurring-ical-events' own, without building a query: its adapter's
    (start, end) (default ends, swapped or mixed date/date-time times) and its span test
    (zero-length events, floating times compared as the window's zone).
    """
    adapter = recurring_ical_events.EventAdapter(event)
    start, end = adapter.start, adapter.end
    inside = time_span_contains_event(window[0], max(window[1], SINGLE_EVENTS_UNTIL), start, end)
    found = [Occurrence(start, end, event, None)] if inside else []
    return _capped(found, min(SERIES_CAP, budget.left), budget, warn, uid)


def _sort_key(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None and value.utcoffset() is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ValueError(f"not a date: {value!r}")


def _is_aware(value) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def aware(value, floating: tzinfo):
    """A DTSTART/DTEND value made aware: a floating time in `floating`; dates stay dates."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=floating)
        return value
    if isinstance(value, date):
        return value
    raise ValueError(f"not a date: {value!r}")


def instant_key(value) -> str:
    """The text a RECURRENCE-ID or an occurrence start is matched by (UTC for aware times)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")
