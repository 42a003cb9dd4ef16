"""The `luma` kind: event pages (JSON-LD and embedded data with hosts) and calendar feeds."""

from __future__ import annotations

from datetime import datetime, timezone

from sources import luma
from tests.conftest import Cli, fixture_bytes, make_ctx, write_config

UTC = timezone.utc


def test_online_event_page_with_hosts():
    [e] = luma.parse(fixture_bytes("html/luma_online_event_utc_millis.html"), "https://lu.ma/ai-builders-dec",
                     ctx=make_ctx())
    assert e.title == "AI Builders Online" and e.online
    assert e.start == datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    assert e.timezone == "America/Los_Angeles"
    assert e.group == "Portland AI Builders"
    assert [(p.name, p.url) for p in e.attendees] == [("Mei Wang", "https://lu.ma/user/meiwang"), ("Omar Said", None)]
    assert e.url == "https://lu.ma/ai-builders-dec"


def test_calendar_ics_and_page_through_the_cli(tmp_path, server):
    server.add("/ics/get", fixture_bytes("ics/meetup_group_feed.ics"))
    server.add("/ai-builders-dec", fixture_bytes("html/luma_online_event_utc_millis.html"),
               headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [
        {"name": "luma-cal", "kind": "luma", "url": server.url("/ics/get") + "?entity=calendar&id=cal-1"},
        {"name": "luma-page", "kind": "luma", "url": server.url("/ai-builders-dec")},
    ]))
    assert cli("fetch").returncode == 0
    titles = {e["title"] for e in cli.json("upcoming", "--limit", "0", "--days", "60")}
    assert {"Typing in practice", "AI Builders Online"} <= titles
