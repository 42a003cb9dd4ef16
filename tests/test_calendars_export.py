"""The rules a personal calendar entry is matched by, on exports shaped as calendar apps write them
(pure: parse + match, no store). The same exports through `aggregator fetch`: test_calendars_apps."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from aggregator.calendars import CalendarHints, calendar_hints, match_calendar
from aggregator.dedup import Listing
from aggregator.model import Event, Person, Venue
from sources.ics import parse as parse_ics
from tests.conftest import CORPUS, make_ctx

TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
START = datetime(2026, 11, 5, 18, 30, tzinfo=TZ)
TYPING = Listing("e1", "pdx-python", START, "PDX Python: Typing in practice", group="PDX Python",
                 venue="Puppet Labs", url="https://www.meetup.com/pdx-python/events/301/")
UIDS = {"e1": "event_301@meetup.com"}


def google_export(*events: str, name: str = "me@example.com") -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
                        "METHOD:PUBLISH", f"X-WR-CALNAME:{name}", "X-WR-TIMEZONE:America/Los_Angeles",
                        *events, "END:VCALENDAR", ""])


def vevent(uid: str, summary: str, start: str = "20261106T023000Z", *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"DTSTART:{start}", f"UID:{uid}", f"SUMMARY:{summary}", *lines,
                        "END:VEVENT"])


def matched(text: str, listings=(TYPING,), uids=UIDS):
    entries = parse_ics(text.encode(), "", ctx=make_ctx())
    return match_calendar(entries, list(listings), now=NOW, tz=TZ, hints=calendar_hints(text), uids=uids)


def test_a_google_entry_with_the_events_uid_title_and_time_matches_though_the_calendar_is_named_after_you():
    """The issue's case: the calendar's name became the entry's group, and two "organisers" at one
    time needed a place a personal entry does not have."""
    [match] = matched(google_export(vevent("event_301@meetup.com", "PDX Python: Typing in practice")))
    assert match.event_id == "e1" and match.past


def test_the_same_uid_is_decisive_whatever_the_title_place_or_a_stale_time():
    text = google_export(vevent("event_301@meetup.com", "dinner + talk", "20261108T030000Z", "LOCATION:Home"))
    [match] = matched(text)
    assert match.event_id == "e1" and match.start == START  # the listed event's own time


def test_one_occurrence_of_a_series_is_matched_at_its_own_time_only():
    series = {"e1": "weekly@pdx-python/20261106T023000Z"}
    assert [m.event_id for m in matched(google_export(vevent("weekly@pdx-python", "x")), uids=series)] == ["e1"]
    later = google_export(vevent("weekly@pdx-python", "x", "20261113T023000Z"))
    assert matched(later, uids=series) == []


def test_an_edited_title_at_the_events_time_matches_without_a_place():
    for title in ("Going: PDX Python", "PDX Python - Typing talk", "Typing in practice", "RSVP'd: typing in practice"):
        [match] = matched(google_export(vevent("g1@google.com", title, "20261106T020000Z")))
        assert match.event_id == "e1", title
    for title in ("Dentist", "Python", "Going: PDX Rust"):
        assert matched(google_export(vevent("g1@google.com", title))) == [], title


def test_a_link_to_the_events_page_is_decisive_in_url_description_or_location():
    cases = [
        "URL:https://www.meetup.com/pdx-python/events/301/",
        "DESCRIPTION:with Dana\\nhttps://meetup.com/pdx-python/events/301?utm_source=share",
        'DESCRIPTION:<a href="https://www.google.com/url?q=https://www.meetup.com/pdx-python/events/301/&amp;'
        'sa=D&amp;source=calendar">RSVP page</a>',  # Google's HTML: only the anchor's href has the link
        "LOCATION:https://www.meetup.com/pdx-python/events/301/",
    ]
    for line in cases:
        [match] = matched(google_export(vevent("g2@google.com", "Dinner", "20261106T010000Z", line)))
        assert match.event_id == "e1", line
    other = google_export(vevent("g2@google.com", "Dinner", "20261106T010000Z",
                                 "URL:https://www.meetup.com/pdx-python/events/999/"))
    assert matched(other) == []


def test_an_entry_you_declined_never_matches_and_nobody_in_it_is_logged():
    me = "ATTENDEE;PARTSTAT=DECLINED;CN=me@example.com:mailto:me@example.com"
    dana = "ATTENDEE;PARTSTAT=ACCEPTED;CN=Dana Lee:mailto:dana@example.org"
    assert matched(google_export(vevent("event_301@meetup.com", "Typing in practice", "20261106T023000Z", me, dana))) == []
    accepted = me.replace("DECLINED", "ACCEPTED")
    sam = "ATTENDEE;PARTSTAT=DECLINED;CN=Sam Rivera:mailto:sam@example.org"
    [match] = matched(google_export(vevent("event_301@meetup.com", "x", "20261106T023000Z", accepted, dana, sam)))
    assert [p.email for p in match.people] == ["dana@example.org"]  # not you, not who declined


def owner_lines(*emails: str) -> list[str]:
    return [f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{e}" for e in emails]


def test_the_owner_is_the_calendars_name_else_the_address_in_every_entry_with_people():
    assert calendar_hints(google_export()).owner == {"me@example.com"}
    assert calendar_hints(google_export(name="Calendar")).owner == set()
    outlook = google_export(*(vevent(f"o{i}", "x", "20261106T023000Z", 'ORGANIZER;CN="Me":mailto:Me@Outlook.example',
                                     *owner_lines(f"guest{i}@example.org")) for i in range(3)), name="Calendar")
    assert calendar_hints(outlook).owner == {"me@outlook.example"}
    two = google_export(*(vevent(f"o{i}", "x", "20261106T023000Z", *owner_lines("dana@example.org"))
                          for i in range(2)), name="Home")
    assert calendar_hints(two).owner == set()  # two entries with one friend: not enough to call her you


def test_a_cancelled_entry_and_an_all_day_reminder_do_not_match():
    assert matched(google_export(vevent("g3", "PDX Python: Typing in practice", "20261106T023000Z",
                                        "STATUS:CANCELLED"))) == []
    day = Event("d", "PDX Python: Typing in practice", START.date(), all_day=True)
    assert match_calendar([day], [TYPING], now=NOW, tz=TZ) == []


def test_people_come_from_the_entry_and_the_calendar_name_is_never_a_group():
    entry = Event("g4", "Typing in practice", START, group="me@example.com", venue=Venue(),
                  attendees=(Person(name="Dana Lee", email="dana@example.org"),))
    other_group = Listing("e1", "pdx-python", START, "Typing in practice", group="PDX Python", venue="Puppet Labs")
    [match] = match_calendar([entry], [other_group], now=NOW, tz=TZ, hints=CalendarHints())
    assert match.people[0].name == "Dana Lee"


REAL_GOOGLE = CORPUS / "real-sources" / "community-calendar"


@pytest.mark.skipif(not REAL_GOOGLE.is_dir(), reason="shared corpus not present")
def test_real_google_exports_name_their_owner_and_are_read_quickly():
    """Real Google Calendar exports (years of history): a calendar named after an address has that
    owner; one with a title has none unless one address is in every entry with people."""
    files = sorted(REAL_GOOGLE.glob("*/gcal_*.ics"))
    assert files
    owners = {}
    began = time.monotonic()
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        owners[path.name] = calendar_hints(text).owner
    assert time.monotonic() - began < 10
    assert owners["gcal_artsanctuaryindiana.ics"] == {"artsanctuaryindiana@gmail.com"}
    assert owners["gcal_bloominglabs.ics"] == {"bloominglabs@gmail.com"}
    for name, owner in owners.items():
        assert len(owner) <= 1, (name, owner)


def test_a_match_is_the_closest_listed_event_in_time():
    near = Listing("e2", "rust-pdx", START + timedelta(minutes=10), "Typing in practice", venue="Puppet Labs")
    entry = Event("g5", "Typing in practice", START + timedelta(minutes=12))
    [match] = match_calendar([entry], [TYPING, near], now=NOW, tz=TZ)
    assert match.event_id == "e2"


def test_a_link_to_a_whole_site_is_not_an_events_page():
    site = Listing("e9", "luma", START - timedelta(hours=2), "Coffee", url="https://lu.ma/")
    text = google_export(vevent("g6@google.com", "Dinner", "20261106T000000Z", "DESCRIPTION:booked on https://lu.ma/"))
    assert matched(text, listings=(site,)) == []
