"""Series of the `ics` kind: copies of one UID, RANGE=THISANDFUTURE, X-WR-TIMEZONE and
the caps that keep an endless series bounded."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sources import ics, ics_expand
from tests.conftest import make_ctx

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def read(text: str, window=None):
    warnings: list[str] = []
    events = ics.parse(text.replace("\n", "\r\n").encode(), "", ctx=make_ctx(warnings=warnings, window=window))
    return sorted(events, key=lambda e: e.start), warnings


def calendar(*events: str, head: str = "") -> str:
    return "BEGIN:VCALENDAR\nVERSION:2.0\n" + head + "".join(events) + "END:VCALENDAR\n"


def vevent(**props: str) -> str:
    lines = [f"{name.replace('_', '-').replace('--', ';')}:{value}" for name, value in props.items()]
    return "BEGIN:VEVENT\n" + "\n".join(lines) + "\nEND:VEVENT\n"


def test_the_highest_sequence_of_several_copies_of_one_uid_wins():
    old = vevent(UID="v@x", SEQUENCE="1", DTSTAMP="20261101T000000Z", SUMMARY="Old time",
                 DTSTART="20261203T180000Z")
    new = vevent(UID="v@x", SEQUENCE="2", DTSTAMP="20261102T000000Z", SUMMARY="New time",
                 DTSTART="20261204T180000Z")
    events, _ = read(calendar(new, old))
    assert [(e.title, e.start) for e in events] == [("New time", datetime(2026, 12, 4, 18, 0, tzinfo=UTC))]


def test_equal_sequence_the_latest_dtstamp_wins_and_old_copies_are_not_extra_occurrences():
    master_old = vevent(UID="s@x", DTSTAMP="20261101T000000Z", SUMMARY="Weekly (old)",
                        DTSTART="20261203T180000Z", RRULE="FREQ=WEEKLY;COUNT=3")
    master_new = vevent(UID="s@x", DTSTAMP="20261105T000000Z", SUMMARY="Weekly",
                        DTSTART="20261203T190000Z", RRULE="FREQ=WEEKLY;COUNT=3")
    events, _ = read(calendar(master_old, master_new))
    assert [e.start.hour for e in events] == [19, 19, 19]
    assert {e.title for e in events} == {"Weekly"}


def test_a_thisandfuture_override_moves_the_rest_of_the_series_without_collapsing_it():
    master = vevent(UID="r@x", SUMMARY="Standup", DTSTART="20261201T090000Z", DURATION="PT15M",
                    RRULE="FREQ=DAILY;COUNT=6")
    moved = ("BEGIN:VEVENT\nUID:r@x\nSUMMARY:Standup (later)\nRECURRENCE-ID;RANGE=THISANDFUTURE:20261204T090000Z\n"
             "DTSTART:20261204T100000Z\nDURATION:PT15M\nEND:VEVENT\n")
    events, _ = read(calendar(master, moved))
    assert [e.start.day for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.start.hour for e in events] == [9, 9, 9, 10, 10, 10]
    ids = [e.source_uid for e in events]
    assert len(set(ids)) == 6  # one id per occurrence, none collapsed
    again, _ = read(calendar(master, moved))
    assert [e.source_uid for e in again] == ids  # and stable from one read to the next


def test_google_series_in_utc_keep_their_local_hour_across_dst_under_x_wr_timezone():
    # Google writes the series anchored in UTC; its clients recur it in X-WR-TIMEZONE.
    series = vevent(UID="g@google.com", SUMMARY="Meetup", DTSTART="20261020T170000Z", DTEND="20261020T190000Z",
                    RRULE="FREQ=WEEKLY;COUNT=3")
    events, _ = read(calendar(series, head="X-WR-TIMEZONE:Europe/Berlin\n"))
    assert [e.start.astimezone(BERLIN).hour for e in events] == [19, 19, 19]  # 19:00 before and after Oct 25
    assert events[-1].start.astimezone(UTC).hour == 18
    assert all(e.end - e.start == timedelta(hours=2) for e in events)
    assert {e.timezone for e in events} == {"Europe/Berlin"}


def test_a_minutely_series_without_end_is_capped_quickly_with_a_warning_naming_it():
    endless = vevent(UID="every-minute@x", SUMMARY="Tick", DTSTART="20260101T000000Z", RRULE="FREQ=MINUTELY")
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    began = time.monotonic()
    events, warnings = read(calendar(endless), window=window)
    assert time.monotonic() - began < 30  # today 3 minutes and 1.7 GB: this guards the cap, not a speed figure
    assert len(events) == ics_expand.SERIES_CAP
    assert any("every-minute@x" in w and str(ics_expand.SERIES_CAP) in w for w in warnings)


def test_the_source_cap_bounds_many_series_together(monkeypatch):
    monkeypatch.setattr(ics_expand, "SOURCE_CAP", 300)  # 20,000 in production: the same code path, faster
    series = [vevent(UID=f"d{n}@x", SUMMARY=f"Daily {n}", DTSTART="20260101T000000Z", RRULE="FREQ=DAILY")
              for n in range(5)]
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 11, tzinfo=UTC))  # 100 days each
    events, warnings = read(calendar(*series), window=window)
    assert len(events) == 300
    assert sum("stopped at" in w for w in warnings) == 1


def test_a_weekly_series_is_expanded_only_inside_the_window():
    weekly = vevent(UID="w@x", SUMMARY="Weekly", DTSTART="20200106T180000Z", RRULE="FREQ=WEEKLY")
    window = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    events, warnings = read(calendar(weekly), window=window)
    assert [e.start.day for e in events] == [7, 14, 21, 28]
    assert warnings == []
