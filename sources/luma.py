"""The `luma` kind: Luma calendars and event pages.

- A calendar's iCal feed (`https://api.lu.ma/ics/get?entity=calendar&id=cal-...`,
  or any URL ending in .ics) is read as iCalendar. Luma's export names each event's
  hosts (ORGANIZER;CN= and "Hosted by A & B" in the description): they are its
  attendees with role host, and the calendar (X-WR-CALNAME) is the group.
- A page (`https://lu.ma/<slug>`, a calendar or an event) is read for its
  schema.org JSON-LD and for the data the page embeds (__NEXT_DATA__): start and
  end in UTC with milliseconds, the event's own zone, online or offline, the
  place, and its hosts, who count as going, with role host.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aggregator import timezones
from aggregator.model import Event, Person, Venue
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text
from sources import ics, schemaorg

LUMA = "https://lu.ma/"


class LumaSource:
    kind = "luma"
    full_snapshot = True

    def collect(self, spec: SourceSpec, http, ctx: Context):
        if "/ics" in spec.url or spec.url.lower().split("?")[0].endswith(".ics"):
            response = http.get(spec.url, accept=ics.ACCEPT)
            events = parse_calendar(response.content, response.url, ctx=ctx, charset=response.charset)
        else:
            content, url, charset = schemaorg.fetch_page(http, spec.url)
            events = parse(content, url, ctx=ctx, charset=charset)
        return events  # the source's group: is applied by the pipeline (normalise)


def parse_calendar(data: bytes | str, base_url: str = "", *, ctx: Context, charset: str | None = None) -> list[Event]:
    """Events of a Luma calendar's iCal feed: the ics kind's reading, which knows Luma's export
    (sources/ics_fields.luma_hosts)."""
    return ics.parse(data, base_url, ctx=ctx, charset=charset)


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, charset: str | None = None) -> list[Event]:
    """Events of a Luma page: embedded entries first (they carry hosts), then JSON-LD."""
    html = data if isinstance(data, str) else schemaorg.decode_page(data, charset)
    found: dict[str, Event] = {}
    embedded = schemaorg.next_data(html)
    for obj in schemaorg.walk_dicts(embedded) if embedded is not None else ():
        event = obj.get("event")
        if isinstance(event, dict) and event.get("start_at") and event.get("name"):
            parsed = entry_event(obj, ctx)
            if parsed is not None:
                found.setdefault(parsed.url or parsed.source_uid, parsed)
    for event in schemaorg.parse_page(html, base_url, ctx=ctx):
        key = event.url or event.source_uid
        if key in found:  # fill what the embedded data lacked
            known = found[key]
            found[key] = known.replace(description=known.description or event.description,
                                       venue=known.venue if known.venue.name else event.venue)
        else:
            found[key] = event
    return list(found.values())


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def entry_event(entry: dict, ctx: Context) -> Event | None:
    """An event as Luma embeds it: {"event": {...}, "hosts": [...], "calendar": {...}}."""
    e = entry["event"]
    start, end = _when(e.get("start_at")), _when(e.get("end_at"))
    if start is None or start.tzinfo is None:
        return None
    slug = e.get("url") or ""
    url = slug if slug.startswith("http") else (LUMA + slug if slug else None)
    geo = e.get("geo_address_info") or {}
    coordinate = e.get("coordinate") or {}
    online = (e.get("location_type") or "").lower() == "online"
    try:
        lat, lon = float(coordinate.get("latitude")), float(coordinate.get("longitude"))
    except (TypeError, ValueError):
        lat = lon = None
    hosts = []
    for host in entry.get("hosts") or []:
        if isinstance(host, dict):
            name = host.get("name") or " ".join(p for p in (host.get("first_name"), host.get("last_name")) if p)
            link = f"{LUMA}user/{host['username']}" if host.get("username") else None
            if name:
                hosts.append(Person(name=clean_text(name, one_line=True), url=link, status="going", role="host"))
    calendar = entry.get("calendar") if isinstance(entry.get("calendar"), dict) else {}
    zone = e.get("timezone")
    return Event(
        source_uid=e.get("api_id") or url or json.dumps([e.get("name"), e.get("start_at")]),
        title=clean_text(e["name"], one_line=True, limit=500) or "(untitled event)",
        start=start,
        end=end if end and end > start else None,
        timezone=zone if zone and timezones.zone(zone) else None,
        url=url,
        venue=Venue(name=clean_text(geo.get("address") or geo.get("full_address"), one_line=True),
                    address=clean_text(geo.get("full_address"), one_line=True), city=geo.get("city"),
                    lat=lat, lon=lon),
        online=online,
        group=clean_text(calendar.get("name"), one_line=True) or None,
        attendees=tuple(hosts),
    )

