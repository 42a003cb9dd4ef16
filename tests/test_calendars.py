"""The user's own calendar matched against aggregated events (pure: no SQLite, no HTTP)."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from aggregator.calendars import match_calendar
from aggregator.dedup import Listing
from aggregator.model import Event, Person, Venue

TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def listing(id_, start, title, **kw):
    return Listing(id=id_, source=kw.pop("source", "pdx-python"), start=start, title=title, **kw)


def mine(uid, start, title, **kw):
    return Event(source_uid=uid, title=title, start=start, end=start + timedelta(hours=2), **kw)


def test_a_past_entry_of_the_same_meetup_is_a_visit_with_the_people_it_lists():
    start = datetime(2026, 11, 5, 18, 30, tzinfo=TZ)
    stored = [listing("e1", start, "PDX Python: Typing in practice", group="PDX Python", venue="Puppet Labs"),
              listing("e2", start + timedelta(days=7), "PDX Python: Packaging", group="PDX Python")]
    dana = Person(name="Dana Lee", email="dana@example.org")
    entry = mine("g-1", start.astimezone(timezone.utc), "Typing in practice", venue=Venue(name="Puppet Labs"),
                 attendees=(dana,))
    [match] = match_calendar([entry], stored, now=NOW, tz=TZ)
    assert match.event_id == "e1" and match.past and match.people == (dana,)


def test_a_future_entry_says_the_user_is_going():
    start = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    stored = [listing("e3", start, "Rust hack night: async", group="PDX Rust", url="https://example.org/events/77")]
    entry = mine("g-2", start + timedelta(minutes=5), "Going: rust thing", url="https://example.org/events/77")
    [match] = match_calendar([entry], stored, now=NOW, tz=TZ)
    assert match.event_id == "e3" and not match.past


def test_private_entries_that_match_nothing_are_not_events():
    start = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    stored = [listing("e1", start, "PDX Python: Typing in practice", group="PDX Python")]
    assert match_calendar([mine("dentist", start, "Dentist appointment")], stored, now=NOW, tz=TZ) == []


def test_a_shared_group_page_url_is_not_decisive():
    start = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    group_page = "https://example.org/pdx-python/"
    stored = [listing("e4", start, "Lightning talks", url=group_page),
              listing("e5", start + timedelta(hours=3), "Board meeting", url=group_page)]
    entry = mine("g-3", start + timedelta(hours=3), "Dinner with family", url=group_page)
    assert match_calendar([entry], stored, now=NOW, tz=TZ) == []


def test_a_cancelled_personal_entry_never_matches():
    start = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    stored = [listing("e6", start, "PDX Python: Typing in practice")]
    entry = mine("g-4", start, "PDX Python: Typing in practice", status="cancelled")
    assert match_calendar([entry], stored, now=NOW, tz=TZ) == []


def test_all_day_entries_match_all_day_listings_only():
    day = date(2026, 12, 12)
    start = datetime(2026, 12, 12, 0, 0, tzinfo=TZ)
    stored = [listing("conf", start, "PyCascades 2026 conference", all_day=True),
              listing("talk", start + timedelta(minutes=10), "PyCascades 2026 conference", source="other")]
    entry = Event(source_uid="g-5", title="PyCascades 2026 conference", start=day, end=day + timedelta(days=1),
                  all_day=True)
    [match] = match_calendar([entry], stored, now=NOW, tz=TZ)
    assert match.event_id == "conf"
