"""The `meetup` kind: a Meetup group, `https://www.meetup.com/<group>/`.

Meetup's API needs a paid account; its public pages do not. This reads
- the group's iCal feed (`<group>/events/ical/`): every upcoming event;
- the group's events page (`<group>/events/`) and past events page
  (`<group>/events/?type=past`): their schema.org JSON-LD and the data the
  pages embed (__NEXT_DATA__ Apollo state), where RSVPs name members: they
  become attendees with their profile URLs (who goes, and who went).
Both describe one event by its Meetup id, so the two are merged. Past events
stay in the store: they are the history the ranking learns from.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from aggregator.errors import SourceError
from aggregator.model import Event, Person, Venue
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text
from sources import ics, schemaorg

EVENT_ID = re.compile(r"/events/(\d+)")
ICS_UID = re.compile(r"event_(\d+)@meetup\.com")


class MeetupSource:
    kind = "meetup"
    full_snapshot = True

    def collect(self, spec: SourceSpec, http, ctx: Context):
        base = group_url(spec.url)
        response = http.get(urljoin(base, "events/ical/"), accept=ics.ACCEPT)
        feed = ics.parse(response.content, response.url, ctx=ctx, charset=response.charset)
        page_events: list[Event] = []
        for page, label in (("events/", "events page"), ("events/?type=past", "past events page")):
            try:
                content, url, charset = schemaorg.fetch_page(http, urljoin(base, page))
                page_events += parse(content, url, ctx=ctx, charset=charset)
            except SourceError as exc:  # the feed alone is still a good fetch
                ctx.warn(f"{label} not read: {exc}")
        return merge(feed, page_events)


def group_url(url: str) -> str:
    parts = urlsplit(url)
    name = [p for p in parts.path.split("/") if p][:1]
    if not name:
        raise SourceError(f"{url} is not a Meetup group URL (https://www.meetup.com/<group>/)")
    return f"{parts.scheme}://{parts.netloc}/{name[0]}/"


def meetup_id(event: Event) -> str | None:
    for text in (event.url or "", event.source_uid):
        match = EVENT_ID.search(text) or ICS_UID.search(text)
        if match:
            return match.group(1)
    return None


def merge(feed: list[Event], page: list[Event]) -> list[Event]:
    """Feed events completed with the page's attendees; page-only events kept too. One id each."""
    by_id: dict[str, Event] = {}
    out: list[Event] = []
    for event in feed + page:
        key = meetup_id(event)
        event = event.replace(source_uid=f"meetup:{key}" if key else event.source_uid)
        if key and key in by_id:
            known = by_id[key]
            merged = known.replace(attendees=known.attendees or event.attendees,
                                   description=known.description or event.description,
                                   venue=known.venue if known.venue.name else event.venue)
            out[out.index(known)] = merged
            by_id[key] = merged
            continue
        if key:
            by_id[key] = event
        out.append(event)
    return out


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, charset: str | None = None) -> list[Event]:
    """Events of a Meetup page: the embedded Apollo state (with RSVPs), then JSON-LD."""
    html = data if isinstance(data, str) else schemaorg.decode_page(data, charset)
    events = apollo_events(schemaorg.next_data(html), ctx)
    known = {meetup_id(e) for e in events}
    for event in schemaorg.parse_page(html, base_url, ctx=ctx):
        if meetup_id(event) not in known:
            events.append(event)
    return events


def apollo_events(data: Any, ctx: Context) -> list[Event]:
    state = None
    for obj in schemaorg.walk_dicts(data) if data is not None else ():
        if "__APOLLO_STATE__" in obj:
            state = obj["__APOLLO_STATE__"]
            break
        if any(isinstance(k, str) and k.startswith("Event:") for k in obj):
            state = obj
            break
    if not isinstance(state, dict):
        return []

    def deref(value: Any) -> Any:
        return state.get(value["__ref"], {}) if isinstance(value, dict) and "__ref" in value else value

    events = []
    for key, obj in state.items():
        if not (isinstance(key, str) and key.startswith("Event:") and isinstance(obj, dict)):
            continue
        try:
            start = datetime.fromisoformat(str(obj.get("dateTime")).replace("Z", "+00:00"))
        except ValueError:
            continue
        if start.tzinfo is None:
            start = start.replace(tzinfo=ctx.timezone)
        people = []
        for edge in ((deref(obj.get("rsvps")) or {}).get("edges") or []):
            member = deref(((edge or {}).get("node") or {}).get("member"))
            if isinstance(member, dict) and member.get("name"):
                link = f"https://www.meetup.com/members/{member['id']}/" if member.get("id") else None
                people.append(Person(name=clean_text(member["name"], one_line=True), url=link, status="going"))
        venue = deref(obj.get("venue")) or {}
        group = deref(obj.get("group")) or {}
        # Meetup gives online events a venue "Online event" at the group's home coordinates:
        # those are no venue (a user with include_online: false must not see them as 1 km away).
        online = ((obj.get("eventType") or "").upper() == "ONLINE"
                  or (venue.get("name") or "").strip().lower() == "online event")
        if online:
            venue = {key: value for key, value in venue.items() if key not in ("lat", "lng")}
        url = obj.get("eventUrl") or (f"https://www.meetup.com/{group.get('urlname')}/events/{obj.get('id')}/"
                                      if group.get("urlname") else None)
        events.append(Event(
            source_uid=f"meetup:{obj.get('id')}",
            title=clean_text(obj.get("title"), one_line=True, limit=500) or "(untitled event)",
            start=start, url=url, timezone=ctx.timezone.key,
            description=clean_text(obj.get("description")),
            venue=Venue(name=clean_text(venue.get("name"), one_line=True), address=venue.get("address"),
                        city=venue.get("city"), lat=_float(venue.get("lat")), lon=_float(venue.get("lng"))),
            online=online, group=clean_text(group.get("name"), one_line=True) if group.get("name") else None,
            attendees=tuple(people),
        ))
    return events


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, 0, 0.0) else None
    except (TypeError, ValueError):
        return None
