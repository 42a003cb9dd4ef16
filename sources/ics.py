"""The `ics` kind: iCalendar feeds as real services write them.

`parse` is pure: bytes in, events out. It repairs what it can before
icalendar sees the text (encodings, folding, wrappers, time-zone names, stray
spaces in dates), then parses and expands each series (one UID) on its own, so
a broken event or series is skipped with a warning and never takes the feed
down. A body that is not iCalendar at all, or that stops mid-calendar, is a
`SourceError`: the source fails and its stored events are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import icalendar
import recurring_ical_events

from aggregator import timezones
from aggregator.errors import SourceError
from aggregator.model import Event, Person, Venue, stable_id
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text, looks_online

UTC = timezone.utc
ACCEPT = "text/calendar, text/plain;q=0.8, */*;q=0.5"
DATE_PROPS = {"DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE"}
_PROPERTY_LINE = re.compile(r"^(?:[A-Z][A-Z0-9-]*|[Xx]-[A-Za-z0-9-]+)[;:]")
PARTSTAT = {
    "ACCEPTED": "going", "CONFIRMED": "going", "TENTATIVE": "maybe", "DECLINED": "declined",
    "DELEGATED": "declined", "CANCELLED": "declined", "NEEDS-ACTION": "invited",
}
_CANCELLED_TITLE = re.compile(r"^\W*(cancell?ed|abgesagt|annulé)\b\W*", re.I)


class IcsSource:
    kind = "ics"
    full_snapshot = True  # a feed lists every upcoming event: one missing from it has vanished

    def collect(self, spec: SourceSpec, http, ctx: Context) -> list[Event]:
        response = http.get(spec.url, accept=ACCEPT)
        return parse(response.content, response.url, ctx=ctx, group=spec.group, charset=response.charset)


# -- text repair ----------------------------------------------------------
def decode(data: bytes | str, charset: str | None = None) -> str:
    """Text from a feed's bytes: UTF-8 (BOM or not), the declared charset, else a guess."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", charset):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                pass
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace")  # UTF-8 with a few damaged sequences
    western = _as_western(data)
    if western is not None:
        return western
    guess = charset_normalizer.from_bytes(data[:200_000]).best()
    if guess is not None and guess.encoding:
        return data.decode(guess.encoding, errors="replace")
    return data.decode("cp1252", errors="replace")


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _mostly_utf8(data: bytes) -> bool:
    valid = len(_UTF8_MULTIBYTE.findall(data))
    invalid = data.decode("utf-8", errors="replace").count("\ufffd")
    return valid > 2 * invalid


_WESTERN_PUNCTUATION = set("‘’‚“”„–—…€«»°·©®™•")


def _as_western(data: bytes) -> str | None:
    """cp1252 text, when the bytes read as sparse Latin letters (most non-UTF-8 feeds)."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    special = [c for c in text if ord(c) > 127]
    latin = all((c.isalpha() and ord(c) < 0x250) or c in _WESTERN_PUNCTUATION or c == "\xa0" for c in special)
    return text if latin and len(special) <= 0.2 * len(text) else None


def unfold(text: str) -> list[str]:
    """Logical content lines: folds joined, blank lines dropped, unindented continuations repaired."""
    lines: list[str] = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line.strip():
            continue
        if line[0] in " \t":
            if lines:
                lines[-1] += line[1:]
                continue
            line = line.lstrip()
        elif lines and not _PROPERTY_LINE.match(line):
            lines[-1] += line  # a continuation someone forgot to indent
            continue
        lines.append(line)
    return lines


def split_line(line: str) -> tuple[str, list[str], str]:
    """NAME, [param, ...], value of a content line (colons inside quoted params respected)."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            head, value = line[:i], line[i + 1:]
            break
    else:
        head, value = line, ""
    parts, buf, quoted = [], [], False
    for ch in head:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts[0].upper(), parts[1:], value


def join_line(name: str, params: list[str], value: str) -> str:
    return ";".join([name, *params]) + ":" + value


@dataclass
class _Component:
    name: str
    lines: list[str] = field(default_factory=list)

    def value(self, prop: str) -> str | None:
        for line in self.lines[1:]:
            name, _, value = split_line(line)
            if name == prop:
                return value
        return None


@dataclass
class _Calendar:
    props: dict[str, str] = field(default_factory=dict)
    timezones: dict[str, _Component] = field(default_factory=dict)
    events: list[_Component] = field(default_factory=list)


def split_calendars(lines: list[str]) -> list[_Calendar]:
    """VCALENDARs with their VTIMEZONEs and VEVENTs; a missing wrapper is implied.

    Raises SourceError when the text stops inside an open component (a
    truncated download), so that a partial feed never passes for a whole one.
    """
    calendars: list[_Calendar] = []
    calendar: _Calendar | None = None
    explicit = False
    stack: list[str] = []
    block: _Component | None = None
    for line in lines:
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            comp = upper[6:].strip()
            if comp == "VCALENDAR":
                calendar, explicit, stack, block = _Calendar(), True, [], None
                calendars.append(calendar)
                continue
            if calendar is None:
                calendar, explicit = _Calendar(), False
                calendars.append(calendar)
            if not stack:
                block = _Component(comp)
            stack.append(comp)
            if block is not None:
                block.lines.append(line)
        elif upper.startswith("END:"):
            comp = upper[4:].strip()
            if comp == "VCALENDAR":
                calendar, explicit, stack, block = None, False, [], None
                continue
            if not stack or stack[-1] != comp:
                continue  # an END without its BEGIN: ignore the line
            stack.pop()
            if block is not None:
                block.lines.append(line)
                if not stack:
                    _file(calendar, block)
                    block = None
        elif block is not None:
            block.lines.append(line)
        elif calendar is not None:
            name, _, value = split_line(line)
            calendar.props.setdefault(name, value)
    if stack or (calendar is not None and explicit):
        where = f"inside {stack[-1]}" if stack else "before END:VCALENDAR"
        raise SourceError(f"the feed is truncated: it stops {where} (after {len(lines)} lines)")
    return calendars


def _file(calendar: _Calendar, block: _Component) -> None:
    if block.name == "VEVENT":
        calendar.events.append(block)
    elif block.name == "VTIMEZONE":
        tzid = block.value("TZID")
        if tzid:
            calendar.timezones.setdefault(tzid.strip(), block)


def not_icalendar(text: str) -> SourceError:
    head = text.lstrip()[:500].lower()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head or "<head" in head:
        what = "an HTML page"
    elif head.startswith(("<?xml", "<rss", "<feed")):
        what = "an XML/RSS document"
    elif head.startswith(("{", "[")):
        what = "JSON"
    elif not head:
        what = "an empty body"
    else:
        what = "text with no BEGIN:VCALENDAR or BEGIN:VEVENT"
    return SourceError(f"not an iCalendar feed: got {what}")


# -- repairs inside one VEVENT ----------------------------------------------
class _Repair:
    """Rewrites one VEVENT's lines into what icalendar reads, noting what it changed."""

    def __init__(self, calendar: _Calendar, warn: Callable[[str], None]):
        self.calendar = calendar
        self.warn = warn
        self.tz_cache: dict[str, str | None] = {}

    def tzid(self, raw: str) -> str | None:
        """The TZID to write instead of `raw`; None drops it (floating time)."""
        if raw in self.tz_cache:
            return self.tz_cache[raw]
        name = timezones.iana_name(raw)
        if name is None and raw.strip('"') in self.calendar.timezones:
            name = raw  # icalendar builds the zone from the feed's VTIMEZONE
        if name is None:
            fixed = timezones.fixed_offset(raw)
            if fixed is not None and hasattr(fixed, "key"):
                name = fixed.key
                self.warn(f"time zone {raw!r} is only an offset; read as {name}")
            else:
                self.warn(f"unknown time zone {raw!r} with no VTIMEZONE; its times are read as local")
        self.tz_cache[raw] = name
        return name

    def lines(self, block: _Component) -> list[str]:
        out: list[str] = []
        has_end = any(split_line(x)[0] == "DTEND" for x in block.lines)
        for line in block.lines:
            name, params, value = split_line(line)
            if name in DATE_PROPS:
                value = value.replace(" ", "").strip()
                if not value:
                    continue  # "EXDATE;VALUE=DATE:" and the like say nothing
                params = self.date_params(params, value)
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

    def date_params(self, params: list[str], value: str) -> list[str]:
        fixed: list[str] = []
        for param in params:
            key, _, pvalue = param.partition("=")
            key = key.upper()
            if key == "TZID":
                if value.endswith("Z"):
                    continue
                name = self.tzid(pvalue)
                if name is None:
                    continue
                fixed.append(f"TZID={_quote(name)}")
            elif key == "VALUE" and pvalue.upper() == "DATE" and "T" in value:
                continue  # declared a date, carries a date-time
            else:
                fixed.append(param)
        return fixed


def _quote(name: str) -> str:
    name = name.strip('"')
    return f'"{name}"' if any(c in name for c in ',;:') else name


# -- parse --------------------------------------------------------------------
def parse(
    data: bytes | str,
    base_url: str = "",
    *,
    ctx: Context,
    group: str | None = None,
    charset: str | None = None,
) -> list[Event]:
    """Every occurrence in `ctx.window` of every event in an iCalendar body."""
    text = decode(data, charset)
    lines = unfold(text)
    uppers = {line[:16].upper() for line in lines}
    if "BEGIN:VCALENDAR" not in uppers and "BEGIN:VEVENT" not in uppers:
        raise not_icalendar(text)
    events: dict[str, Event] = {}
    for calendar in split_calendars(lines):
        for event in _parse_calendar(calendar, base_url, ctx, group):
            events.setdefault(event.source_uid, event)  # a copy of the same occurrence adds nothing
    return list(events.values())


def _parse_calendar(calendar: _Calendar, base_url: str, ctx: Context, group: str | None) -> Iterable[Event]:
    floating = _zone_of(calendar.props.get("X-WR-TIMEZONE")) or ctx.timezone
    series: dict[str, list[_Component]] = {}
    for block in calendar.events:
        uid = (block.value("UID") or "").strip()
        if not uid:
            basis = [block.value(p) or "" for p in ("SUMMARY", "DTSTART", "LOCATION", "URL")]
            uid = "generated-" + stable_id(*basis)
        series.setdefault(uid, []).append(block)
    meta = _CalendarMeta(
        group=group or clean_text(calendar.props.get("X-WR-CALNAME"), one_line=True),
        floating=floating,
        zone_name=getattr(floating, "key", None),
        cancelled=(calendar.props.get("METHOD") or "").strip().upper() == "CANCEL",
        base_url=base_url,
    )
    for uid, blocks in series.items():
        yield from _parse_series(uid, blocks, calendar, meta, ctx)


@dataclass
class _CalendarMeta:
    group: str | None
    floating: tzinfo
    zone_name: str | None
    cancelled: bool
    base_url: str


def _parse_series(uid: str, blocks: list[_Component], calendar: _Calendar, meta: _CalendarMeta,
                  ctx: Context) -> Iterable[Event]:
    label = _label(blocks[0])
    repair = _Repair(calendar, lambda message: ctx.warn(f"{label}: {message}"))
    try:
        repaired = [repair.lines(b) for b in blocks]
        recurring = any(
            split_line(line)[0] in ("RRULE", "RDATE", "RECURRENCE-ID") for lines in repaired for line in lines
        )
        if len(blocks) > 1 and not recurring:
            # One UID reused for unrelated events: take each on its own.
            for lines in repaired:
                yield from _expand(uid, [lines], calendar, meta, ctx, label, per_start=True)
            return
        yield from _expand(uid, repaired, calendar, meta, ctx, label, per_start=recurring)
    except Exception as exc:  # one broken series must not cost the feed
        ctx.warn(f"{label}: skipped ({_reason(exc)})")


def _expand(uid, event_lines, calendar, meta, ctx, label, *, per_start: bool) -> Iterable[Event]:
    text = "\n".join(line for lines in event_lines for line in lines)
    zones = [tz for tzid, tz in calendar.timezones.items() if tzid in text]
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//aggregator//repair//EN"]
    for tz in zones:
        body.extend(tz.lines)
    body.extend(line for lines in event_lines for line in lines)
    body.append("END:VCALENDAR")
    cal = icalendar.Calendar.from_ical("\r\n".join(body))
    master = None
    overrides = {}
    for component in cal.walk("VEVENT"):
        if "RECURRENCE-ID" in component:
            overrides[_instant_key(component["RECURRENCE-ID"].dt)] = component
        elif master is None:
            master = component
    start, end = ctx.window
    occurrences = recurring_ical_events.of(cal).between(start, end)
    for component in occurrences:
        try:
            rid = component.get("RECURRENCE-ID")
            original = overrides.get(_instant_key(rid.dt), master) if rid is not None else master
            explicit_end = original is not None and ("DTEND" in original or "DURATION" in original)
            event = _event(uid, component, meta, per_start=per_start, explicit_end=explicit_end)
        except Exception as exc:
            ctx.warn(f"{label}: an occurrence skipped ({_reason(exc)})")
            continue
        if event is not None:
            yield event


def _event(uid: str, c, meta: _CalendarMeta, *, per_start: bool, explicit_end: bool) -> Event | None:
    start = _aware(c.decoded("DTSTART"), meta.floating)
    all_day = not isinstance(start, datetime)
    end = None
    if explicit_end and "DTEND" in c:
        end = c.decoded("DTEND")
        if all_day and isinstance(end, datetime):
            end = end.date()
        elif not all_day and not isinstance(end, datetime):
            end = None  # a date end for a timed start: unknown
        else:
            end = _aware(end, meta.floating)
        if end is not None and end <= start:
            end = None
    if all_day and end is None:
        end = start + timedelta(days=1)
    rid = c.get("RECURRENCE-ID")
    original = rid.dt if rid is not None else start
    source_uid = f"{uid}/{_instant_key(original)}" if per_start else uid

    title = clean_text(_text(c, "SUMMARY"), one_line=True, limit=500)
    status = (_text(c, "STATUS") or "").strip().upper()
    cancelled = status == "CANCELLED" or meta.cancelled
    if title and _CANCELLED_TITLE.match(title):
        cancelled = True
        title = _CANCELLED_TITLE.sub("", title) or title
    location = clean_text(_text(c, "LOCATION"), one_line=True, limit=500)
    lat, lon = _geo(c)
    url = _url(_text(c, "URL"), meta.base_url)
    description = clean_text(_text(c, "DESCRIPTION") or _text(c, "X-ALT-DESC"))
    tz_name = None if all_day else (getattr(start.tzinfo, "key", None) or meta.zone_name)
    if tz_name in ("UTC", "Etc/UTC") and meta.zone_name:
        tz_name = meta.zone_name
    return Event(
        source_uid=source_uid,
        title=title or "(untitled event)",
        start=start,
        end=end,
        all_day=all_day,
        timezone=tz_name,
        description=description,
        url=url,
        venue=Venue(name=location, lat=lat, lon=lon),
        online=looks_online(location) and lat is None,
        group=meta.group or _organizer(c),
        tags=_categories(c),
        status="cancelled" if cancelled else ("tentative" if status == "TENTATIVE" else "confirmed"),
        attendees=_attendees(c),
    )


# -- field helpers ------------------------------------------------------------
def _aware(value, floating: tzinfo):
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=floating)
        return value
    if isinstance(value, date):
        return value
    raise ValueError(f"not a date: {value!r}")


def _instant_key(value) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def _zone_of(name: str | None):
    if not name:
        return None
    iana = timezones.iana_name(name)
    return timezones.zone(iana) if iana else None


def _text(c, prop: str) -> str | None:
    value = c.get(prop)
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def _url(value: str | None, base_url: str) -> str | None:
    if not value:
        return None
    value = value.strip()
    absolute = urljoin(base_url, value) if base_url.startswith("http") else value
    parts = urlsplit(absolute)
    return absolute if parts.scheme in ("http", "https") and parts.netloc and "." in parts.netloc else None


def _geo(c) -> tuple[float | None, float | None]:
    geo = c.get("GEO")
    try:
        lat, lon = float(geo.latitude), float(geo.longitude)
    except (AttributeError, TypeError, ValueError):
        match = re.search(r"geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)", _text(c, "X-APPLE-STRUCTURED-LOCATION") or "")
        if not match:
            return None, None
        lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def _categories(c) -> tuple[str, ...]:
    values = c.get("CATEGORIES")
    if values is None:
        return ()
    out: list[str] = []
    for item in values if isinstance(values, list) else [values]:
        cats = getattr(item, "cats", None)
        for cat in cats if cats is not None else str(item).split(","):
            tag = clean_text(str(cat), one_line=True, limit=80)
            if tag and tag.lower() not in {t.lower() for t in out}:
                out.append(tag)
    return tuple(out)


def _person(prop) -> Person | None:
    address = str(prop).strip()
    params = getattr(prop, "params", {})
    name = clean_text(params.get("CN"), one_line=True, limit=200)
    email = params.get("EMAIL")
    url = None
    if address.lower().startswith("mailto:"):
        email = email or address[7:]
    elif address.startswith(("http://", "https://")):
        url = address
    email = email.strip().lower() if email and "@" in email else None
    if not (name or email or url):
        return None
    status = PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), "invited")
    return Person(name=name, url=url, email=email, status=status)


def _attendees(c) -> tuple[Person, ...]:
    values = c.get("ATTENDEE")
    if values is None:
        return ()
    people = [_person(v) for v in (values if isinstance(values, list) else [values])]
    return tuple(p for p in people if p is not None)


def _organizer(c) -> str | None:
    org = c.get("ORGANIZER")
    if org is None:
        return None
    if isinstance(org, list):
        org = org[0]
    return clean_text(getattr(org, "params", {}).get("CN"), one_line=True, limit=200)


def _label(block: _Component) -> str:
    summary = block.value("SUMMARY") or block.value("UID") or "an event"
    summary = " ".join(summary.split())
    return f"event {summary[:60]!r}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]}"
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text[:160]
