"""Time zones in the `ics` kind: vendor TZIDs, TZID with a trailing Z, Outlook display
names, and isolation between feeds read in one process."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from icalendar.timezone import tzp

from aggregator import timezones
from sources import ics
from tests.conftest import make_ctx

UTC = timezone.utc


def read(text: str):
    warnings: list[str] = []
    events = ics.parse(text.replace("\n", "\r\n").encode(), "", ctx=make_ctx(warnings=warnings))
    return sorted(events, key=lambda e: e.start), warnings


def one_event(tzid: str, value: str = "20260703T120000", vtimezone: str = "") -> str:
    quoted = f'"{tzid}"' if any(c in tzid for c in ",;:") else tzid
    return ("BEGIN:VCALENDAR\nVERSION:2.0\n" + vtimezone + "BEGIN:VEVENT\nUID:tz-1\nSUMMARY:Zoned\n"
            f"DTSTART;TZID={quoted}:{value}\nEND:VEVENT\nEND:VCALENDAR\n")


@pytest.mark.parametrize("tzid, iana", [
    ("/softwarestudio.org/Olson_20011030_5/Pacific/Auckland", "Pacific/Auckland"),  # Evolution
    ("/freeassociation.sourceforge.net/Tzfile/Europe/Berlin", "Europe/Berlin"),  # libical
    ("/freeassociation.sourceforge.net/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("/Europe/Stockholm", "Europe/Stockholm"),
    ("(UTC-05:00) Eastern Time (US and Canada)", "America/New_York"),  # "and" as well as "&"
])
def test_vendor_prefixed_and_display_name_tzids_map_to_iana_zones(tzid, iana):
    assert timezones.iana_name(tzid) == iana
    [event], warnings = read(one_event(tzid))
    assert event.timezone == iana
    assert event.start.utcoffset() == datetime(2026, 7, 3, 12, tzinfo=timezones.zone(iana)).utcoffset()
    assert warnings == []


def test_a_value_with_a_tzid_and_a_trailing_z_is_local_time_in_the_tzid():
    # As icalendar reads it and as x-wr-timezone's answer key says of Google's exports.
    [event], _ = read(one_event("America/New_York", "20261222T170000Z"))
    assert event.start.astimezone(UTC) == datetime(2026, 12, 22, 22, 0, tzinfo=UTC)


def test_a_trailing_z_with_an_unknown_tzid_stays_utc():
    [event], _ = read(one_event("Nowhere Standard Time", "20261222T170000Z"))
    assert event.start.astimezone(UTC) == datetime(2026, 12, 22, 17, 0, tzinfo=UTC)


def custom_zone(tzid: str, offset: str) -> str:
    return (f"BEGIN:VTIMEZONE\nTZID:{tzid}\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:{offset}\n"
            f"TZOFFSETTO:{offset}\nEND:STANDARD\nEND:VTIMEZONE\n")


@pytest.mark.parametrize("tzid", ["Customized Time Zone", "My Office Zone"])
def test_a_feed_defining_a_custom_zone_does_not_change_a_later_feed_with_the_same_tzid(tzid):
    # icalendar caches VTIMEZONEs per process by TZID, first come first served.
    tzp.use_zoneinfo()  # start from an empty cache, as a fresh process would
    first = one_event(tzid, vtimezone=custom_zone(tzid, "+0900"))
    second = one_event(tzid, vtimezone=custom_zone(tzid, "-0300"))
    [alone], _ = read(second)
    tzp.use_zoneinfo()
    read(first)
    [after], _ = read(second)
    assert alone.start.astimezone(UTC) == after.start.astimezone(UTC) == datetime(2026, 7, 3, 15, tzinfo=UTC)
    [again], _ = read(first)
    assert again.start.astimezone(UTC) == datetime(2026, 7, 3, 3, tzinfo=UTC)
