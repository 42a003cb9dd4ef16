"""The fetch run's last step: your own calendars (`profile.calendars`) against the stored events.

An entry that is the same real event as a listed one (calendars.match_calendar) logs it: a past
one as attended, with its attendees who are contacts met that day; a future one as going. Only
matched entries leave a trace; the calendar's own events are never stored.
"""

from __future__ import annotations

import time
from datetime import datetime

from aggregator.calendars import CalendarHints, CalendarMatch, calendar_hints, match_calendar, redact_text, redact_url
from aggregator.config import Settings
from aggregator.contacts import candidates
from aggregator.errors import SourceError
from aggregator.http import Http
from aggregator.identity import Matcher
from aggregator.model import Event
from aggregator.source import Context
from aggregator.store import Store
from aggregator.store.personal import PersonalEntry
from aggregator.text import safe_text
from sources.ics import parse as parse_ics
from sources.ics_text import decode as decode_ics


def read_personal_calendars(settings: Settings, store: Store, http: Http, now: datetime,
                            window: tuple[datetime, datetime]) -> tuple[list[str], list[str]]:
    """`profile.calendars`: which stored events the user went to or is going to, and whom they met.

    Only matched entries leave a trace (attendance rows, my_events, catch-ups); the calendar's own
    events are never stored. A calendar that cannot be read is named (redacted: its address may
    be secret) and the evidence of the last good read is kept; the run then exits 1.
    Returns (notes, problems) for the run's report: what was matched, and what failed.
    """
    notes: list[str] = []
    problems: list[str] = []
    if not settings.profile.calendars:
        return notes, problems
    start, end = window
    priorities = {s.name: s.priority for s in settings.sources}
    listings = store.merges.candidates(start=start, end=end, priorities=priorities)
    uids = store.personal.uids(start=start, end=end)
    matcher = Matcher.build(candidates(store.people.contacts()))
    matched: list[CalendarMatch] = []
    failed = False
    for url in settings.profile.calendars:
        name = redact_url(url)
        try:
            entries, hints = _read_calendar(url, http, settings, now, window)
            found = match_calendar(entries, listings, now=now, tz=settings.timezone, hints=hints, uids=uids)
        except SourceError as exc:
            problem = redact_text(str(exc), url)
        except Exception as exc:  # a parser bug on an odd calendar must not stop the run
            problem = redact_text(f"internal error: {exc.__class__.__name__}: {exc}", url)
        else:
            matched += found
            past = sum(1 for m in found if m.past)
            notes.append(f"your calendar {name}: {past} past and {len(found) - past} upcoming events matched")
            continue
        failed = True
        message = safe_text(f"calendar not read: {name}: {problem}", one_line=True)
        notes.append(message)
        problems.append(message)
    if failed:
        return notes, problems
    try:
        store.personal.replace(_personal_entries(store, settings, matched, matcher), now)
    except Exception as exc:  # a locked or full database fails this step, not the run's sources
        message = safe_text(f"evidence from your calendars not stored: {exc.__class__.__name__}: {exc}", one_line=True)
        notes.append(message)
        problems.append(message)
    return notes, problems


def _read_calendar(url: str, http: Http, settings: Settings, now: datetime,
                   window: tuple[datetime, datetime]) -> tuple[list[Event], CalendarHints]:
    """The calendar's entries in the fetch window and what its text says of its owner and links,
    within fetch.deadline. robots.txt is not asked:
    reading the user's own calendar at the address they gave is not crawling, and a calendar
    host's robots.txt (Google's disallows /calendar/) speaks to crawlers, not to its owner."""
    began = time.monotonic()
    ctx = Context(timezone=settings.timezone, window=window, now=now, warn=lambda _: None,
                  deadline=began + settings.fetch.deadline)
    response = http.get_own(url, accept="text/calendar")
    ctx.check_deadline()
    events = parse_ics(response.content, "", ctx=ctx, charset=response.charset)
    ctx.check_deadline()
    hints = calendar_hints(decode_ics(response.content, response.charset))
    ctx.check_deadline()
    return events, hints


def _personal_entries(store: Store, settings: Settings, matched: list[CalendarMatch],
                      matcher: Matcher) -> list[PersonalEntry]:
    """One entry per stored (canonical) event; two calendars naming it list the people of both."""
    canonical = store.personal.canonical([m.event_id for m in matched])
    names = {c.id: c.name for c in store.people.contacts()}
    merged: dict[str, PersonalEntry] = {}
    for m in matched:
        ident, title = canonical.get(m.event_id, (m.event_id, ""))
        contacts = dict(merged[ident].contacts) if ident in merged else {}
        for person in m.people:
            found = matcher.match(person.name, person.email, person.url)
            if found is not None and found.contact_id in names:
                contacts[found.contact_id] = names[found.contact_id]
        merged[ident] = PersonalEntry(ident, m.past, m.start.astimezone(settings.timezone).date(),
                                      tuple(sorted(contacts.items())), title)
    return list(merged.values())
