"""The `ics` kind's parser, case by case, on fixture files named for the case."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from aggregator.errors import SourceError
from aggregator.normalise import normalise
from aggregator.source import SourceSpec
from sources import ics, ics_batch
from tests.conftest import PORTLAND, fixture_bytes, make_ctx

UTC = timezone.utc


def parse(name: str, **kwargs):
    warnings: list[str] = []
    events = ics.parse(fixture_bytes(f"ics/{name}"), "https://example.org/cal.ics",
                       ctx=make_ctx(warnings=warnings), **kwargs)
    return {e.source_uid: e for e in events}, warnings


def test_meetup_feed_vtimezone_fields_and_calname_group():
    events, warnings = parse("meetup_group_feed.ics")
    assert warnings == []
    e = events["event_300000001@meetup.com"]
    assert e.title == "Typing in practice"
    assert e.start == datetime(2026, 12, 3, 18, 30, tzinfo=PORTLAND)
    assert e.start.utcoffset() == timedelta(hours=-8)
    assert e.end == datetime(2026, 12, 3, 20, 30, tzinfo=PORTLAND)
    assert e.timezone == "America/Los_Angeles"
    assert e.group == "Events - PDX Python"
    assert e.url == "https://www.meetup.com/pdxpython/events/300000001/"
    assert e.venue.name == "Puppet Labs (308 SW 2nd Ave, Portland, OR)"
    assert (e.venue.lat, e.venue.lon) == (45.52, -122.68)
    assert "gradual typing" in e.description and "\n" in e.description
    assert not e.online
    assert events["event_300000002@meetup.com"].online


def test_config_group_wins_over_calendar_name():
    """The kind gives the calendar's name; the pipeline's normalise step applies the source's `group:`."""
    events, _ = parse("meetup_group_feed.ics")
    spec = SourceSpec("pdx", "ics", "https://example.org/cal.ics", group="PDX Python")
    assert {normalise(e, spec).group for e in events.values()} == {"PDX Python"}
    assert "PDX Python" not in {e.group for e in events.values()}


def test_windows_display_name_offset_and_unknown_tzids():
    events, warnings = parse("outlook_windows_tzid.ics")
    windows = events["outlook-windows-1"]
    assert windows.timezone == "America/Los_Angeles"
    assert windows.start.utcoffset() == timedelta(hours=-7)  # July: PDT
    display = events["outlook-display-1"]
    assert display.timezone == "America/New_York"
    assert display.start.astimezone(UTC) == datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
    assert display.online  # "Microsoft Teams Meeting"
    offset = events["gmt-offset-1"]
    assert offset.start.astimezone(UTC) == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    unknown = events["unknown-zone-1"]
    assert unknown.start == datetime(2026, 12, 10, 9, 0, tzinfo=PORTLAND)  # read as local
    assert any("Atlantis Standard Time" in w for w in warnings)
    assert any("only an offset" in w for w in warnings)


def test_floating_utc_duration_no_end_and_all_day():
    events, _ = parse("floating_utc_and_allday.ics")
    floating = events["floating-1"]
    assert floating.start == datetime(2026, 12, 5, 19, 0, tzinfo=PORTLAND)
    utc = events["utc-1"]
    assert utc.start == datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    assert utc.end - utc.start == timedelta(minutes=90)
    assert events["noend-1"].end is None
    assert events["noend-1"].effective_end() - events["noend-1"].start == timedelta(hours=2)
    allday = events["allday-1"]
    assert allday.all_day and allday.start == date(2026, 12, 12) and allday.end == date(2026, 12, 13)
    multi = events["multiday-1"]
    assert multi.all_day and (multi.end - multi.start).days == 3


def test_floating_time_uses_the_configured_zone():
    berlin = ZoneInfo("Europe/Berlin")
    events = ics.parse(fixture_bytes("ics/floating_utc_and_allday.ics"), "", ctx=make_ctx(tz=berlin))
    floating = next(e for e in events if e.source_uid == "floating-1")
    assert floating.start.utcoffset() == timedelta(hours=1)


def test_recurrence_expansion_with_exdate_rdate_override_and_cancelled_occurrence():
    events, warnings = parse("recurring_weekly_with_exceptions.ics")
    assert warnings == []
    starts = sorted(e.start for e in events.values())
    local = [s.astimezone(PORTLAND).strftime("%m-%d %H:%M") for s in starts]
    # weekly from Dec 2 for 6 weeks, minus the EXDATE (Dec 16), Dec 9 moved, plus the RDATE
    assert local == ["12-02 18:00", "12-10 18:30", "12-23 18:00", "12-28 18:00", "12-30 18:00", "01-06 18:00"]
    moved = events["rust-weekly@example.org/20261210T020000Z"]
    assert moved.title == "Rust hack night (moved to Thursday)"
    cancelled = events["rust-weekly@example.org/20261224T020000Z"]
    assert cancelled.status == "cancelled"
    assert all(e.group == "PDX Rust" for e in events.values())
    # every occurrence id is unique and derived from the series UID
    assert len(events) == 6 and all(uid.startswith("rust-weekly@example.org/") for uid in events)


def test_recurrence_only_inside_the_window():
    window = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 20, tzinfo=UTC))
    events = ics.parse(fixture_bytes("ics/recurring_weekly_with_exceptions.ics"), "", ctx=make_ctx(window=window))
    assert len(events) == 2


def test_status_url_location_geo_categories_organizer_attendees():
    events, _ = parse("status_fields_and_attendees.ics")
    assert events["cancelled-1"].status == "cancelled"
    assert events["tentative-1"].status == "tentative"
    e = events["fields-1"]
    assert e.status == "confirmed"
    assert e.url == "https://example.org/events/ml-study-group"
    assert e.venue.name == "Central Library, 801 SW 10th Ave, Portland"
    assert (e.venue.lat, e.venue.lon) == (45.519, -122.682)
    assert e.tags == ("Machine Learning", "Python", "Study Group")
    assert e.group == "Calendar Name"
    people = {p.email: p for p in e.attendees}
    assert people["dana.lee@example.org"].name == "Dana Lee"
    assert people["dana.lee@example.org"].status == "going"
    assert people["sam@example.org"].name == "Ortiz, Sam" and people["sam@example.org"].status == "maybe"
    assert people["nope@example.org"].status == "declined"
    assert people["invitee@example.org"].status == "invited"


def test_organizer_is_the_group_when_the_feed_names_none():
    text = fixture_bytes("ics/status_fields_and_attendees.ics").replace(b"X-WR-CALNAME:Calendar Name\n", b"")
    events = {e.source_uid: e for e in ics.parse(text, "", ctx=make_ctx())}
    assert events["fields-1"].group == "Portland ML"


def test_html_is_stripped_from_titles_and_descriptions():
    events, _ = parse("status_fields_and_attendees.ics")
    e = events["html-1"]
    assert e.title == "Intro to & Rust"
    assert "<" not in e.description and "alert" not in e.description
    assert "Hello world" in e.description


def test_broken_events_are_skipped_with_warnings_and_the_rest_kept():
    events, warnings = parse("broken_events_among_good.ics")
    assert set(events) == {"good-1", "good-2"}
    assert events["good-2"].end == datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # "DTEND: 2026..." repaired
    assert len(warnings) == 3
    assert any("Missing start" in w and "no DTSTART" in w for w in warnings)
    assert any("Bad date" in w for w in warnings)
    assert any("Bad rule" in w for w in warnings)


def test_missing_wrapper_and_several_calendars_in_one_file():
    events, _ = parse("missing_vcalendar_wrapper.ics")
    assert set(events) == {"nowrap-1", "nowrap-2"}
    events, _ = parse("several_vcalendars_in_one_file.ics")
    assert {e.group for e in events.values()} == {"First", "Second"}


def test_non_utf8_bytes_crlf_lf_mix_and_bad_folding():
    events, _ = parse("latin1_crlf_mix_bad_folding.ics")
    e = events["latin1-1"]
    assert e.title == "Café des développeurs München"
    assert e.description == "A long description that was foldedwith a tab and thenwith no indent at all"


def test_mojibake_is_repaired():
    text = "BEGIN:VEVENT\nUID:m\nSUMMARY:The IRBâ€™s checklist\nDTSTART:20261203T020000Z\nEND:VEVENT\n"
    [event] = ics.parse(text.encode("utf-8"), "", ctx=make_ctx())
    assert event.title == "The IRB’s checklist"


def test_same_uid_reused_for_unrelated_events_keeps_both():
    text = ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:same@x\nSUMMARY:A\nDTSTART:20261203T020000Z\nEND:VEVENT\n"
            "BEGIN:VEVENT\nUID:same@x\nSUMMARY:B\nDTSTART:20261210T020000Z\nEND:VEVENT\nEND:VCALENDAR\n")
    events = ics.parse(text, "", ctx=make_ctx())
    assert sorted(e.title for e in events) == ["A", "B"]
    assert len({e.source_uid for e in events}) == 2


def test_events_without_uid_get_stable_generated_ids():
    text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:No uid\nDTSTART:20261203T020000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    first = ics.parse(text, "", ctx=make_ctx())
    second = ics.parse(text, "", ctx=make_ctx())
    assert first[0].source_uid == second[0].source_uid
    assert first[0].source_uid.startswith("generated-")


def test_a_feed_cut_off_mid_calendar_fails_the_source():
    with pytest.raises(SourceError, match="truncated"):
        ics.parse(fixture_bytes("ics/truncated_feed.ics"), "", ctx=make_ctx())


@pytest.mark.parametrize("body,what", [
    (b"<!DOCTYPE html>\n<html><body>Sign in</body></html>", "HTML page"),
    (b'{"events": []}', "JSON"),
    (b"", "empty body"),
    (b"\x00\x01\x02garbage", "no BEGIN:VCALENDAR"),
])
def test_a_body_that_is_not_icalendar_fails_with_a_clear_message(body, what):
    with pytest.raises(SourceError, match=what):
        ics.parse(body, "", ctx=make_ctx())


def test_hostile_text_newlines_in_summary_stay_in_one_event():
    text = ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:h\nSUMMARY:Hi\\nEND:VEVENT\\nBEGIN:VEVENT\n"
            "DTSTART:20261203T020000Z\nEND:VEVENT\nEND:VCALENDAR\n")
    [event] = ics.parse(text, "", ctx=make_ctx())
    assert event.title == "Hi END:VEVENT BEGIN:VEVENT"


def test_utc_start_keeps_the_calendar_zone_name():
    text = ("BEGIN:VCALENDAR\nX-WR-TIMEZONE:Europe/Berlin\nBEGIN:VEVENT\nUID:z\nSUMMARY:S\n"
            "DTSTART:20261203T180000Z\nEND:VEVENT\nEND:VCALENDAR\n")
    [event] = ics.parse(text, "", ctx=make_ctx())
    assert event.timezone == "Europe/Berlin"
    assert event.start == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


def test_batched_parsing_reads_the_same_events_and_a_broken_one_costs_only_itself(monkeypatch):
    """Series are parsed PARSE_BATCH at a time (memory of one batch, not the feed's): the
    events are those of one parse, in any batch size, and a broken VEVENT in a later batch
    is skipped with a warning while its batch's others are read."""
    blocks = [f"BEGIN:VEVENT\r\nUID:e{i}\r\nSUMMARY:Talk {i}\r\nDTSTART:202612{1 + i % 28:02d}T180000Z\r\n"
              + ("RRULE:FREQ=WEEKLY;COUNT=3\r\n" if i % 4 == 0 else "") + "END:VEVENT\r\n" for i in range(11)]
    blocks[8] = "BEGIN:VEVENT\r\nUID:broken\r\nSUMMARY:Broken\r\nDTSTART:2026-13-45\r\nEND:VEVENT\r\n"
    data = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(blocks) + "END:VCALENDAR\r\n").encode()

    def read(batch: int):
        monkeypatch.setattr(ics_batch, "PARSE_BATCH", batch)
        warnings: list[str] = []
        events = ics.parse(data, "", ctx=make_ctx(warnings=warnings))
        return sorted((e.source_uid, e.start) for e in events), warnings

    whole, warned = read(10_000)
    assert len({uid.split("/")[0] for uid, _ in whole}) == 10 and any("Broken" in w for w in warned)
    for batch in (1, 3, 4):
        assert read(batch) == (whole, warned)
