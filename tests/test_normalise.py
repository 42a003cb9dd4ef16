"""normalise(event, spec): the one place that decides what of an event is kept (issue 9 step 4, 11 #1)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from aggregator.model import Event, Person, Venue
from aggregator.normalise import normalise
from aggregator.source import SourceSpec
from tests.conftest import NOW

SPEC = SourceSpec(name="src", kind="ics", url="https://x.org/feed.ics")


def event(**kw) -> Event:
    return Event(source_uid="u", title=kw.pop("title", "Python night"), start=kw.pop("start", NOW), **kw)


def test_a_clean_event_comes_back_equal():
    clean = event(end=NOW + timedelta(hours=2), url="https://x.org/e", venue=Venue("Lib", "1 Main St", "Portland",
                  45.5, -122.6), group="PDX Python", tags=("python",), attendees=(Person("Dana Lee", status="maybe"),))
    assert normalise(clean, SPEC) == clean


def test_the_sources_group_overrides_the_kinds():
    assert normalise(event(group="Found"), SourceSpec("s", "ics", "https://x", group="Configured")).group == "Configured"
    assert normalise(event(group="Found"), SPEC).group == "Found"


@pytest.mark.parametrize("end", [NOW - timedelta(hours=1), NOW])
def test_an_end_at_or_before_the_start_is_dropped(end):
    assert normalise(event(end=end), SPEC).end is None


def test_an_all_day_end_before_its_start_and_a_mixed_end_are_dropped():
    day = date(2026, 12, 12)
    assert normalise(event(start=day, end=date(2026, 12, 11), all_day=True), SPEC).end is None
    assert normalise(event(start=day, end=datetime(2026, 12, 13, tzinfo=timezone.utc), all_day=True), SPEC).end is None


@pytest.mark.parametrize("lat,lon,kept", [
    (45.5, -122.6, True), (91.0, 10.0, False), (10.0, 181.0, False), (-122.6, 45.5, False),  # swapped: out of range
    (0.0, 0.0, False), (float("nan"), 1.0, False), (45.5, None, False),
])
def test_coordinates_out_of_range_become_unknown(lat, lon, kept):
    venue = normalise(event(venue=Venue("Hall", lat=lat, lon=lon)), SPEC).venue
    assert (venue.lat, venue.lon) == ((lat, lon) if kept else (None, None))
    assert venue.name == "Hall"


def test_swapped_coordinates_in_range_are_not_guessed():
    venue = normalise(event(venue=Venue(lat=-45.5, lon=45.5)), SPEC).venue
    assert (venue.lat, venue.lon) == (-45.5, 45.5)


@pytest.mark.parametrize("title,expected", [
    ("Cancelled: Python night", "Python night"), ("CANCELLED - Python night", "Python night"),
    ("[Canceled] Python night", "Python night"), ("Cancelled", "Cancelled"),
])
def test_cancelled_title_prefixes_cancel_the_event(title, expected):
    out = normalise(event(title=title), SPEC)
    assert out.status == "cancelled" and out.title == expected


def test_a_title_merely_about_cancelling_is_left_alone():
    out = normalise(event(title="Cancellation policies for meetups"), SPEC)
    assert out.status == "confirmed" and out.title == "Cancellation policies for meetups"


def test_control_and_escape_characters_leave_every_text_field():
    dirty = event(title="Rust\x1b[2J night\n", description="Line one\x00\nLine two\x1b]8;;http://e\x07",
                  venue=Venue("Hall\x07", "1 Main\nSt", "Port\u202eland"), group="G\x1b[31m",
                  tags=("ok\x00", "", "OK"), timezone="Europe/Berlin\x00")
    out = normalise(dirty, SPEC)
    assert out.title == "Rust night"
    assert out.description == "Line one\nLine two"
    assert (out.venue.name, out.venue.address, out.venue.city) == ("Hall", "1 Main St", "Portland")
    assert out.group == "G" and out.tags == ("ok",) and out.timezone == "Europe/Berlin"


def test_an_empty_title_becomes_untitled():
    assert normalise(event(title="\x1b[0m "), SPEC).title == "(untitled event)"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://x.org/a b", "http://", "mailto:a@x.org",
                                 "https://x.org:99999/"])
def test_urls_must_be_http_and_well_formed(url):
    out = normalise(event(url=url, attendees=(Person("Dana Lee", url=url),)), SPEC)
    assert out.url is None and out.attendees[0].url is None


def test_attendees_are_cleaned_and_empty_ones_dropped():
    people = (Person("  Dana\x1b[1m Lee ", email="MAILTO:Dana@X.org"), Person(None, "ftp://x", "not-an-email"),
              Person("Kim", role="speaker", status="weird"), Person("Ann", role="boss"))
    out = normalise(event(attendees=people), SPEC).attendees
    assert out == (Person("Dana Lee", None, "dana@x.org"), Person("Kim", role="speaker"), Person("Ann"))


def test_an_implausible_start_drops_the_event():
    assert normalise(event(start=datetime(1601, 1, 1, tzinfo=timezone.utc)), SPEC) is None
    assert normalise(event(start=date(9999, 1, 1), all_day=True), SPEC) is None
