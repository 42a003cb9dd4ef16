"""Series of the `ics` kind: copies of one UID, RANGE=THISANDFUTURE, X-WR-TIMEZONE and
the caps that keep an endless series bounded."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from sources import ics, ics_batch, ics_expand
from tests.conftest import NOW, make_ctx, write_config

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


# Sub-daily rules whose DTSTART lies well before the window: the ics kind walks them from just
# before the window (ics_expand.fast_forward); the instants must be those of the whole walk.
FAST_SERIES = {
    "hourly-7h-weekdays-berlin": ("DTSTART;TZID=Europe/Berlin:20250301T093000", "DTEND;TZID=Europe/Berlin:20250301T"
                                  "100000", "FREQ=HOURLY;INTERVAL=7;BYDAY=MO,WE,SA"),
    "minutely-13-office-hours": ("DTSTART:20260201T090000Z", "DURATION:PT5M", "FREQ=MINUTELY;INTERVAL=13;BYHOUR=9,10"),
    "floating-half-hours": ("DTSTART:20260210T000000", "DURATION:PT20M", "FREQ=MINUTELY;BYMINUTE=0,30"),
    "hourly-until-inside": ("DTSTART:20250101T000000Z", "DURATION:PT1H", "FREQ=HOURLY;UNTIL=20260310T120000Z"),
    "hourly-ended-before": ("DTSTART:20250101T000000Z", "DURATION:PT1H", "FREQ=HOURLY;UNTIL=20260101T000000Z"),
    "secondly-11-in-two-minutes": ("DTSTART:20260301T000000Z", "DURATION:PT2S", "FREQ=SECONDLY;INTERVAL=11;BYMINUTE=5,6"),
    "weekly-tu-th-since-1998-berlin": ("DTSTART;TZID=Europe/Berlin:19980303T090000", "DURATION:PT1H",
                                       "FREQ=WEEKLY;BYDAY=TU,TH;WKST=SU"),
    "fortnightly-last-weekday-set": ("DTSTART:20010101T180000Z", "DURATION:PT2H",
                                     "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,-1;WKST=MO"),
    "every-third-day-in-march": ("DTSTART:20000101T070000", "DURATION:PT30M", "FREQ=DAILY;INTERVAL=3;BYMONTH=3"),
    "all-day-weekly-since-2000": ("DTSTART;VALUE=DATE:20000104", "DTEND;VALUE=DATE:20000105", "FREQ=WEEKLY"),
    "daily-at-two-hours": ("DTSTART;TZID=America/New_York:20200101T083000", "DURATION:PT1H",
                           "FREQ=DAILY;BYHOUR=8,20;BYMINUTE=30"),
    "hourly-5-counted-ends-inside": ("DTSTART;TZID=Europe/Berlin:20250101T000000", "DURATION:PT1H",
                                     "FREQ=HOURLY;INTERVAL=5;COUNT=2070"),
    "minutely-counted-on-past-the-window": ("DTSTART:20260220T000000Z", "DURATION:PT1M",
                                            "FREQ=MINUTELY;INTERVAL=3;COUNT=20000"),
    "daily-counted-ended-before": ("DTSTART:20250101T090000Z", "DURATION:PT1H", "FREQ=DAILY;COUNT=400"),
    "weekly-counted-by-day": ("DTSTART:20240101T090000Z", "DURATION:PT1H", "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=500"),
}
FAST_WINDOW = (datetime(2026, 3, 5, 6, 0, tzinfo=UTC), datetime(2026, 3, 12, tzinfo=UTC))
FAST_NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # inside: a capped series is read forward and back from it


def fast_feed(uid: str) -> str:
    start, end, rule = FAST_SERIES[uid]
    extra = ""
    if uid == "hourly-until-inside":  # an EXDATE and a moved occurrence inside the window still apply
        extra = "EXDATE:20260306T000000Z\n"
        moved = vevent(UID=uid, SUMMARY="Moved", RECURRENCE_ID="20260307T000000Z", DTSTART="20260307T003000Z",
                       DURATION="PT1H")
    else:
        moved = ""
    head = f"BEGIN:VEVENT\nUID:{uid}\nSUMMARY:{uid}\n{start}\n{end}\nRRULE:{rule}\n{extra}END:VEVENT\n"
    return calendar(head, moved)


@pytest.mark.parametrize("uid", sorted(FAST_SERIES))
def test_a_fast_series_begun_long_before_the_window_gives_the_instants_of_the_whole_walk(uid):
    text = fast_feed(uid)
    reference = recurring_ical_events.of(icalendar.Calendar.from_ical(text)).between(*FAST_WINDOW)
    expected = sorted(ics_expand.instant_key(ics_expand.aware(c["DTSTART"].dt, UTC)) for c in reference)
    ctx = make_ctx(tz=ZoneInfo("UTC"), window=FAST_WINDOW, now=FAST_NOW)
    ours = ics.parse(text.replace("\n", "\r\n").encode(), "", ctx=ctx)
    assert sorted(ics_expand.instant_key(e.start) for e in ours) == kept_by_the_rule(expected, FAST_NOW)
    assert (len(expected) == 0) == uid.endswith("ended-before")
    assert (len(expected) > ics_expand.SERIES_CAP) == (uid in ("secondly-11-in-two-minutes",
                                                             "minutely-counted-on-past-the-window"))  # capped


def kept_by_the_rule(instants: list[str], now: datetime) -> list[str]:
    """What a series keeps of its sorted instant keys: all, or (capped) the SERIES_CAP nearest to
    now, upcoming first: the most recent past for a quarter of the cap, more when fewer are upcoming."""
    cap = ics_expand.SERIES_CAP
    if len(instants) <= cap:
        return instants
    upcoming = [i for i in instants if i >= ics_expand.instant_key(now)]
    past = instants[:len(instants) - len(upcoming)]
    behind = min(len(past), max(cap // 4, cap - len(upcoming)))
    return past[len(past) - behind:] + upcoming[:cap - behind]


def test_the_fast_forward_moves_the_rule_and_its_count_and_leaves_a_counted_by_rule_alone():
    def master(rule: str):
        text = calendar(vevent(UID="m@x", DTSTART="20160101T000000Z", DURATION="PT15M", RRULE=rule))
        return icalendar.Calendar.from_ical(text).walk("VEVENT")[0]

    moved = ics_expand.fast_forward(master("FREQ=MINUTELY"), FAST_WINDOW[0])
    assert FAST_WINDOW[0] - timedelta(minutes=20) < moved["DTSTART"].dt <= FAST_WINDOW[0] - timedelta(minutes=16)
    counted = ics_expand.fast_forward(master("FREQ=MINUTELY;INTERVAL=2;COUNT=100000000"), FAST_WINDOW[0])
    skipped = (counted["DTSTART"].dt - datetime(2016, 1, 1, tzinfo=UTC)) // timedelta(minutes=2)
    assert counted["RRULE"]["COUNT"] == [100000000 - skipped] and counted["RRULE"]["INTERVAL"] == [2]
    by_day = master("FREQ=MINUTELY;BYDAY=MO;COUNT=100000000")
    assert ics_expand.fast_forward(by_day, FAST_WINDOW[0]) is by_day  # COUNT counts from the first DTSTART
    ended = master("FREQ=MINUTELY;COUNT=1000")
    assert ics_expand.fast_forward(ended, FAST_WINDOW[0]) is ended
    monthly = master("FREQ=MONTHLY")
    assert ics_expand.fast_forward(monthly, FAST_WINDOW[0]) is monthly  # a month is no fixed step


@pytest.mark.parametrize("dtstart", ["20160101T000000Z", "20251201T000000Z", "20261201T000000Z"])
def test_an_endless_minutely_series_costs_what_it_keeps_wherever_it_begins(dtstart):
    """Issue 19: 1,000 kept occurrences cost the walk of a year of minutes (7.8-9.1 s, ~300 MB
    in a fetch); a series begun mid-window met a slice already a year wide. What it keeps are the
    minutes nearest to now, most of them upcoming (it kept the first 1,000 of the window: all past)."""
    endless = vevent(UID="tick@x", SUMMARY="Tick", DTSTART=dtstart, DURATION="PT30S", RRULE="FREQ=MINUTELY")
    window = (NOW - timedelta(days=730), NOW + timedelta(days=365))  # the fetch default
    began = time.process_time()
    events, warnings = read(calendar(endless), window=window)
    assert time.process_time() - began < 1.5  # today ~0.05 s; before 1.7-10 s
    assert [e.start for e in events] == [NOW + timedelta(minutes=n) for n in range(-250, 750)]
    assert any("tick@x" in w and "1000" in w and "nearest to now" in w for w in warnings)


def starts_around_now(dtstart: str, rule: str, window=None):
    """A series' kept starts split at NOW (make_ctx's now): (past, upcoming), and the warnings."""
    series = vevent(UID="s@x", SUMMARY="Office hours", DTSTART=dtstart, DURATION="PT15M", RRULE=rule)
    events, warnings = read(calendar(series), window=window or (NOW - timedelta(days=730), NOW + timedelta(days=365)))
    starts = [e.start for e in events]
    return [s for s in starts if s < NOW], [s for s in starts if s >= NOW], warnings


def test_an_hourly_series_begun_three_years_ago_keeps_its_next_occurrences():
    """It kept its first 1,000 hours from the window's start, two years back: nothing upcoming."""
    past, upcoming, warnings = starts_around_now("20231201T093000Z", "FREQ=HOURLY")
    assert upcoming[0] == datetime(2026, 12, 1, 12, 30, tzinfo=UTC)  # NOW is 12:00: the next half hour
    assert upcoming == [upcoming[0] + timedelta(hours=n) for n in range(750)]  # a month ahead, none skipped
    assert past == [datetime(2026, 12, 1, 11, 30, tzinfo=UTC) - timedelta(hours=n) for n in range(250)][::-1]
    assert [w for w in warnings if "s@x" in w] == [
        "event 'Office hours': series 's@x' has more than 1000 occurrences in the window: only the 1000 nearest to now "
        "are kept, upcoming ones first"]


def test_an_hourly_series_in_a_zone_keeps_its_wall_clock_hours_from_now_on():
    berlin = vevent(UID="b@x", SUMMARY="Sprechstunde", DTSTART="20231201T093000", DURATION="PT15M",
                    RRULE="FREQ=HOURLY;BYHOUR=9,10,11,14,15;BYDAY=MO,TU,WE,TH,FR").replace(
        "DTSTART:", "DTSTART;TZID=Europe/Berlin:")
    events, _ = read(calendar(berlin), window=(NOW - timedelta(days=730), NOW + timedelta(days=365)))
    upcoming = [e.start for e in events if e.start >= NOW]
    # NOW is Tuesday 1 Dec 2026, 13:00 in Berlin: next 14:30 Berlin (13:30Z), then 15:30, then Wednesday 09:30
    assert [s.astimezone(BERLIN).strftime("%a %H:%M") for s in upcoming[:3]] == ["Tue 14:30", "Tue 15:30", "Wed 09:30"]
    assert len(events) == ics_expand.SERIES_CAP and len(upcoming) == 750
    assert {s.astimezone(BERLIN).hour for s in upcoming} == {9, 10, 11, 14, 15}  # across the March DST change


def test_a_minutely_series_begun_in_2016_keeps_the_next_minutes():
    past, upcoming, _ = starts_around_now("20160101T000000Z", "FREQ=MINUTELY;INTERVAL=11")
    # 2016-01-01 to NOW is 5,742,000 minutes, a multiple of 11: NOW itself is an occurrence
    assert upcoming[:2] == [NOW, NOW + timedelta(minutes=11)] and len(upcoming) == 750
    assert past[-1] == NOW - timedelta(minutes=11) and len(past) == 250


def test_a_capped_series_ending_soon_keeps_all_its_upcoming_and_more_past():
    until = NOW + timedelta(days=5)
    past, upcoming, _ = starts_around_now("20231201T000000Z", f"FREQ=HOURLY;UNTIL={until:%Y%m%dT%H%M%SZ}")
    assert len(upcoming) == 5 * 24 + 1 and upcoming[-1] == until  # UNTIL is an occurrence
    assert len(past) == ics_expand.SERIES_CAP - len(upcoming) and past[-1] == NOW - timedelta(hours=1)


def test_a_capped_series_begun_lately_keeps_all_its_past_and_more_upcoming():
    past, upcoming, _ = starts_around_now("20261201T100000Z", "FREQ=MINUTELY")
    assert len(past) == 120 and past[0] == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert upcoming == [NOW + timedelta(minutes=n) for n in range(ics_expand.SERIES_CAP - 120)]


def test_a_capped_series_cut_by_the_source_budget_keeps_the_nearest_of_its_nearest(monkeypatch):
    monkeypatch.setattr(ics_expand, "SOURCE_CAP", 400)
    past, upcoming, warnings = starts_around_now("20160101T000000Z", "FREQ=MINUTELY")
    assert upcoming == [NOW + timedelta(minutes=n) for n in range(300)]
    assert past == [NOW - timedelta(minutes=n) for n in range(100, 0, -1)]
    assert sum("stopped at 400" in w for w in warnings) == 1


def test_a_capped_series_whose_window_lies_before_now_keeps_its_latest():
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))  # 1,416 hours
    past, upcoming, _ = starts_around_now("20200101T000000Z", "FREQ=HOURLY", window=window)
    assert upcoming == [] and past == [window[1] - timedelta(hours=n) for n in range(1000, 0, -1)]


def test_copies_of_a_unit_are_parsed_and_expanded_once_with_the_same_result(monkeypatch):
    """libical's large.ics repeats its VEVENTs across 1,788 VCALENDARs (2.2 s, target 1.5 s):
    from its second sighting on, a copy reuses what its twin gave, warnings included."""
    weekly = vevent(UID="w@x", SUMMARY="Weekly", DTSTART="19980303T090000Z", DURATION="PT1H",
                    RRULE="FREQ=WEEKLY;BYDAY=TU,TH")
    broken = vevent(UID="b@x", SUMMARY="Broken", DTSTART="20261203T090000Z", RDATE="garbage")
    body = "".join(calendar(weekly, broken, vevent(UID=f"s{n}@x", SUMMARY="One", DTSTART="20261204T090000Z"),
                            head=f"X-WR-CALNAME:Copy {n}\n") for n in range(30))
    window = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    walked = []
    real = ics.series_occurrences

    def counted(cal, *args, **kwargs):
        walked.extend(str(c["SUMMARY"]) for c in cal.walk("VEVENT") if c["SUMMARY"] == "Weekly")
        return real(cal, *args, **kwargs)

    monkeypatch.setattr(ics, "series_occurrences", counted)
    events, warnings = read(body, window=window)
    assert len(walked) == 2  # the first sighting and the second, kept for the other 28 (a broken one fails each time)
    monkeypatch.setattr(ics_batch.Copies, "KEPT", 0)  # nothing kept: every copy on its own, as before
    alone, alone_warnings = read(body, window=window)
    assert len(walked) == 2 + 30
    assert [(e.source_uid, e.start, e.group) for e in events] == [(e.source_uid, e.start, e.group) for e in alone]
    assert warnings == alone_warnings and sum("Broken" in w for w in warnings) == 30
    assert len([e for e in events if e.title == "Weekly"]) == 18 and {e.group for e in events} >= {"Copy 0"}


def test_a_fetch_of_an_endless_hourly_feed_stores_its_next_occurrences(tmp_path, cli_for):
    """Through the real CLI and store: the feed's next office hour is stored, and the fetch says
    the series was capped."""
    series = vevent(UID="office@x", SUMMARY="Office hours", DTSTART="20231201T093000Z", DURATION="PT30M",
                    RRULE="FREQ=HOURLY")
    (tmp_path / "feed.ics").write_text(calendar(series).replace("\n", "\r\n"), encoding="utf-8")
    config = write_config(tmp_path, [{"name": "office", "kind": "ics", "url": "feed.ics"}])
    fetched = cli_for(config)("-v", "fetch")
    assert fetched.returncode == 0, fetched.stderr
    assert "more than 1000 occurrences" in fetched.stdout + fetched.stderr
    with sqlite3.connect(tmp_path / "events.db") as db:
        upcoming = [row[0] for row in db.execute(
            "SELECT start_utc FROM events WHERE start_utc >= '2026-12-01T12:00:00Z' ORDER BY start_utc")]
        total = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert total == ics_expand.SERIES_CAP and len(upcoming) == 750
    assert upcoming[:2] == ["2026-12-01T12:30:00Z", "2026-12-01T13:30:00Z"]
