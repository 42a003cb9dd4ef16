"""The `ics` kind: iCalendar feeds as real services write them.

`parse` is pure: bytes in, events out. Text repair (sources/ics_text.py) turns the
bytes into calendars of logical lines; `_Repair` rewrites each event's lines into what
icalendar reads (time-zone names, stray spaces in dates, X-WR-TIMEZONE); each series
(one UID) is then parsed (sources/ics_batch.py, many to one icalendar parse) and expanded
on its own inside the window (sources/ics_expand.py),
so a broken event or series is skipped with a warning and never takes the feed down. A
body that is not iCalendar at all, or that stops mid-calendar, is a `SourceError`: the
source fails and its stored events are kept.

Decisions on values the RFC leaves open, as icalendar and Google's own exports read them:
a date-time with both a TZID and a trailing `Z` is local time in the TZID (the `Z` is
dropped; x-wr-timezone's answer key says so of Google's exports); with an unknown TZID it
stays UTC. Under X-WR-TIMEZONE, UTC times are moved into that zone before expansion, so a
weekly series keeps its local hour across DST as Google's clients show it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

import icalendar

from aggregator import places, timezones
from aggregator.errors import SourceError
from aggregator.model import Event, Venue, stable_id
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text, looks_online
from sources.ics_batch import Copies, Unit, parse_once
from sources.ics_expand import (
    Budget,
    Occurrence,
    aware,
    capped,
    earliest_start,
    fast_forward,
    first_slice,
    instant_key,
    is_single,
    latest_versions,
    private_tzid,
    series_occurrences,
    single_occurrence,
)
from sources.ics_fields import (
    MEETUP_GROUP,
    attendees_of,
    categories,
    event_url,
    geo_point,
    is_luma,
    luma_hosts,
    meetup_group,
    organizer_name,
    text_value,
)
from sources.ics_text import (
    Calendar,
    Component,
    block_label,
    decode,
    join_line,
    not_icalendar,
    short_reason,
    split_calendars,
    split_line,
    unfold,
)

UTC = timezone.utc
ACCEPT = "text/calendar, text/plain;q=0.8, */*;q=0.5"
DATE_PROPS = {"DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE"}
_CANCELLED_TITLE = re.compile(r"^\W*(cancell?ed|abgesagt|annulé)\b\W*", re.I)
_UTC_DATETIME = re.compile(r"^(\d{8}T\d{6})Z$")
# Meetup writes "Online event" with the group's coordinates: a place name that is only this
# is online whatever GEO says.
_ONLY_ONLINE = re.compile(r"^\s*(online( event| meeting)?|virtual( event)?|zoom|webinar|livestream)\s*$", re.I)


class IcsSource:
    kind = "ics"
    full_snapshot = True  # a feed lists every upcoming event: one missing from it has vanished

    def collect(self, spec: SourceSpec, http, ctx: Context) -> list[Event]:
        response = http.get(spec.url, accept=ACCEPT)
        return parse(response.content, response.url, ctx=ctx, charset=response.charset)


# -- repairs inside one VEVENT ----------------------------------------------
class _Repair:
    """Rewrites one VEVENT's lines into what icalendar reads, noting what it changed."""

    def __init__(self, calendar: Calendar, meta: _CalendarMeta, warn: Callable[[str], None]):
        self.calendar = calendar
        self.meta = meta
        self.warn = warn
        self.tz_cache: dict[str, str | None] = {}
        self.used_zones: dict[str, Component] = {}  # private TZID -> the feed's VTIMEZONE

    def tzid(self, raw: str) -> str | None:
        """The TZID to write instead of `raw`; None drops it (floating time)."""
        if raw in self.tz_cache:
            return self.tz_cache[raw]
        name = timezones.iana_name(raw)
        definition = self.calendar.timezones.get(raw.strip('"'))
        if name is None and definition is not None:
            name = private_tzid(raw.strip('"'), definition)  # icalendar builds it from the feed's VTIMEZONE
            self.used_zones[name] = definition
        if name is None:
            fixed = timezones.fixed_offset(raw)
            if fixed is not None and hasattr(fixed, "key"):
                name = fixed.key
                self.warn(f"time zone {raw!r} is only an offset; read as {name}")
            else:
                self.warn(f"unknown time zone {raw!r} with no VTIMEZONE; its times are read as local")
        self.tz_cache[raw] = name
        return name

    def lines(self, block: Component) -> list[str]:
        out: list[str] = []
        has_end = any(x.startswith(("DTEND:", "DTEND;")) for x in block.lines)
        for line in block.lines:
            if _passes_unchanged(line):
                out.append(line)
                continue
            if line.startswith(_UNREAD):
                continue
            name, params, value = split_line(line)
            if name in DATE_PROPS:
                value = value.replace(" ", "").strip()
                if not value:
                    continue  # "EXDATE;VALUE=DATE:" and the like say nothing
                params, value = self.date_params(params, value)
            elif name == "RRULE":
                value = value.replace("\\", "").replace(" ", "").rstrip(";")
            elif name == "DURATION":
                if has_end:
                    continue  # DTEND and DURATION together: DTEND wins
                value = value.strip()
            elif name in ("ORGANIZER", "ATTENDEE") and "=" in value.split(":", 1)[0]:
                # Confluence writes "ORGANIZER:KEY=...;CN=Name:mailto:x": move params where they belong
                extra, _, address = value.rpartition(":")
                params = params + [p for p in extra.split(";") if "=" in p]
                value = address
            out.append(join_line(name, params, value))
        return out

    def date_params(self, params: list[str], value: str) -> tuple[list[str], str]:
        fixed: list[str] = []
        has_tzid = False
        for param in params:
            key, _, pvalue = param.partition("=")
            key = key.upper()
            if key == "TZID":
                name = self.tzid(pvalue)
                if name is None:
                    continue
                if value.endswith("Z"):
                    value = ",".join(v.rstrip("Z") for v in value.split(","))  # the TZID wins (see module doc)
                fixed.append(f"TZID={_quote(name)}")
                has_tzid = True
            elif key == "VALUE" and pvalue.upper() == "DATE" and "T" in value:
                continue  # declared a date, carries a date-time
            else:
                fixed.append(f"{key}={pvalue}" if pvalue else param)
        if not has_tzid and self.meta.zone_name and self.meta.from_google_utc and value.endswith("Z"):
            local = [_to_zone(v, self.meta.floating) for v in value.split(",")]
            if all(local):
                fixed.append(f"TZID={self.meta.zone_name}")
                value = ",".join(local)
        return fixed, value


# Version stamps are read from the raw lines (latest_versions), never from the parsed VEVENT:
# icalendar's date-time parsing of them was a tenth of a large feed's parse.
_UNREAD = ("DTSTAMP:", "DTSTAMP;", "CREATED:", "CREATED;", "LAST-MODIFIED:", "LAST-MODIFIED;")
_REWRITTEN = DATE_PROPS | {"RRULE", "DURATION", "ORGANIZER", "ATTENDEE", "DTSTAMP", "CREATED", "LAST-MODIFIED"}


def _passes_unchanged(line: str) -> bool:
    """A line `_Repair.lines` keeps as it is: not rewritten, and join_line(*split_line(line)) == line."""
    colon = line.find(":")
    if colon < 0 or '"' in line[:colon]:
        return False
    name = line[:colon].split(";", 1)[0]
    return name not in _REWRITTEN and name.isupper()


def _to_zone(value: str, zone: tzinfo) -> str | None:
    match = _UTC_DATETIME.match(value)
    if not match:
        return None
    instant = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return instant.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _quote(name: str) -> str:
    name = name.strip('"')
    return f'"{name}"' if any(c in name for c in ',;:') else name


# -- parse --------------------------------------------------------------------
def parse(
    data: bytes | str,
    base_url: str = "",
    *,
    ctx: Context,
    charset: str | None = None,
) -> list[Event]:
    """Every occurrence in `ctx.window` of every event in an iCalendar body (a source's `group:`
    is the pipeline's normalise step's)."""
    text = decode(data, charset)
    repairs: list[str] = []
    lines = unfold(text, repairs.append)
    uppers = {line[:16] for line in lines}
    if "BEGIN:VCALENDAR" not in uppers and "BEGIN:VEVENT" not in uppers:
        raise not_icalendar(text)  # the repairs of a body that is no feed at all are noise: not said
    for message in repairs:
        ctx.warn(message)
    events: dict[str, Event] = {}
    budget = Budget()
    calendars = split_calendars(lines, ctx.warn)
    copies = Copies(enabled=len(calendars) > 1)  # one calendar holds no copy of a unit (one per UID)
    for calendar in calendars:
        for event in _parse_calendar(calendar, base_url, ctx, budget, copies):
            events.setdefault(event.source_uid, event)  # a copy of the same occurrence adds nothing
    return list(events.values())


def _parse_calendar(calendar: Calendar, base_url: str, ctx: Context, budget: Budget,
                    copies: Copies) -> Iterable[Event]:
    xwr_zone = _zone_of(calendar.props.get("X-WR-TIMEZONE"))
    floating = xwr_zone or ctx.timezone
    series: dict[str, list[Component]] = {}
    for block in calendar.events:
        uid = (block.value("UID") or "").strip()
        if not uid:
            basis = [block.value(p) or "" for p in ("SUMMARY", "DTSTART", "LOCATION", "URL")]
            uid = "generated-" + stable_id(*basis)
        series.setdefault(uid, []).append(block)
    luma = is_luma(calendar.props.get("PRODID"), calendar.events)
    aggregated = not luma and _aggregates_groups(calendar.events)  # Luma's ORGANIZER is a host, not a group
    calendar_name = clean_text(calendar.props.get("X-WR-CALNAME"), one_line=True)
    meta = _CalendarMeta(
        group=None if aggregated else calendar_name,
        per_event_group=aggregated,
        luma=luma,
        floating=floating,
        zone_name=getattr(floating, "key", None),
        from_google_utc=xwr_zone is not None,
        cancelled=(calendar.props.get("METHOD") or "").strip().upper() == "CANCEL",
        base_url=base_url,
    )
    units = [unit for uid, blocks in series.items() for unit in _prepare_series(uid, blocks, calendar, meta, ctx)]
    for unit, components in zip(units, parse_once(units, ctx, copies), strict=True):
        ctx.check_deadline()
        if components is None:
            continue
        try:
            yield from _expand(unit, components, meta, ctx, budget, copies)
        except SourceError:
            raise
        except Exception as exc:  # one broken series must not cost the feed
            ctx.warn(f"{unit.label}: skipped ({short_reason(exc)})")


def _aggregates_groups(events: list[Component]) -> bool:
    """True when a calendar's events come from several Meetup groups or organisers."""
    groups = set()
    organisers = set()
    for block in events:
        match = MEETUP_GROUP.search(block.value("URL") or "")
        if match:
            groups.add(match.group(1).lower())
        organiser = block.value("ORGANIZER")
        if organiser is not None:
            organisers.add(organiser.strip().lower())
    return len(groups) > 1 or len(organisers) > 1


@dataclass
class _CalendarMeta:
    group: str | None
    per_event_group: bool
    luma: bool
    floating: tzinfo
    zone_name: str | None
    from_google_utc: bool
    cancelled: bool
    base_url: str
    texts: dict = field(default_factory=dict)

    def clean(self, raw: str | None, *, one_line: bool = False, limit: int | None = None) -> str | None:
        """clean_text, once per distinct text: a series repeats its texts in every occurrence."""
        key = (raw, one_line, limit)
        if key not in self.texts:
            self.texts[key] = clean_text(raw, one_line=one_line, limit=limit) if limit else \
                clean_text(raw, one_line=one_line)
        return self.texts[key]


def _prepare_series(uid: str, blocks: list[Component], calendar: Calendar, meta: _CalendarMeta,
                    ctx: Context) -> list[Unit]:
    label = block_label(blocks[0])
    repair = _Repair(calendar, meta, lambda message: ctx.warn(f"{label}: {message}"))
    try:
        blocks = latest_versions(blocks)
        repaired = [repair.lines(b) for b in blocks]
    except Exception as exc:  # one broken series must not cost the feed
        ctx.warn(f"{label}: skipped ({short_reason(exc)})")
        return []
    recurring = any(line.startswith(("RRULE", "RDATE", "RECURRENCE-ID")) for lines in repaired for line in lines)
    if len(blocks) > 1 and not recurring:
        # One UID reused for unrelated events: take each on its own.
        return [Unit(uid, label, [lines], repair.used_zones, True) for lines in repaired]
    return [Unit(uid, label, repaired, repair.used_zones, recurring)]


def _expand(unit: Unit, components: list, meta, ctx, budget, copies: Copies) -> Iterable[Event]:
    if is_single(components):
        found = single_occurrence(components[0], ctx.window, budget, lambda m: ctx.warn(f"{unit.label}: {m}"),
                                  unit.uid)
        yield from _events(unit, found, {}, components[0], meta, ctx)
        return
    master = None
    overrides = {}
    for component in components:
        if "RECURRENCE-ID" in component:
            overrides[instant_key(component["RECURRENCE-ID"].dt)] = component
        elif master is None:
            master = component
    found = copies.expanded.get(unit.twin) if unit.twin else None
    if found is None:
        walked = fast_forward(master, ctx.window[0])  # the same series, its rule walked from the window on
        read = [walked if component is master else component for component in components]
        cal = icalendar.Calendar()
        for component in read:
            cal.add_component(component)
        rrules = [line for lines in unit.lines for line in lines if line.startswith("RRULE")]
        found = series_occurrences(cal, ctx.window, first_slice(rrules, ctx.window),
                                   begin=earliest_start(read, ctx.window[0]), now=ctx.now)
        if unit.twin:  # a copy met again: its twins reuse these
            copies.expanded[unit.twin] = found
    found = capped(found, budget, lambda m: ctx.warn(f"{unit.label}: {m}"), unit.uid)
    yield from _events(unit, found, overrides, master, meta, ctx)


def _events(unit: Unit, found: list[Occurrence], overrides: dict, master, meta, ctx) -> Iterable[Event]:
    # id(the VEVENT an occurrence comes from) -> its fields and whether it states its end
    shared: dict[int, tuple[dict, bool]] = {}
    for occurrence in found:
        try:
            original = master
            if overrides:
                rid = occurrence.recurrence_id
                original = overrides.get(instant_key(occurrence.start if rid is None else rid.dt), master)
            key = id(original) if original is not None else id(occurrence.source)
            if key not in shared:
                explicit_end = original is not None and ("DTEND" in original or "DURATION" in original)
                shared[key] = (_fields(occurrence.source, meta), explicit_end)
            fields, explicit_end = shared[key]
            event = _event(unit.uid, occurrence, meta, original, fields, per_start=unit.per_start,
                           explicit_end=explicit_end)
        except Exception as exc:
            ctx.warn(f"{unit.label}: an occurrence skipped ({short_reason(exc)})")
            continue
        if event is not None:
            yield event


def _occurrence_key(occurrence: Occurrence, start, original) -> str:
    """The occurrence's own instant in its series: its RECURRENCE-ID, except in the later
    occurrences of a RANGE=THISANDFUTURE override, which all carry the override's
    RECURRENCE-ID (recurring-ical-events does so): those are keyed by their start."""
    rid = occurrence.recurrence_id
    if rid is None:
        return instant_key(start)
    if original is not None and "DTSTART" in original and str(rid.params.get("RANGE", "")).upper() == "THISANDFUTURE":
        if instant_key(original.decoded("DTSTART")) != instant_key(occurrence.start):
            return instant_key(start)
    return instant_key(rid.dt)


def _event(uid: str, occurrence: Occurrence, meta: _CalendarMeta, original, fields: dict, *, per_start: bool,
           explicit_end: bool) -> Event | None:
    floating = meta.floating  # a time without a zone: the calendar's, else the venue's when its place says, else yours
    naive = isinstance(occurrence.start, datetime) and occurrence.start.utcoffset() is None
    if naive and not meta.from_google_utc and fields["venue"].name:
        floating = places.text_zone(fields["venue"].name, meta.floating) or floating
    start = aware(occurrence.start, floating)
    all_day = not isinstance(start, datetime)
    end = None
    if explicit_end:
        end = occurrence.end
        if all_day and isinstance(end, datetime):
            end = end.date()
        elif not all_day and not isinstance(end, datetime):
            end = None  # a date end for a timed start: unknown
        else:
            end = aware(end, floating)
        if end is not None and end <= start:
            end = None
    if all_day and end is None:
        end = start + timedelta(days=1)
    source_uid = f"{uid}/{_occurrence_key(occurrence, start, original)}" if per_start else uid

    tz_name = None if all_day else (getattr(start.tzinfo, "key", None) or meta.zone_name)
    if tz_name in ("UTC", "Etc/UTC") and meta.zone_name:
        tz_name = meta.zone_name
    return Event(source_uid=source_uid, start=start, end=end, all_day=all_day, timezone=tz_name, **fields)


def _fields(c, meta: _CalendarMeta) -> dict:
    """What an occurrence shares with the VEVENT it comes from (all but its times): read once per VEVENT."""
    title = meta.clean(text_value(c, "SUMMARY"), one_line=True, limit=500)
    status = (text_value(c, "STATUS") or "").strip().upper()
    cancelled = status == "CANCELLED" or meta.cancelled
    if title and _CANCELLED_TITLE.match(title):
        cancelled = True
        title = _CANCELLED_TITLE.sub("", title) or title
    location = meta.clean(text_value(c, "LOCATION"), one_line=True, limit=500)
    lat, lon = geo_point(c)
    online = looks_online(location) and (lat is None or bool(_ONLY_ONLINE.match(location or "")))
    if online:
        lat = lon = None  # the coordinates are the group's home, not a venue
    url = event_url(text_value(c, "URL"), meta.base_url)
    description = meta.clean(text_value(c, "DESCRIPTION") or text_value(c, "X-ALT-DESC"))
    group = meta.group
    attendees = attendees_of(c)
    if meta.luma:
        attendees += luma_hosts(c, description)
    elif meta.per_event_group:
        group = meetup_group(description, url) or organizer_name(c)
    if not meta.luma:
        group = group or organizer_name(c)
    return dict(
        title=title or "(untitled event)",
        description=description,
        url=url,
        venue=Venue(name=location, lat=lat, lon=lon),
        online=online,
        group=group,
        tags=categories(c),
        status="cancelled" if cancelled else ("tentative" if status == "TENTATIVE" else "confirmed"),
        attendees=attendees,
    )


# -- field helpers ------------------------------------------------------------
def _zone_of(name: str | None):
    if not name:
        return None
    iana = timezones.iana_name(name)
    return timezones.zone(iana) if iana else None
