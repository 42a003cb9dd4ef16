"""Single events skip recurring-ical-events' query (sources/ics_expand.single_occurrence):
at the window's start they must still be in or out exactly as recurring-ical-events says;
the window's end bounds the expansion of series only, never a single event (issue 20).

The peers corpus is read in a 1990-2040 window, so it hardly tests the edges; these do.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from sources import ics
from sources.ics_expand import is_single
from tests.conftest import make_ctx

UTC = timezone.utc
WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))

# uid -> the VEVENT's time lines
EDGE_EVENTS = {
    "zero-length-at-window-start": ["DTSTART:20260301T000000Z", "DTEND:20260301T000000Z"],
    "zero-length-at-window-end": ["DTSTART:20260302T000000Z", "DTEND:20260302T000000Z"],
    "no-end-at-window-start": ["DTSTART:20260301T000000Z"],
    "no-end-at-window-end": ["DTSTART:20260302T000000Z"],
    "ends-at-window-start": ["DTSTART:20260228T230000Z", "DTEND:20260301T000000Z"],
    "ends-just-after-window-start": ["DTSTART:20260228T230000Z", "DTEND:20260301T000001Z"],
    "starts-at-window-end": ["DTSTART:20260302T000000Z", "DTEND:20260302T010000Z"],
    "spans-the-window": ["DTSTART:20260228T000000Z", "DTEND:20260303T000000Z"],
    "duration-into-window": ["DTSTART:20260228T230000Z", "DURATION:PT2H"],
    "all-day-first-day": ["DTSTART;VALUE=DATE:20260301"],
    "all-day-day-before": ["DTSTART;VALUE=DATE:20260228"],
    "all-day-day-after": ["DTSTART;VALUE=DATE:20260302"],
    "all-day-two-days-into-window": ["DTSTART;VALUE=DATE:20260228", "DTEND;VALUE=DATE:20260302"],
    "floating-at-window-start": ["DTSTART:20260301T000000", "DTEND:20260301T010000"],
    "floating-before-window": ["DTSTART:20260228T220000", "DTEND:20260228T235959"],
    "floating-at-window-end": ["DTSTART:20260302T000000"],
    "zoned-before-window-in-utc": ["DTSTART;TZID=Europe/Berlin:20260301T003000",
                                   "DTEND;TZID=Europe/Berlin:20260301T005000"],
    "zoned-inside-window": ["DTSTART;TZID=America/New_York:20260301T183000",
                            "DTEND;TZID=America/New_York:20260301T200000"],
    "end-before-start": ["DTSTART:20260301T050000Z", "DTEND:20260228T050000Z"],
    "end-before-start-outside": ["DTSTART:20260305T050000Z", "DTEND:20260304T050000Z"],
    "date-start-datetime-end": ["DTSTART;VALUE=DATE:20260301", "DTEND:20260301T120000Z"],
}


def feed(events: dict[str, list[str]]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for uid, times in events.items():
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:{uid}", *times, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode()


def reference_uids(data: bytes) -> set[str]:
    """recurring-ical-events' answer for the window's start, with no end for single events."""
    calendar = icalendar.Calendar.from_ical(data)
    return {str(c["UID"]) for c in recurring_ical_events.of(calendar).between(WINDOW[0], datetime(9000, 1, 1))}


def our_uids(data: bytes) -> set[str]:
    ctx = make_ctx(tz=ZoneInfo("UTC"), window=WINDOW)
    return {event.source_uid for event in ics.parse(data, ctx=ctx)}


@pytest.mark.parametrize("uid", sorted(EDGE_EVENTS))
def test_a_single_event_at_the_window_start_is_in_or_out_as_recurring_ical_events_says(uid):
    data = feed({uid: EDGE_EVENTS[uid]})
    assert our_uids(data) == reference_uids(data)


def test_the_edge_cases_take_the_fast_path_and_are_not_all_in_or_all_out():
    """Guards the test above: it must exercise single_occurrence on both answers."""
    calendar = icalendar.Calendar.from_ical(feed(EDGE_EVENTS))
    assert all(is_single([event]) for event in calendar.walk("VEVENT"))
    inside = reference_uids(feed(EDGE_EVENTS))
    assert 0 < len(inside) < len(EDGE_EVENTS)
    assert our_uids(feed(EDGE_EVENTS)) == inside


def test_a_lone_exdate_or_rdate_keeps_an_event_on_the_recurring_path():
    """A lone EXDATE on DTSTART removes the event in recurring-ical-events; a fast path that
    ignored it changed 7 peer files once. A lone RDATE adds an occurrence."""
    events = {
        "exdate-on-start": ["DTSTART:20260301T100000Z", "DTEND:20260301T110000Z", "EXDATE:20260301T100000Z"],
        "rdate-into-window": ["DTSTART:20260220T100000Z", "DTEND:20260220T110000Z", "RDATE:20260301T100000Z"],
    }
    calendar = icalendar.Calendar.from_ical(feed(events))
    assert not any(is_single([event]) for event in calendar.walk("VEVENT"))
    data = feed(events)
    calendar = icalendar.Calendar.from_ical(data)
    in_window = {str(c["UID"]) for c in recurring_ical_events.of(calendar).between(*WINDOW)}
    assert our_uids(data) == {"rdate-into-window/20260301T100000Z"} and in_window == {"rdate-into-window"}


def test_a_single_event_counts_against_the_source_cap(monkeypatch):
    """The fast path spends and respects the source's occurrence budget like the slow one."""
    from sources import ics_expand

    monkeypatch.setattr(ics_expand, "SOURCE_CAP", 2)
    warnings: list[str] = []
    events = {f"e{n}": [f"DTSTART:2026030{n}T100000Z"] for n in range(1, 5)}
    ctx = make_ctx(tz=ZoneInfo("UTC"), window=(WINDOW[0], datetime(2026, 3, 10, tzinfo=UTC)), warnings=warnings)
    assert len(ics.parse(feed(events), ctx=ctx)) == 2
    assert sum("stopped at 2 occurrences" in w for w in warnings) == 1


def test_the_window_end_drops_no_single_event_but_bounds_a_series():
    """fetch.horizon_days bounds recurring expansion; a Meetup event 381 days ahead is kept."""
    far = ["DTSTART:20270316T180000Z", "DTEND:20270316T200000Z"]  # 380 days after WINDOW's end
    data = feed({"far-single": far, "far-series": [*far, "RRULE:FREQ=WEEKLY;COUNT=3"],
                 "past-single": ["DTSTART:20260201T180000Z"]})
    assert our_uids(data) == {"far-single"}
