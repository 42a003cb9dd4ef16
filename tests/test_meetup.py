"""The `meetup` kind: the group's iCal feed and events page, merged, with RSVPs as attendees."""

from __future__ import annotations

from sources import meetup
from tests.conftest import Cli, fixture_bytes, make_ctx, write_config


def test_group_page_embedded_events_and_rsvps():
    events = {e.title: e for e in meetup.parse(fixture_bytes("html/meetup_group_events_page_next_data.html"),
                                               "https://www.meetup.com/pdxpython/events/", ctx=make_ctx())}
    assert set(events) == {"Typing in practice", "Project night", "Holiday social"}
    typing = events["Typing in practice"]
    assert typing.source_uid == "meetup:300000001"
    assert [(p.name, p.url) for p in typing.attendees] == [
        ("Dana Lee", "https://www.meetup.com/members/11/"), ("Sam O.", "https://www.meetup.com/members/12/")]
    assert typing.venue.name == "Puppet Labs" and typing.group == "PDX Python"
    assert events["Project night"].online


def test_group_url_is_normalized():
    assert meetup.group_url("https://www.meetup.com/pdxpython/events/?type=past") == "https://www.meetup.com/pdxpython/"


def test_feed_and_page_merge_into_one_event_each(tmp_path, server):
    server.add("/pdxpython/events/ical/", fixture_bytes("ics/meetup_group_feed.ics"))
    server.add("/pdxpython/events/", fixture_bytes("html/meetup_group_events_page_next_data.html"),
               headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [{"name": "pdx-python", "kind": "meetup", "url": server.url("/pdxpython/"),
                                       "group": "PDX Python"}]))
    result = cli("fetch")
    assert result.returncode == 0, result.stdout + result.stderr
    events = {e["title"]: e for e in cli.json("upcoming", "--limit", "0", "--days", "60")}
    assert set(events) == {"Typing in practice", "Project night", "Holiday social"}
    import sqlite3

    with sqlite3.connect(tmp_path / "events.db") as db:
        names = {r[0] for r in db.execute("select name from attendance")}
    assert {"Dana Lee", "Sam O.", "Ravi Patel"} <= names


def test_past_events_page_adds_history(tmp_path, server):
    server.add("/pdxpython/events/ical/", fixture_bytes("ics/meetup_group_feed.ics"))
    past = fixture_bytes("html/meetup_group_events_page_next_data.html").replace(b"2026-12-17T18:00", b"2026-10-15T18:00")
    server.add("/pdxpython/events/?type=past", past, headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [{"name": "pdx-python", "kind": "meetup", "url": server.url("/pdxpython/")}]))
    result = cli("fetch")
    assert result.returncode == 0 and "events page not read" in result.stderr  # the upcoming page is missing
    import sqlite3

    with sqlite3.connect(tmp_path / "events.db") as db:
        assert db.execute("select count(*) from events where title = 'Holiday social' and start < '2026-11'").fetchone()[0] == 1


def test_feed_alone_is_still_a_good_fetch(tmp_path, server):
    server.add("/pdxpython/events/ical/", fixture_bytes("ics/meetup_group_feed.ics"))
    cli = Cli(write_config(tmp_path, [{"name": "pdx-python", "kind": "meetup", "url": server.url("/pdxpython/")}]))
    result = cli("fetch")
    assert result.returncode == 0 and "events page not read" in result.stderr
