"""Text repair of the `ics` kind: folds, name case, stray lines and mismatched ENDs.

Each case is a calendar as a real client wrote it (named in the test), written here
inline; the assertion is the event a user should see.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from aggregator.errors import SourceError
from sources import ics
from tests.conftest import make_ctx

UTC = timezone.utc


def read(text: str):
    warnings: list[str] = []
    events = ics.parse(text.replace("\n", "\r\n").encode(), "", ctx=make_ctx(warnings=warnings))
    return sorted(events, key=lambda e: (e.start, e.title)), warnings


def test_a_fold_right_after_a_property_name_is_legal_folding():
    # Sunbird, KOrganizer and libical fold anywhere, even between a name and its colon.
    text = ("BEGIN:VCALENDAR\nVERSION\n :2.0\nPRODID:-//x//EN\nBEGIN:VEVENT\nUID:fold-1\nSUMMARY\n :Folded name\n"
            "DTSTART\n ;TZID=Europe/Berlin:20261203T190000\nEND:VEVENT\nEND:VCALENDAR\n")
    [event], _ = read(text)
    assert event.title == "Folded name"
    assert event.start.astimezone(UTC) == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


def test_names_of_properties_parameters_and_components_are_case_insensitive():
    text = ("BEGIN:Vcalendar\npRoDiD:-//x//EN\nversion:2.0\nbegin:vevent\nuid:case-1\nSummary:Mixed case\n"
            "dtstart;tzid=Europe/Berlin:20261203T190000\nDtEnd;TzId=Europe/Berlin:20261203T210000\n"
            "End:VEvent\nend:vcalendar\n")
    [event], warnings = read(text)
    assert event.title == "Mixed case"
    assert event.start.astimezone(UTC) == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    assert event.end - event.start == (event.end - event.start).__class__(hours=2)
    assert warnings == []


def test_a_stray_line_after_a_date_property_is_dropped_not_glued_onto_the_date():
    text = ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:stray-1\nDTSTART:20261203T190000Z\nSUMMARY=testevent\n"
            "SUMMARY:Real title\nEND:VEVENT\nEND:VCALENDAR\n")
    [event], warnings = read(text)
    assert event.start == datetime(2026, 12, 3, 19, 0, tzinfo=UTC)
    assert event.title == "Real title"
    assert any("SUMMARY=testevent" in w for w in warnings)


def test_a_stray_line_after_a_text_property_is_still_its_lost_continuation():
    text = ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:cont-1\nDTSTART:20261203T190000Z\n"
            "DESCRIPTION:First part of the text\nand the second part without its indent\nEND:VEVENT\nEND:VCALENDAR\n")
    [event], warnings = read(text)
    assert "without its indent" in event.description
    assert warnings == []


def test_an_end_that_misspells_its_begin_does_not_swallow_the_rest_of_the_calendar():
    text = ("BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:todo-1\nSUMMARY:A task\nEND:VTOOD\n"
            "BEGIN:VEVENT\nUID:after-todo\nSUMMARY:After the todo\nDTSTART:20261203T190000Z\nEND:VEVENT\n"
            "END:VCALENDAR\n")
    [event], warnings = read(text)
    assert event.title == "After the todo"
    assert any("END:VTOOD" in w for w in warnings)


def test_a_misspelt_final_end_vcalendar_is_not_a_truncated_download():
    text = ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:last-1\nSUMMARY:Last\nDTSTART:20261203T190000Z\nEND:VEVENT\n"
            "END:VCALENDARD\n")
    [event], warnings = read(text)
    assert event.title == "Last"
    assert any("VCALENDARD" in w for w in warnings)


def test_a_calendar_that_really_stops_midway_still_fails_the_source():
    text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:cut\nSUMMARY:Cut\nDTSTART:20261203T190000Z\n"
    with pytest.raises(SourceError, match="truncated"):
        read(text)
