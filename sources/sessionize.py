"""The `sessionize` kind: a Sessionize event's public API, the "All" view.

`url:` is either the API URL (`https://sessionize.com/api/v2/<id>/view/All`; another
view of the same id is read as All) or the bare Sessionize id (`url: jl4ktls0`), the
code the event's organisers enable under API / Embed.

The All view is {sessions, speakers, categories, rooms, questions}. Sessions carry
startsAt/endsAt in the event's local time without an offset, so the `timezone`
option names the event's zone (without it the config's zone is used, with a
warning). Service sessions (lunch, breaks) are not talks and are skipped; plenum
sessions (keynotes) are kept. Category items become tags, speakers (by id) become
attendees with role "speaker" and their profile link: LinkedIn first, else the
first of Twitter, Blog or company website. Option `venue` names the venue the
rooms are in.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

from aggregator.errors import SourceError
from aggregator.model import Event, Person
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text
from sources import _conference as conf

API = "https://sessionize.com/api/v2/{id}/view/All"
SESSIONIZE_ID = re.compile(r"^[a-z0-9]{4,20}$")
PROFILE_LINK_TYPES = ("LinkedIn", "Twitter", "Blog", "Company_Website")
CANCELLED_STATUSES = {"cancelled", "canceled", "declined"}


class SessionizeSource:
    kind = "sessionize"
    full_snapshot = True
    options: ClassVar[dict[str, type]] = {"timezone": str, "venue": str}

    def collect(self, spec: SourceSpec, http, ctx: Context) -> list[Event]:
        response = http.get(api_url(spec.url), accept="application/json")
        events = parse(response.content, response.url, ctx=ctx, timezone=spec.options.get("timezone"),
                       venue=spec.options.get("venue"))
        return events  # the source's group: is applied by the pipeline (normalise)


def api_url(url: str) -> str:
    """The All-view API URL for a Sessionize id or any API view URL; other URLs are kept.

    The config turns a bare id into a file URL beside config.yaml (it reads local
    files too); an id that names no such file is the Sessionize id."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(url2pathname(parts.path))
        if not path.exists() and SESSIONIZE_ID.match(path.name):
            return API.format(id=path.name)
        return url
    if not parts.scheme and SESSIONIZE_ID.match(url):
        return API.format(id=url)
    view = re.match(r"^(/api/v2/[^/]+/view/)[^/]+/?$", parts.path)
    host = (parts.hostname or "").lower()
    if (host == "sessionize.com" or host.endswith(".sessionize.com")) and view:
        return urlunsplit((parts.scheme, parts.netloc, view.group(1) + "All", "", ""))
    return url


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, timezone: str | None = None,
          venue: str | None = None) -> list[Event]:
    """Every scheduled talk of a Sessionize All view as an Event."""
    root = _read(data)
    zone = _zone(timezone, ctx)
    speakers = {str(s["id"]): s for s in conf.items(root.get("speakers")) if isinstance(s, dict) and s.get("id")}
    rooms = {str(r.get("id")): r.get("name") for r in conf.items(root.get("rooms")) if isinstance(r, dict)}
    category_items = {
        str(item.get("id")): item.get("name")
        for category in conf.items(root.get("categories")) if isinstance(category, dict)
        for item in conf.items(category.get("items")) if isinstance(item, dict)
    }
    place = clean_text(venue, one_line=True, limit=300)
    events: list[Event] = []
    unscheduled = 0
    for session in root["sessions"]:
        ctx.check_deadline()
        if not isinstance(session, dict) or session.get("isServiceSession"):
            continue
        if not session.get("startsAt"):
            unscheduled += 1
            continue
        try:
            events.append(session_event(session, zone, speakers, rooms, category_items, place, ctx))
        except (ValueError, TypeError) as exc:  # TypeError: a field of an unexpected type
            ctx.warn(f"session {str(session.get('title') or session.get('id'))[:60]!r}: {exc}; skipped")
    if unscheduled:
        ctx.warn(f"{unscheduled} session(s) have no time yet (not scheduled); skipped")
    talks = sum(1 for s in root["sessions"] if isinstance(s, dict) and not s.get("isServiceSession")
                and s.get("startsAt"))  # an unscheduled session is not yet an event the file holds
    ctx.count_input(talks, len(events), "sessions")
    return events


def _read(data: bytes | str) -> dict:
    root = conf.load_json(data, "not a Sessionize All view")
    if isinstance(root, list):  # the Sessions view: [{groupName, sessions: [...]}]
        raise SourceError("not a Sessionize All view: this is another view; use .../view/All "
                          "(or just the Sessionize id)")
    if not isinstance(root, dict) or not isinstance(root.get("sessions"), list):
        raise SourceError("not a Sessionize All view: no sessions list (expected {sessions, speakers, rooms, ...})")
    return root


def _zone(option: str | None, ctx: Context) -> ZoneInfo:
    zone = conf.option_zone(option)
    if zone is not None:
        return zone
    ctx.warn(f"Sessionize times carry no zone and the source has no timezone option; read in {ctx.timezone.key}")
    return ctx.timezone


def session_event(session: dict, zone: ZoneInfo, speakers: dict[str, dict], rooms: dict[str, Any],
                  category_items: dict[str, Any], place: str | None, ctx: Context) -> Event:
    title = clean_text(session.get("title"), one_line=True, limit=300)
    if not title:
        raise ValueError("no title")
    start = _local_time(session.get("startsAt"), zone)
    if start is None:
        raise ValueError(f"start {str(session.get('startsAt'))[:30]!r} is no date and time")
    end = _local_time(session.get("endsAt"), zone)
    room = rooms.get(str(session.get("roomId"))) or session.get("room")
    tags = []
    for item_id in conf.items(session.get("categoryItems")):
        name = clean_text(category_items.get(str(item_id)), one_line=True, limit=100)
        if name and name not in tags:
            tags.append(name)
    people = []
    for ref in conf.items(session.get("speakers")):
        speaker_id = str((ref.get("id") if isinstance(ref, dict) else ref) or "")
        if speaker_id not in speakers:
            ctx.warn(f"session {title[:60]!r}: speaker id {speaker_id[:40]!r} is not in the speakers list; left out")
            continue
        people.append(_speaker(speakers[speaker_id]))
    status = str(session.get("status") or "").strip().lower()
    return Event(
        source_uid=str(session.get("id") or "").strip() or f"{title}|{start.isoformat()}",
        title=title, start=start, end=end if end is not None and end > start else None, timezone=zone.key,
        description=clean_text(session.get("description")),
        venue=conf.room_venue(clean_text(room if isinstance(room, str) else None, one_line=True, limit=200),
                              place),
        tags=tuple(tags), status="cancelled" if status in CANCELLED_STATUSES else "confirmed",
        attendees=conf.unique_speakers(people),
    )


def _speaker(record: dict) -> Person | None:
    name = record.get("fullName") or " ".join(
        str(record.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    links = [link for link in conf.items(record.get("links")) if isinstance(link, dict) and link.get("url")]
    by_type = {}
    for link in links:
        by_type.setdefault(str(link.get("linkType") or ""), link["url"])
    url = by_type.get("LinkedIn") or next(
        (link["url"] for link in links if link.get("linkType") in PROFILE_LINK_TYPES), None)
    return conf.speaker(name, url)


def _local_time(value: object, zone: tzinfo) -> datetime | None:
    """Sessionize's '2027-03-04T09:00:00' read in the event's zone; a time with an offset keeps it."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
