"""The `sessionize` kind: a Sessionize event's All view (sessions, speakers, categories, rooms)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from aggregator.errors import SourceError
from aggregator.http import Http
from aggregator.source import SourceSpec
from sources import sessionize
from tests.conftest import Cli, fixture_bytes, make_ctx, write_config

LONDON = ZoneInfo("Europe/London")
ALL_VIEW = "sessionize/all_view.json"


def parse_all(**options):
    warnings: list[str] = []
    events = sessionize.parse(fixture_bytes(ALL_VIEW), "https://sessionize.com/api/v2/abcd1234/view/All",
                              ctx=make_ctx(warnings=warnings), **options)
    return {e.title: e for e in events}, warnings


def test_talks_with_local_times_rooms_tags_and_speakers():
    events, warnings = parse_all(timezone="Europe/London", venue="ExCeL London")
    raw = json.loads(fixture_bytes(ALL_VIEW))
    service = [s["title"] for s in raw["sessions"] if s["isServiceSession"]]
    assert service == ["Coffee break", "Lunch"] and not set(service) & set(events)
    assert set(events) == {"Keynote: The state of the web", "Building accessible forms",
                           "A talk by a speaker the list forgot", "Across the clock change"}
    forms = events["Building accessible forms"]
    assert forms.start == datetime(2027, 3, 4, 10, 15, tzinfo=LONDON) and forms.timezone == "Europe/London"
    assert forms.end == datetime(2027, 3, 4, 11, 0, tzinfo=LONDON)
    assert forms.venue.name == "Room 2B, ExCeL London"
    assert forms.tags == ("Frontend", "Intermediate")  # category items of two categories
    assert forms.description == "Labels, errors and focus."
    assert forms.source_uid == "401003"
    assert [(p.name, p.url, p.role) for p in forms.attendees] == [
        ("Ana Lima", "https://ana.example.org/blog", "speaker"),  # Blog: the Sessionize link type is no profile
        ("Tomás Ortega", None, "speaker"),
    ]
    keynote = events["Keynote: The state of the web"]  # a plenum session is a talk: kept
    assert keynote.attendees[0].url == "https://www.linkedin.com/in/priya-raman-example/"  # LinkedIn before Twitter
    assert keynote.description == "Opening keynote.\nAll rooms."
    assert not any("no timezone option" in w for w in warnings)


def test_unknown_speaker_broken_start_and_unscheduled_sessions_warn():
    events, warnings = parse_all(timezone="Europe/London")
    forgot = events["A talk by a speaker the list forgot"]
    assert [p.name for p in forgot.attendees] == ["Tomás Ortega"]
    assert any("ffffffff-dead-beef" in w and "not in the speakers list" in w for w in warnings)
    assert "Broken start" not in events and any("Broken start" in w and "skipped" in w for w in warnings)
    assert "Not scheduled yet" not in events and any("1 session(s) have no time yet" in w for w in warnings)


def test_dst_change_and_names_from_first_and_last_name_and_unsafe_links():
    events, _ = parse_all(timezone="Europe/London")
    night = events["Across the clock change"]  # 00:30 GMT to 03:30 BST: two real hours
    assert night.start.isoformat() == "2027-03-28T00:30:00+00:00"
    assert night.end.isoformat() == "2027-03-28T03:30:00+01:00"
    assert night.end.astimezone(timezone.utc) - night.start == timedelta(hours=2)
    assert [(p.name, p.url) for p in night.attendees] == [("Lena Vogel", None)]  # javascript: link refused


def test_without_timezone_option_reads_config_zone_and_warns_once():
    events, warnings = parse_all()
    forms = events["Building accessible forms"]
    assert forms.start.isoformat() == "2027-03-04T10:15:00-08:00"  # the test config's zone, Portland
    assert sum("no timezone option" in w for w in warnings) == 1


def test_times_with_an_offset_keep_their_instant():
    body = json.dumps({"sessions": [{"id": "9", "title": "Offset talk", "startsAt": "2027-05-01T09:00:00Z",
                                     "endsAt": "2027-05-01T10:00:00Z", "speakers": []}],
                       "speakers": [], "rooms": [], "categories": []}).encode()
    [event] = sessionize.parse(body, "", ctx=make_ctx(), timezone="Europe/Berlin")
    assert event.start == datetime(2027, 5, 1, 9, 0, tzinfo=timezone.utc)
    assert event.start.isoformat() == "2027-05-01T11:00:00+02:00"


@pytest.mark.parametrize("body, message", [
    (b"<!doctype html><title>Sessionize</title>", "not JSON"),
    (b"", "not JSON"),
    (b'[{"groupId": null, "groupName": "All", "sessions": []}]', "use .../view/All"),
    (b'{"schedule": {"conference": {}}}', "no sessions list"),
    (b'{"sessions": "none"}', "no sessions list"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_garbage_is_a_source_error(body, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        sessionize.parse(body, "", ctx=make_ctx(), timezone="UTC")


def test_fields_of_the_wrong_type_do_not_break_the_view():
    body = json.dumps({"sessions": [
        {"id": "1", "title": "Odd session", "startsAt": "2027-01-01T10:00:00", "endsAt": 5,
         "speakers": [None, {"id": None}, "s1"], "categoryItems": [{"x": 1}], "roomId": [1]},
        {"id": "2", "title": ["not", "text"], "startsAt": "2027-01-01T11:00:00"},
    ], "speakers": [{"id": "s1", "fullName": "Ana Lima", "links": "none"}, 5, {"id": None, "fullName": "No Id"}],
        "rooms": [5],
        "categories": [{"items": [5]}, "x"]}).encode()
    warnings: list[str] = []
    events = sessionize.parse(body, "", ctx=make_ctx(warnings=warnings), timezone="UTC")
    odd = next(e for e in events if e.source_uid == "1")
    assert odd.end is None and odd.tags == () and [p.name for p in odd.attendees] == ["Ana Lima"]
    assert any("not in the speakers list" in w for w in warnings)


def test_bad_timezone_option_is_a_clear_error():
    with pytest.raises(SourceError, match="option timezone: unknown time zone 'Atlantis'"):
        parse_all(timezone="Atlantis")


@pytest.mark.parametrize("given, fetched", [
    ("jl4ktls0", "https://sessionize.com/api/v2/jl4ktls0/view/All"),
    ("https://sessionize.com/api/v2/jl4ktls0/view/All", "https://sessionize.com/api/v2/jl4ktls0/view/All"),
    ("https://sessionize.com/api/v2/jl4ktls0/view/GridSmart", "https://sessionize.com/api/v2/jl4ktls0/view/All"),
    ("file:///nonexistent-dir/jl4ktls0", "https://sessionize.com/api/v2/jl4ktls0/view/All"),  # config made it a path
    ("http://127.0.0.1:8000/all.json", "http://127.0.0.1:8000/all.json"),
    ("https://notsessionize.com/api/v2/x/view/Sessions", "https://notsessionize.com/api/v2/x/view/Sessions"),
])
def test_source_url_is_an_api_url_or_a_sessionize_id(given, fetched):
    assert sessionize.api_url(given) == fetched


def test_an_existing_local_file_is_read_not_taken_for_an_id(tmp_path):
    path = tmp_path / "abcd1234"
    path.write_bytes(fixture_bytes(ALL_VIEW))
    assert sessionize.api_url(path.as_uri()) == path.as_uri()


def test_collect_over_http(server):
    url = server.add("/api/v2/abcd1234/view/All", fixture_bytes(ALL_VIEW), headers={"Content-Type": "application/json"})
    spec = SourceSpec(name="webconf", kind="sessionize", url=url, options={"timezone": "Europe/London"})
    http = Http()
    try:
        events = sessionize.SessionizeSource().collect(spec, http, make_ctx())
    finally:
        http.close()
    assert len(events) == 4 and all(e.timezone == "Europe/London" for e in events)
    assert sessionize.SessionizeSource.full_snapshot is True


def test_cli_fetch_then_upcoming(tmp_path, server):
    url = server.add("/api/v2/abcd1234/view/All", fixture_bytes(ALL_VIEW), headers={"Content-Type": "application/json"})
    sources = [{"name": "webconf", "kind": "sessionize", "url": url, "group": "WebConf London",
                "timezone": "Europe/London", "venue": "ExCeL London"}]
    cli = Cli(write_config(tmp_path, sources))
    result = cli("fetch")
    assert result.returncode == 0, result.stderr
    events = {e["title"]: e for e in cli.json("upcoming", "--limit", "0", "--days", "200")}
    assert "Coffee break" not in events and "Lunch" not in events
    forms = events["Building accessible forms"]
    assert forms["start"] == "2027-03-04T10:15:00+00:00" and forms["group"] == "WebConf London"
    assert forms["location"] == "Room 2B, ExCeL London"
