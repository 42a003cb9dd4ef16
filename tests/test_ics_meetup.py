"""Meetup in the `ics` kind (and its page source): "Online event" is online, and a calendar
that aggregates many groups is not every event's group."""

from __future__ import annotations

import pytest

from aggregator.normalise import normalise
from aggregator.source import SourceSpec
from sources import ics, meetup
from tests.conftest import CORPUS as SHARED_CORPUS
from tests.conftest import make_ctx

ICS_CORPUS = SHARED_CORPUS / "ics"


def read(text: str, **kwargs):
    return sorted(ics.parse(text.replace("\n", "\r\n").encode(), "", ctx=make_ctx(), **kwargs),
                  key=lambda e: e.start)


def meetup_event(n: int, group_slug: str, group_name: str, location: str, geo: str = "52.36;4.88") -> str:
    return (f"BEGIN:VEVENT\nUID:event_{n}@meetup.com\nSUMMARY:Talk {n}\nDTSTART:2026120{n}T180000Z\n"
            f"DESCRIPTION:{group_name}\\nTuesday\\, December {n} at 6:00 PM\\n\\nDetails\n"
            f"GEO:{geo}\nLOCATION:{location}\nURL:https://www.meetup.com/{group_slug}/events/{n}00/\n"
            "ORGANIZER;CN=Calendar Curator:mailto:curator@example.org\nEND:VEVENT\n")


def test_meetup_online_event_with_the_group_coordinates_is_online_without_venue_coordinates():
    text = ("BEGIN:VCALENDAR\nX-WR-CALNAME:Events - PyData NL\n"
            + meetup_event(1, "pydata-nl", "PyData NL", "Online event") + "END:VCALENDAR\n")
    [event] = read(text)
    assert event.online  # "include_online: false" must drop it, not see it 1 km from home
    assert (event.venue.lat, event.venue.lon) == (None, None)


def test_a_venue_with_an_online_word_and_an_address_keeps_its_coordinates():
    text = ("BEGIN:VCALENDAR\n" + meetup_event(2, "pydata-nl", "PyData NL", "Online Marketing HQ (Keizersgracht 1)")
            + "END:VCALENDAR\n")
    [event] = read(text)
    assert not event.online
    assert (event.venue.lat, event.venue.lon) == (52.36, 4.88)


def test_a_calendar_aggregating_several_meetup_groups_uses_each_events_group():
    text = ("BEGIN:VCALENDAR\nX-WR-CALNAME:Dutch Data Science Calendar\n"
            + meetup_event(1, "pydata-nl", "PyData Amsterdam", "OBA (Oosterdokskade 143)")
            + meetup_event(2, "data-drinks", "Data Drinks", "Xomnia (Raamstraat 7)") + "END:VCALENDAR\n")
    events = read(text)
    assert [e.group for e in events] == ["PyData Amsterdam", "Data Drinks"]
    spec = SourceSpec("dutch-data", "ics", "https://example.org/cal.ics", group="My choice")
    assert normalise(events[0], spec).group == "My choice"  # the source's group: option still wins (pipeline)


def test_a_single_group_calendar_still_names_its_group_after_the_calendar():
    text = ("BEGIN:VCALENDAR\nX-WR-CALNAME:Events - PyData NL\n"
            + meetup_event(1, "pydata-nl", "PyData Amsterdam", "OBA")
            + meetup_event(2, "pydata-nl", "PyData Amsterdam", "OBA") + "END:VCALENDAR\n")
    assert {e.group for e in read(text)} == {"Events - PyData NL"}


@pytest.mark.corpus
def test_the_dutch_data_science_calendar_is_not_its_events_group():
    path = ICS_CORPUS / "meetup-aggregated-dutch-ds-calendar-2023.ics"
    if not path.exists():
        pytest.skip("../shared/corpus is absent")
    from datetime import datetime, timezone
    window = (datetime(2023, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 1, tzinfo=timezone.utc))
    events = ics.parse(path.read_bytes(), "", ctx=make_ctx(window=window))
    groups = {e.group for e in events}
    assert "Dutch Data Science Calendar" not in groups
    assert {"PyData Amsterdam", "ODSC Amsterdam Data Science"} <= groups
    online = [e for e in events if (e.venue.name or "").lower() == "online event"]
    assert online and all(e.online and e.venue.lat is None for e in online)


def test_meetup_page_online_event_venue_has_no_coordinates():
    state = {
        "Event:1": {"id": "1", "title": "Remote talk", "dateTime": "2026-12-03T18:00:00+01:00",
                    "eventType": "PHYSICAL", "venue": {"__ref": "Venue:9"}, "group": {"__ref": "Group:5"}},
        "Venue:9": {"name": "Online event", "lat": 52.36, "lng": 4.88},
        "Group:5": {"name": "PyData NL", "urlname": "pydata-nl"},
    }
    [event] = meetup.apollo_events({"__APOLLO_STATE__": state}, make_ctx())
    assert event.online
    assert (event.venue.lat, event.venue.lon) == (None, None)


REAL_MEETUP = (SHARED_CORPUS / "real-sources" / "community-calendar"
               / "asheville" / "meetup_dances_of_universal_peace_circles_of_nw_nc_se_tn.ics")


@pytest.mark.corpus
def test_a_real_meetup_export_keeps_its_events_beyond_the_horizon():
    """Issue 20: fetch.horizon_days bounds recurring expansion only. Meetup's export, fetched
    2026-08-22, lists ten monthly events up to 2027-06-13; with a 90-day horizon all stay."""
    if not REAL_MEETUP.exists():
        pytest.skip("../shared/corpus/real-sources is absent")
    from datetime import datetime, timedelta, timezone

    fetched = datetime(2026, 8, 22, tzinfo=timezone.utc)
    window = (fetched - timedelta(days=730), fetched + timedelta(days=90))
    events = ics.parse(REAL_MEETUP.read_bytes(), "", ctx=make_ctx(window=window))
    assert len(events) == REAL_MEETUP.read_text().count("BEGIN:VEVENT") == 10
    assert max(e.start for e in events).date().isoformat() == "2027-06-13"


def test_a_meetup_event_381_days_ahead_is_fetched_and_listed(tmp_path, server):
    """Issue 20: with the default 365-day horizon the event never appeared."""
    from tests.conftest import NOW, Cli, fixture_bytes, write_config

    far = (NOW + __import__("datetime").timedelta(days=381)).strftime("%Y%m%d")
    text = fixture_bytes("ics/meetup_group_feed.ics").decode()
    extra = ("BEGIN:VEVENT\r\nDTSTAMP:20261120T120000Z\r\nUID:event_399@meetup.com\r\n"
             f"DTSTART;TZID=America/Los_Angeles:{far}T183000\r\nDTEND;TZID=America/Los_Angeles:{far}T203000\r\n"
             "SUMMARY:PyCascades planning night\r\nURL:https://www.meetup.com/pdxpython/events/399/\r\n"
             "END:VEVENT\r\n")
    server.add("/pdxpython/events/ical/", text.replace("END:VCALENDAR", extra + "END:VCALENDAR").encode(),
               headers={"Content-Type": "text/calendar"})
    cli = Cli(write_config(tmp_path, [{"name": "pdx", "kind": "ics", "url": server.url("/pdxpython/events/ical/")}]))
    assert cli("fetch").returncode == 0
    listed = cli.json("upcoming", "--limit", "0", "--days", "400")
    assert "PyCascades planning night" in {e["title"] for e in listed}
