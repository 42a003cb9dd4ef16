"""The `schedule` kind: conference schedules in the frab/pretalx format, JSON or XML.

pretalx (`https://<host>/<event>/schedule/export/schedule.json` or `.xml`), frab,
pentabarf and FOSDEM (`schedule.xml`) publish a conference as days, each with rooms,
each with talks. A talk has `date` (ISO, with offset), `start` (HH:MM, wall clock),
`duration` (HH:MM), `room`, `title`, `track`, `abstract`, `description`, `url`,
`guid`/`id` and `persons`. One talk is one Event: its speakers are attendees with
role "speaker", its track a tag, its room the venue ("Room, Conference venue").

Times are the day's date plus `start`, read in the conference's `time_zone_name`;
a day whose `day_start`..`day_end` runs past midnight lists its 00:30 talk under
the day before, so a start earlier than the day's start falls on the next calendar
day. Without `time_zone_name` (pretalx may leave it null) the offset each talk's
`date` carries is used, else the `timezone` option, else the zone of the city the
schedule names (FOSDEM's `<city>Brussels</city>`: Europe/Brussels; see
`places.city_zone`), else of a city its title names ("PyData Berlin"), with a
warning naming it, else the config's zone, with a warning naming it.

Both pentabarf XML layouts are read: `day/room[@name]/event` and the older one
(FOSDEM 2007-2012) where each `event` sits under its `day` with a `room` child.
The number of talks the file holds is told to `ctx.count_input`, so a schedule
whose talks cannot be read never looks healthy.

The newer c3voc "schedule 2.0" (one `events` list, ISO `start`/`end`, `participants`)
is read too.

Options: `timezone` (a zone for schedules that name none), `venue` (the conference
venue, when the schedule does not say it; default: the conference title).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from lxml import etree

from aggregator import places
from aggregator.errors import SourceError
from aggregator.model import Event, Person, stable_id
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text, clean_url
from sources import _conference as conf

ACCEPT = "application/json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
CANCELLED_STATES = {"canceled", "cancelled", "withdrawn", "rejected", "deleted"}
# Schedules mark a cancelled talk in its title when their format has no field for it.
_CANCELLED_TITLE = re.compile(
    r"^\s*[\[(]?\s*(?:cancel+ed|abgesagt|entf[äa]llt|annul[ée]e?)\s*[\])]?\s*[:\-–—]?\s*", re.I)


class ScheduleSource:
    kind = "schedule"
    full_snapshot = True
    options: ClassVar[dict[str, type]] = {"timezone": str, "venue": str}

    def collect(self, spec: SourceSpec, http, ctx: Context) -> list[Event]:
        response = http.get(spec.url, accept=ACCEPT)
        events = parse(response.content, response.url, ctx=ctx, timezone=spec.options.get("timezone"),
                       venue=spec.options.get("venue"))
        return events  # the source's group: wins over the conference title in the pipeline (normalise)


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, timezone: str | None = None,
          venue: str | None = None) -> list[Event]:
    """Every talk of a frab/pretalx schedule (JSON or XML) as an Event."""
    schedule = read_schedule(data)
    conference = schedule["conference"]
    named = conference.get("time_zone_name")
    conference_zone = conf.zone_named(named)
    if named and conference_zone is None:
        ctx.warn(f"schedule names an unknown time zone {str(named)[:60]!r}; each talk's own offset is used")
    talks = list(_talks(schedule))
    fallback_zone = _fallback_zone(timezone, ctx, conference, talks if conference_zone is None else [])
    title = clean_text(conf.localised(conference.get("title")), one_line=True, limit=300)
    place = clean_text(venue or conf.localised(conference.get("venue")) or title, one_line=True, limit=300)
    city = clean_text(conf.localised(conference.get("city")), one_line=True, limit=100)
    links_base = schedule.get("base_url") if isinstance(schedule.get("base_url"), str) else base_url
    events: list[Event] = []
    for day, talk in talks:
        ctx.check_deadline()
        try:
            event = talk_event(talk, day, conference_zone, fallback_zone, links_base or base_url,
                               place=place, city=city)
        except (ValueError, TypeError) as exc:  # TypeError: a field of an unexpected type
            ctx.warn(f"talk {str(talk.get('title') or talk.get('id'))[:60]!r}: {exc}; skipped")
            continue
        events.append(event.replace(group=title))
    held = schedule.get("held") if isinstance(schedule.get("held"), int) else 0
    ctx.count_input(max(len(talks), held), len(events), "talks")
    return events


def read_schedule(data: bytes | str) -> dict:
    """The `schedule` object of a schedule.json, or a schedule.xml read into the same shape."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data.lstrip("\ufeff")
    if text.lstrip().startswith("<"):
        return _xml_schedule(text.encode("utf-8"))
    root = conf.load_json(text, "not a conference schedule", "neither JSON nor XML")
    schedule = root.get("schedule", root) if isinstance(root, dict) else None
    conference = schedule.get("conference") if isinstance(schedule, dict) else None
    has_talks = isinstance(schedule, dict) and isinstance(schedule.get("events"), list)  # schedule 2.0
    if not isinstance(conference, dict) or not (isinstance(conference.get("days"), list) or has_talks):
        raise SourceError("not a conference schedule: no schedule.conference.days "
                          "(expected a frab/pretalx schedule.json)")
    conference.setdefault("days", [])
    return schedule


def _xml_schedule(data: bytes) -> dict:
    # No DTDs, entities or network: a schedule is plain data, and a hostile one must stay so.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"not a conference schedule: the XML does not parse ({exc})") from None
    if root is None or root.tag != "schedule" or root.find("conference") is None:
        raise SourceError("not a conference schedule: expected <schedule> with <conference> (frab/pentabarf XML)")
    conference: dict[str, Any] = {child.tag: "".join(child.itertext()).strip() for child in root.find("conference")
                                  if isinstance(child.tag, str)}
    days = []
    for day in root.iter("day"):
        # Two pentabarf layouts: day/room[@name]/event (FOSDEM 2013 on, frab) and, older (FOSDEM
        # 2007-2012), each event straight under its day with its room as a child element.
        rooms: dict[str, list[dict]] = {}
        for element in day.iter("event"):
            talk = _xml_talk(element)
            parent = element.getparent()
            name = parent.get("name") if parent is not None and parent.tag == "room" else None
            rooms.setdefault(name or str(talk.get("room") or ""), []).append(talk)
        days.append({"date": day.get("date"), "day_start": day.get("start"), "day_end": day.get("end"),
                     "rooms": rooms})
    conference["days"] = days
    # every <event> of the file, wherever it sits: a layout this reader misses is then a shortfall
    held = sum(1 for _ in root.iter("event"))
    return {"conference": conference, "base_url": conference.get("base_url"), "held": held}


def _xml_talk(element) -> dict:
    talk: dict[str, Any] = {"id": element.get("id"), "guid": element.get("guid")}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "persons":
            talk["persons"] = [{"id": p.get("id"), "public_name": (p.text or "").strip(), "url": p.get("href")}
                               for p in child.iter("person")]
        elif not any(isinstance(grandchild.tag, str) for grandchild in child):
            # itertext keeps the text around an unresolved entity (left as its &name;, never read in)
            talk[child.tag] = "".join(child.itertext()).strip()
    return talk


def _talks(schedule: dict):
    """(day, talk) pairs in schedule order; a day's rooms are a {name: [talk]} map or a list.

    The newer c3voc "schedule 2.0" lists talks in one `events` list with full ISO start
    and end instead: those come with an empty day."""
    for talk in conf.items(schedule.get("events")):
        if isinstance(talk, dict):
            yield {}, talk
    for day in conf.items(schedule["conference"]["days"]):
        if not isinstance(day, dict):
            continue
        rooms = day.get("rooms")
        groups = rooms.values() if isinstance(rooms, dict) else rooms if isinstance(rooms, list) else ()
        for talks in groups:
            for talk in conf.items(talks):
                if isinstance(talk, dict):
                    yield day, talk


def talk_event(talk: dict, day: dict, conference_zone: ZoneInfo | None, fallback_zone: ZoneInfo,
               base_url: str, *, place: str | None = None, city: str | None = None) -> Event:
    """One talk as an Event. Raises ValueError (said in words) for a talk that cannot be placed."""
    title = clean_text(conf.localised(talk.get("title")), one_line=True, limit=300)
    if not title:
        raise ValueError("no title")
    marked = _CANCELLED_TITLE.match(title)
    if marked:
        title = title[marked.end():].strip() or title
    state = str(talk.get("state") or talk.get("status") or "").strip().lower()
    status = "cancelled" if marked or state in CANCELLED_STATES else "confirmed"
    start, zone_name = talk_start(talk, day, conference_zone, fallback_zone)
    uid = str(talk.get("guid") or talk.get("id") or "").strip() or stable_id(title, start.isoformat())
    track = clean_text(conf.localised(talk.get("track")), one_line=True, limit=100)
    room = talk.get("room")
    room_name = conf.localised(room.get("name") if isinstance(room, dict) else room)
    url = clean_url(urljoin(base_url, talk["url"])) if isinstance(talk.get("url"), str) and talk["url"] else None
    return Event(
        source_uid=uid, title=title, start=start, end=_talk_end(talk, start), timezone=zone_name,
        description=_description(talk), url=url, tags=(track,) if track else (), status=status,
        venue=conf.room_venue(clean_text(room_name, one_line=True, limit=200), place, city),
        attendees=conf.unique_speakers(_speaker(p, url) for p in _people(talk)),
    )


def talk_start(talk: dict, day: dict, conference_zone: ZoneInfo | None,
               fallback_zone: ZoneInfo) -> tuple[datetime, str | None]:
    """The talk's start instant and the IANA zone it is shown in (None for a bare offset)."""
    stamp = _iso_datetime(talk.get("date")) or _iso_datetime(talk.get("start"))
    hour_minute = conf.clock(talk.get("start"))
    day_date = _iso_date(day.get("date")) or (stamp.date() if stamp else None)
    if hour_minute is None or day_date is None:
        if stamp is None:
            raise ValueError(f"no start time (start {str(talk.get('start'))[:20]!r})")
        hour_minute, day_date = (stamp.hour, stamp.minute), stamp.date()
    elif _after_midnight(hour_minute, day_date, day, stamp):
        day_date += timedelta(days=1)
    wall = datetime.combine(day_date, datetime.min.time()).replace(hour=hour_minute[0], minute=hour_minute[1])
    if conference_zone is not None:
        return wall.replace(tzinfo=conference_zone), conference_zone.key
    if stamp is not None and stamp.tzinfo is not None:
        start = wall.replace(tzinfo=stamp.tzinfo)
        # A bare offset names no zone, unless it is the configured zone's offset at that moment.
        return start, fallback_zone.key if fallback_zone.utcoffset(wall) == start.utcoffset() else None
    return wall.replace(tzinfo=fallback_zone), fallback_zone.key


def _after_midnight(hour_minute: tuple[int, int], day_date: date, day: dict, stamp: datetime | None) -> bool:
    """True for a talk listed under a day that runs past midnight and starting after it.

    frab's rule: a day spans day_start..day_end (09:00 to 04:00 the next morning, say);
    a start earlier than day_start and no later than day_end is on the next calendar day.
    Without those bounds, the talk's own ISO `date` says it."""
    day_start, day_end = _iso_datetime(day.get("day_start")), _iso_datetime(day.get("day_end"))
    if day_start is not None and day_end is not None:
        return (day_end.date() > day_date and (day_start.hour, day_start.minute) > hour_minute
                and hour_minute <= (day_end.hour, day_end.minute))
    return stamp is not None and stamp.date() == day_date + timedelta(days=1)


def _talk_end(talk: dict, start: datetime) -> datetime | None:
    end = _iso_datetime(talk.get("end"))
    if end is not None and end.tzinfo is not None and end > start:
        return end.astimezone(start.tzinfo)
    return conf.end_after(start, conf.duration(talk.get("duration")))


def _description(talk: dict) -> str | None:
    parts: list[str] = []
    for key in ("subtitle", "abstract", "description"):
        text = clean_text(conf.localised(talk.get(key)))
        if text and not any(text in p for p in parts):
            parts.append(text)
    return "\n\n".join(parts) or None


def _people(talk: dict) -> list[dict]:
    """The talk's speakers: `persons` (frab, pretalx) or the speaking `participants` (schedule 2.0)."""
    people = [p for p in conf.items(talk.get("persons")) if isinstance(p, dict)]
    people += [p for p in conf.items(talk.get("participants")) if isinstance(p, dict)
               and str(p.get("role") or "speaker").lower() in ("speaker", "presenter", "moderator")]
    return people


def _speaker(person: dict, talk_url: str | None) -> Person | None:
    name = person.get("public_name") or person.get("name") or person.get("full_public_name")
    url = person.get("url")
    if not url and person.get("code") and talk_url and "/talk/" in urlsplit(talk_url).path:
        # pretalx: a talk at /<event>/talk/<slug>/ has its speakers at /<event>/speaker/<code>/
        url = talk_url.split("/talk/", 1)[0] + f"/speaker/{person['code']}/"
    return conf.speaker(name, url)


def _fallback_zone(option: str | None, ctx: Context, conference: dict, talks: list) -> ZoneInfo:
    """The zone of talks whose times carry none: the `timezone` option, else the zone of the city
    (or venue) the conference names when that settles it, else the config's zone, with a warning
    naming it. `talks`: those read without a conference zone (none when the schedule names one)."""
    zone = conf.option_zone(option)
    if zone is not None:
        return zone
    if not any(_floating(talk) for _, talk in talks):
        return ctx.timezone  # every talk says its own offset (or the schedule its zone)
    for key in ("city", "venue"):
        zone = places.city_zone(conf.localised(conference.get(key)), ctx.timezone)
        if zone is not None:
            return zone
    title = clean_text(conf.localised(conference.get("title")), one_line=True, limit=60)
    zone = places.city_named_in(title)
    if zone is not None:
        ctx.warn(f"the schedule names no time zone; its talks are read in {zone.key}, the zone of the city its "
                 f"title {title!r} names (set the source's timezone: option if that is wrong)")
        return zone
    where = clean_text(conf.localised(conference.get("city")), one_line=True, limit=60)
    ctx.warn(f"the schedule names no time zone{f' and its city {where!r} places none' if where else ''}; "
             f"its talks are read in {ctx.timezone.key} (set the source's timezone: option if that is wrong)")
    return ctx.timezone


def _floating(talk: dict) -> bool:
    """Whether a talk's time carries no offset of its own."""
    stamp = _iso_datetime(talk.get("date")) or _iso_datetime(talk.get("start"))
    return stamp is None or stamp.tzinfo is None


def _iso_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) < 16 or "T" not in value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso_date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
