"""Your own log: where you went, whom you met, whom you caught up with, and who is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aggregator.config import Settings, UnknownName
from aggregator.contacts import candidates, refresh_social
from aggregator.errors import AggregatorError
from aggregator.identity import Matcher, normalize_name
from aggregator.model import Contact
from aggregator.nicknames import same_given_name
from aggregator.ranking import HALF_LIFE_DAYS, catch_up_state, months, rank_events
from aggregator.store import Store

RECONNECT_DAYS = 60
LIKELY = 0.2


class NotYet(AggregatorError):
    """A log entry for something that has not happened yet (an event that has not started, a catch-up
    on a future date): bad usage, exit 2. Without it, a future date dropped the person from
    `reconnect` for months (issue 18)."""

    exit_code = 2


def find_contact(store: Store, name: str) -> Contact:
    """The one contact a typed name means; an error with suggestions otherwise."""
    people = store.people.contacts()
    if name.strip().isdigit():
        for person in people:
            if person.id == int(name):
                return person
    norm = normalize_name(name)
    exact = [p for p in people if p.normalized_name == norm]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        listed = ", ".join(f"{p.name} (id {p.id}, {p.company or 'no company'})" for p in exact)
        raise UnknownName(f"{name!r} matches several contacts: {listed}; give the id instead")
    match = Matcher.build(candidates(people)).match_name(name)
    if match is not None:
        return next(p for p in people if p.id == match.contact_id)
    if norm and " " not in norm:  # a first name alone (or its short form: Sam, Samuel) when one contact has it
        firsts = {p.id: {normalize_name(n).split(" ")[0] for n in (p.name, *p.aliases)} for p in people}
        first = [p for p in people if norm in firsts[p.id]] or \
            [p for p in people if any(same_given_name(norm, given) for given in firsts[p.id])]
        if len(first) == 1:
            return first[0]
        if len(first) > 1:
            listed = ", ".join(f"{p.name} (id {p.id})" for p in first)
            raise UnknownName(f"{name!r} could be several contacts: {listed}; give the full name or the id")
    if norm in {normalize_name(gone) for gone in store.people.removed_keys().values()}:
        raise UnknownName(f"you removed {name!r} from your contacts (`aggregator contacts remove`); "
                          "`aggregator contacts import PATH --include-removed` brings them back")
    from rapidfuzz import process, utils  # only for a name that matches nobody: reconnect and lists never need it

    names = {p.id: p.name for p in people}
    close = [names[key] for _, score, key in process.extract(name, names, limit=3, scorer=_name_likeness,
                                                             processor=utils.default_process) if score >= 70]
    hint = (f"; did you mean {', '.join(close)}?" if close else "; `aggregator contacts list` shows them" if people
            else "; import contacts with `aggregator contacts import`")
    raise UnknownName(f"no contact named {name!r}{hint}")


def _name_likeness(typed: str, name: str, **_) -> float:
    """How like a contact's name a typed one is: the whole name, or for one typed word its closest part
    ("Prya" is Priya Raman's; "Liz" is not Samuel Ortiz's, though both end in -iz)."""
    from rapidfuzz import fuzz

    parts = name.split() if " " not in typed.strip() else []
    return max([fuzz.ratio(typed, name), *(fuzz.ratio(typed, part) for part in parts)])


def log_attended(store: Store, settings: Settings, event_ident: str, names: list[str], *, now: datetime) -> dict:
    """Record that you went to an event and met `names` there (each also counts as a catch-up).

    An unknown event id is bad usage (store.UnknownEvent, exit 2), as is an unknown name and an
    event that has not started yet (NotYet)."""
    stored = store.events.find(event_ident)  # an unknown id points to `past` too
    people = list({p.id: p for p in (find_contact(store, n) for n in names)}.values())  # "--with Ana --with Ana Souza"
    if stored.start_utc > now:
        local = stored.start_utc.astimezone(settings.timezone)
        starts = f"{local:%a} {local.day} {local:%b %Y %H:%M}"
        raise NotYet(f"{stored.title!r} has not started yet (it starts {starts}): log it once you have been")
    store.attendance.log_attended(stored.id, people, now)
    met_on = stored.event.start
    met_on = met_on.astimezone(settings.timezone).date() if isinstance(met_on, datetime) else met_on
    for person in people:
        store.people.touch(person.id, min(met_on, now.astimezone(settings.timezone).date()), now,
                           note=f"met at {stored.title}")
    refresh_social(store, now, HALF_LIFE_DAYS, settings.timezone)
    return {"event": {"id": stored.id, "title": stored.title}, "met": [p.name for p in people]}


def log_touch(store: Store, settings: Settings, name: str, *, on: date | None, now: datetime) -> dict:
    contact = find_contact(store, name)
    today = now.astimezone(settings.timezone).date()
    if on is not None and on > today:
        raise NotYet(f"{on.isoformat()} is in the future (today is {today.isoformat()}): "
                     "log a catch-up once it has happened")
    day = on or today
    store.people.touch(contact.id, day, now)
    return {"id": contact.id, "name": contact.name, "on": day.isoformat()}


@dataclass
class Overdue:
    contact: Contact
    days: int | None  # None: never logged
    events: list[dict[str, Any]]


def overdue_contacts(store: Store, settings: Settings, *, now: datetime) -> list[Overdue]:
    """Every contact overdue for a catch-up (never logged counts), no events looked up yet."""
    today = now.astimezone(settings.timezone).date()
    default = settings.profile.reconnect_after_days
    overdue = []
    for c in store.people.contacts():
        # its own name: reusing `days` here once replaced the --days window (issue 12)
        late, days_since = catch_up_state(c.last_contacted, c.cadence_days or default, today)
        if late:
            overdue.append(Overdue(c, days_since, []))
    return overdue


def reconnect(store: Store, settings: Settings, *, now: datetime, days: int = RECONNECT_DAYS) -> list[Overdue]:
    """Contacts overdue for a catch-up, each with the upcoming events where they are likely to be.

    Those you can meet soon come first, then the longest overdue.
    """
    overdue = {o.contact.id: o for o in overdue_contacts(store, settings, now=now)}
    events = store.events.between(start=now, end=now + timedelta(days=days))
    for item in rank_events(store, settings, events, now=now, explain=False):
        for chance in item.chances:
            if chance.contact_id in overdue and chance.probability >= LIKELY:
                overdue[chance.contact_id].events.append({
                    "id": item.id, "title": item.event.title, "start": item.event.start.isoformat(),
                    "probability": round(chance.probability, 3), "evidence": chance.evidence,
                })
    for entry in overdue.values():
        entry.events.sort(key=lambda e: (-e["probability"], e["start"]))
    return sorted(overdue.values(), key=lambda o: (not o.events, -(o.days if o.days is not None else 10**6),
                                                   o.contact.name))


def reconnect_json(entries: list[Overdue]) -> list[dict[str, Any]]:
    return [{"id": o.contact.id, "name": o.contact.name, "last_contacted": o.contact.last_contacted,
             "days_since": o.days, "events": o.events} for o in entries]


def describe_overdue(entry: Overdue) -> str:
    return "never logged" if entry.days is None else f"{months(entry.days)} since you caught up"


def contact_list(store: Store, *, now: datetime) -> list[dict[str, Any]]:
    """`contacts list`: each contact with the past events they were seen at (CONTRACT.md: events_matched)."""
    counts = store.attendance.contact_event_counts(before=now)
    out = []
    for c in store.people.contacts():
        seen, last = counts.get(c.id, (0, None))
        out.append({"id": c.id, "name": c.name, "names": [c.name, *c.aliases], "company": c.company,
                    "emails": list(c.emails), "urls": list(c.urls), "last_contacted": c.last_contacted,
                    "events_matched": seen, "last_seen_at": last})
    return out
