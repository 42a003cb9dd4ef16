"""schema.org Event data in pages -> Events. Shared by the web kinds; not a kind itself.

- The page is parsed once by lxml's HTML parser (linear time; regexes over
  `<script ...>(.*?)</script>` backtracked quadratically on crafted pages), and
  scripts and links are taken from the tree.
- JSON-LD: each <script type="application/ld+json"> block is read on its own,
  so one malformed block never hides the valid ones (extruct drops them all);
  single objects, arrays, @graph, ItemList and nested subEvent/event are walked,
  and every Event subtype counts.
- Microdata, RDFa and microformats (h-event, hCalendar): through extruct.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from aggregator import places, timezones
from aggregator.errors import SourceError
from aggregator.model import Event, Person, Venue, stable_id
from aggregator.source import Context
from aggregator.text import clean_text, looks_online, safe_text

EVENT_TYPES = {
    "event", "businessevent", "childrensevent", "comedyevent", "courseinstance", "danceevent", "deliveryevent",
    "educationevent", "eventseries", "exhibitionevent", "festival", "foodevent", "hackathon", "literaryevent",
    "musicevent", "publicationevent", "saleevent", "screeningevent", "socialevent", "sportsevent",
    "theaterevent", "visualartsevent", "h-event", "vevent",
}
DEADLINE_EVERY = 200  # objects, blocks or links between two looks at the source's time budget
_OFFSET_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


def looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<meta", b"<div", b"<!--")) or b"<html" in head


def decode_page(data: bytes, charset: str | None = None) -> str:
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                pass
    return data.decode("cp1252", errors="replace")


# -- the page as a tree ------------------------------------------------------------
def page_tree(html: str) -> lxml.etree._Element | None:
    """The parsed page, or None when there is nothing to parse."""
    if not html.strip():
        return None
    try:  # bytes: lxml refuses a str that carries an XML encoding declaration
        return lxml.html.document_fromstring(html.encode("utf-8", errors="replace"),
                                             parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (lxml.etree.ParserError, ValueError):
        return None


def _tree(page: str | lxml.etree._Element | None) -> lxml.etree._Element | None:
    return page_tree(page) if isinstance(page, str) else page


def script_texts(page: str | lxml.etree._Element | None, *, type_: str | None = None,
                 id_: str | None = None) -> Iterator[str]:
    """The text of each <script> of that type (compared case-insensitively) or id."""
    tree = _tree(page)
    if tree is None:
        return
    for script in tree.iter("script"):
        if type_ is not None and (script.get("type") or "").split(";")[0].strip().lower() != type_:
            continue
        if id_ is not None and script.get("id") != id_:
            continue
        yield script.text or ""


# -- finding event objects ------------------------------------------------------
def jsonld_objects(page: str | lxml.etree._Element | None, warn=lambda m: None,
                   ctx: Context | None = None) -> Iterator[Any]:
    for number, raw in enumerate(script_texts(page, type_="application/ld+json"), 1):
        if ctx is not None and number % DEADLINE_EVERY == 0:
            ctx.check_deadline()
        raw = re.sub(r"^\s*(<!--|<!\[CDATA\[)|(-->|\]\]>)\s*$", "", raw.strip()).strip()
        if not raw:
            continue
        try:
            value = json.loads(raw, strict=False)
        except json.JSONDecodeError as exc:
            warn(f"JSON-LD block {number} is not valid JSON ({safe_text(exc.msg, one_line=True)} at line "
                 f"{exc.lineno}); skipped")
            continue
        except RecursionError:
            warn(f"JSON-LD block {number} is nested too deeply to read; skipped")
            continue
        yield value


def type_names(obj: dict) -> set[str]:
    types = obj.get("@type") or obj.get("type") or []
    types = types if isinstance(types, list) else [types]
    return {str(t).rsplit("/", 1)[-1].split(":")[-1].lower() for t in types}


def walk_events(node: Any, depth: int = 0) -> Iterator[dict]:
    """Every Event-typed dict inside a JSON-LD value (@graph, arrays, ItemList, nesting)."""
    if depth > 8:
        return
    if isinstance(node, list):
        for item in node:
            yield from walk_events(item, depth + 1)
        return
    if not isinstance(node, dict):
        return
    if type_names(node) & EVENT_TYPES:
        yield node
    for key in ("@graph", "itemListElement", "item", "subEvent", "subEvents", "event", "events", "mainEntity"):
        if key in node:
            yield from walk_events(node[key], depth + 1)


# -- values -----------------------------------------------------------------------
def first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def text_of(value: Any) -> str | None:
    value = first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("text")
    return None if value is None else str(value)


def parse_when(value: Any, zone: tzinfo) -> datetime | date | None:
    """ISO dates as pages write them: offsets with or without a colon, Z with milliseconds, none."""
    value = text_of(value)
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    text = _OFFSET_NO_COLON.sub(r"\1:\2", value.replace(" ", "T", 1) if "T" not in value else value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def absolute(url: Any, base_url: str) -> str | None:
    url = text_of(url)
    if not url:
        return None
    url = urljoin(base_url, url.strip()) if base_url.startswith("http") else url.strip()
    return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else None


def place(location: Any) -> tuple[Venue, bool]:
    """(venue, online-only) from Place, PostalAddress, GeoCoordinates, VirtualLocation, text or a list."""
    places = location if isinstance(location, list) else [location]
    venue, online, physical = Venue(), False, False
    for loc in places:
        if loc is None:
            continue
        if isinstance(loc, str):
            if looks_online(loc):
                online = True
            else:
                physical = True
                venue = Venue(name=clean_text(loc, one_line=True, limit=300))
            continue
        if not isinstance(loc, dict):
            continue
        kinds = type_names(loc)
        if "virtuallocation" in kinds:
            online = True
            continue
        physical = True
        address = loc.get("address")
        city = None
        if isinstance(address, dict):
            city = text_of(address.get("addressLocality"))
            parts = [text_of(address.get(k)) for k in ("streetAddress", "addressLocality", "addressRegion")]
            address = ", ".join(p for p in parts if p)
        geo = loc.get("geo") if "geo" in loc else (loc if "geocoordinates" in kinds else None)
        lat = lon = None
        if isinstance(geo, dict):
            try:
                lat, lon = float(geo.get("latitude")), float(geo.get("longitude"))
            except (TypeError, ValueError):
                lat = lon = None
        venue = Venue(name=clean_text(text_of(loc.get("name")), one_line=True, limit=300),
                      address=clean_text(text_of(address), one_line=True, limit=300),
                      city=clean_text(city, one_line=True, limit=100), lat=lat, lon=lon)
    return venue, online and not physical


STATUS = {"eventcancelled": "cancelled", "eventpostponed": "tentative", "eventrescheduled": "confirmed",
          "eventscheduled": "confirmed", "eventmovedonline": "confirmed"}


def to_event(obj: dict, base_url: str, ctx: Context) -> Event | None:
    """One schema.org Event dict as an Event; None when it has no usable name or start."""
    title = clean_text(text_of(obj.get("name")), one_line=True, limit=500)
    venue_zone = places.venue_zone(obj.get("location"), ctx.timezone)  # times without an offset are the venue's
    start = parse_when(obj.get("startDate"), venue_zone or ctx.timezone)
    if not title or start is None:
        return None
    end = parse_when(obj.get("endDate"), venue_zone or ctx.timezone)
    all_day = not isinstance(start, datetime)
    if all_day and isinstance(end, datetime):
        end = end.date()
    if not all_day and isinstance(end, date) and not isinstance(end, datetime):
        end = None
    if all_day:
        end = (end + timedelta(days=1)) if end else start + timedelta(days=1)  # schema.org end dates are inclusive
    if end is not None and end <= start:
        end = None
    venue, online = place(obj.get("location"))
    mode = (text_of(obj.get("eventAttendanceMode")) or "").rsplit("/", 1)[-1].lower()
    if "online" in mode:
        online = True
    elif "mixed" in mode or "offline" in mode:
        online = False
    status_text = (text_of(obj.get("eventStatus")) or "").rsplit("/", 1)[-1].lower()
    if status_text == "eventmovedonline":
        online = True
    url = absolute(obj.get("url"), base_url) or absolute(obj.get("@id"), base_url)
    uid = text_of(obj.get("@id")) or url or "generated-" + stable_id(title, str(start), venue.name or "")
    organizer = obj.get("organizer")
    group = clean_text(text_of(organizer), one_line=True, limit=200) if organizer else None
    people = []
    for key in ("attendee", "attendees", "performer"):
        if key == "performer":
            continue
        value = obj.get(key)
        for person in value if isinstance(value, list) else ([value] if value else []):
            name = clean_text(text_of(person) if not isinstance(person, str) else person, one_line=True, limit=200)
            link = absolute(person.get("url"), base_url) if isinstance(person, dict) else None
            if name or link:
                people.append(Person(name=name, url=link, status="going"))
    keywords = obj.get("keywords")
    tags = [t.strip() for t in (keywords.split(",") if isinstance(keywords, str) else keywords or []) if
            isinstance(t, str) and t.strip()]
    timezone_name = venue_zone.key if venue_zone else getattr(start.tzinfo, "key", None) if not all_day else None
    return Event(
        source_uid=uid,
        title=title,
        start=start,
        end=end,
        all_day=all_day,
        timezone=timezone_name if timezone_name not in (None, "UTC") else ctx.timezone.key if not all_day else None,
        description=clean_text(text_of(obj.get("description"))),
        url=url,
        venue=venue,
        online=online,
        group=group,
        tags=tuple(dict.fromkeys(tags))[:20],
        status=STATUS.get(status_text, "confirmed"),
        attendees=tuple(people),
    )


# -- microdata, RDFa, microformats (extruct) ----------------------------------------
def structured_objects(html: str, base_url: str) -> Iterator[dict]:
    import extruct

    # extruct's RDFa and microformat readers cost about a second per 100 KB of any page:
    # only run the readers whose markers the page carries.
    lowered = html.lower()
    syntaxes = [syntax for syntax, markers in (("microdata", ("itemscope", "itemtype")), ("rdfa", ("typeof",)),
                                               ("microformat", ("h-event", "vevent")))
                if any(marker in lowered for marker in markers)]
    if not syntaxes:
        return
    try:
        data = extruct.extract(html, base_url=base_url or None, syntaxes=syntaxes, uniform=True, errors="ignore")
    except Exception:  # extruct raises on pathological markup: the JSON-LD path still runs
        return
    for syntax in ("microdata", "rdfa"):
        yield from walk_events(data.get(syntax) or [])
    for item in data.get("microformat") or []:
        yield from _microformat_events(item)


def _microformat_events(item: Any) -> Iterator[dict]:
    if not isinstance(item, dict):
        return
    raw = item.get("type") or item.get("@type") or []
    kinds = {str(t).lower() for t in (raw if isinstance(raw, list) else [raw])}
    props = item.get("properties") or item
    if kinds & {"h-event", "vevent"}:
        location = first(props.get("location"))
        if isinstance(location, dict):
            location = first((location.get("properties") or {}).get("name")) or location.get("value")
        attendees = []
        for person in props.get("attendee") or []:
            if isinstance(person, dict):
                attendees.append({"name": first((person.get("properties") or {}).get("name")) or person.get("value"),
                                  "url": first((person.get("properties") or {}).get("url"))})
            elif isinstance(person, str):
                attendees.append({"name": person})
        yield {"@type": "Event", "name": first(props.get("name")) or first(props.get("summary")),
               "startDate": first(props.get("start")), "endDate": first(props.get("end")),
               "url": first(props.get("url")), "description": first(props.get("description")),
               "location": location, "attendee": attendees}
    for child in item.get("children") or []:
        yield from _microformat_events(child)


def parse_page(data: bytes | str, base_url: str, *, ctx: Context, charset: str | None = None,
               series_after: timedelta | None = None, undated_series: set[str] | None = None) -> list[Event]:
    """Every event a page embeds (JSON-LD, microdata, RDFa, microformats), each once.

    A series (see `occurrences`) gives its occurrences, not one event spanning them all;
    `series_after`: a span beyond which an event is taken for a series even unmarked (a
    platform that lists a weekly night as one event from its first start to its last end).
    `undated_series`, when given, collects the URLs of series whose dates the page did not
    list (their own page may). What the page held and what was read is told to `ctx.count_input`."""
    html = data if isinstance(data, str) else decode_page(data, charset)
    found: dict[str, Event] = {}
    objects: list[dict] = []
    for obj in jsonld_objects(page_tree(html), ctx.warn, ctx):
        objects.extend(walk_events(obj))
    ctx.check_deadline()
    objects.extend(structured_objects(html, base_url))
    held = read = 0
    for number, obj in enumerate(objects, 1):
        if number % DEADLINE_EVERY == 0:
            ctx.check_deadline()
        held += 1
        try:
            event = to_event(obj, base_url, ctx)
            events = occurrences(obj, event, ctx, series_after) if event is not None else []
        except SourceError:
            raise
        except Exception as exc:  # one odd object must not cost the page
            ctx.warn(safe_text(f"an event object skipped ({exc.__class__.__name__}: {exc})", one_line=True)[:300])
            continue
        if event is None:
            name = safe_text(text_of(obj.get("name")) or "an event", one_line=True)
            ctx.warn(f"{name[:60]!r}: no usable name or start date; skipped")
            continue
        read += 1
        if undated_series is not None and len(events) == 1 and events[0] is not event and event.url:
            undated_series.add(event.url)
        for occurrence in events:  # occurrences of one series share its URL: their own uids tell them apart
            found.setdefault(occurrence.url if len(events) == 1 and occurrence.url else occurrence.source_uid,
                             occurrence)
    ctx.count_input(held, read, "events")
    return list(found.values())


# -- series: one listing for many dates ----------------------------------------------
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


def fetch_page(http, url: str) -> tuple[bytes, str, str | None]:
    response = http.get(url, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
    if response.content and not looks_like_html(response.content) and response.content_type not in (
            "text/html", "application/xhtml+xml"):
        what = safe_text(response.content_type, one_line=True)[:100] or "an unknown type"
        raise SourceError(safe_text(f"not a web page: got {what} from {url}", one_line=True))
    return response.content, response.url, response.charset


def same_site_links(page: str | lxml.etree._Element | None, base_url: str, pattern: str | None = None) -> list[str]:
    """Links on the page to other pages of the same site (optionally matching a regex), in order."""
    tree = _tree(page)
    if tree is None:
        return []
    host = urlsplit(base_url).netloc
    links: list[str] = []
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").split("#")[0]
        url = absolute(href, base_url) if href.strip() else None
        if not url or urlsplit(url).netloc != host or url.rstrip("/") == base_url.rstrip("/"):
            continue
        if pattern and not re.search(pattern, url):
            continue
        if url not in links:
            links.append(url)
    return links


def read_linked_pages(http, links: Iterable[str], ctx: Context, parse=None) -> list[Event]:
    """Events of each linked page; a page that cannot be read is a warning, not a failure."""
    parse = parse or parse_page
    events: list[Event] = []
    for link in links:
        ctx.check_deadline()
        try:
            page, page_url, page_charset = fetch_page(http, link)
        except SourceError as exc:
            ctx.warn(safe_text(f"{link}: {exc}", one_line=True))
            continue
        events.extend(parse(page, page_url, ctx=ctx, charset=page_charset))
    return events


def next_data(page: str | lxml.etree._Element | None) -> Any:
    """The JSON a Next.js page embeds (Meetup, Luma), or None."""
    for text in script_texts(page, id_="__NEXT_DATA__"):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            return None
    return None


def walk_dicts(node: Any, depth: int = 0) -> Iterator[dict]:
    if depth > 40:
        return
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk_dicts(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from walk_dicts(value, depth + 1)
