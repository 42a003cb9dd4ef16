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
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from aggregator import places
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

    A series (see `schemaorg_series.occurrences`) gives its occurrences, not one event spanning them all;
    `series_after`: a span beyond which an event is taken for a series even unmarked (a
    platform that lists a weekly night as one event from its first start to its last end).
    `undated_series`, when given, collects the URLs of series whose dates the page did not
    list (their own page may). What the page held and what was read is told to `ctx.count_input`."""
    from sources.schemaorg_series import occurrences  # it reads this module's helpers

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
