"""The `jsonfeed` kind: the example third-party plugin in tests/plugin_example, installed.

It proves a plugin package works from outside: found through its entry point,
loaded and checked by the registry, and run end to end by the real CLI against a
local server (its own contract tests live beside it, in the plugin package).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib.metadata import entry_points

import pytest

from aggregator.registry import GROUP, load_source
from tests.conftest import Cli, require, write_config

EVENTS = [
    {"id": "n1", "title": "Python night", "start": "2026-12-05T18:30:00", "end": "2026-12-05T20:30:00"},
    {"id": "n2", "title": "Rust meetup", "start": "2026-12-09T19:00:00+00:00", "url": "https://example.org/n2"},
    {"id": "n3", "title": "PyCon Cascadia", "start": "2026-12-12", "end": "2026-12-14"},
]


@pytest.fixture(autouse=True)
def plugin_installed():
    found = any(ep.name == "jsonfeed" for ep in entry_points(group=GROUP))
    require(found, "the example plugin (kind jsonfeed)", "pip install -e tests/plugin_example")


def test_the_plugin_is_found_through_its_entry_point():
    source = load_source("jsonfeed")
    assert type(source).__module__ == "aggregator_jsonfeed"
    assert source.kind == "jsonfeed" and source.full_snapshot is True
    assert source.options == {"timezone": str, "max_events": int}


def feed_setup(tmp_path, server, events, **options):
    url = server.add("/events.json", json.dumps(events).encode(), headers={"Content-Type": "application/json"})
    source = {"name": "demo-json", "kind": "jsonfeed", "url": url, "group": "Demo", **options}
    return Cli(write_config(tmp_path, [source]))


def test_fetch_then_upcoming_lists_the_plugins_events(tmp_path, server):
    cli = feed_setup(tmp_path, server, EVENTS, timezone="Europe/Berlin")
    result = cli("fetch")
    assert result.returncode == 0, result.stderr
    assert "demo-json" in result.stdout and "Traceback" not in result.stderr
    events = {e["title"]: e for e in cli.json("upcoming", "--limit", "0", "--days", "30")}
    assert set(events) == {"Python night", "Rust meetup", "PyCon Cascadia"}
    # A start without an offset is read in the source's `timezone` option: 18:30 in Berlin.
    assert datetime.fromisoformat(events["Python night"]["start"]) == datetime(2026, 12, 5, 17, 30, tzinfo=timezone.utc)
    assert events["PyCon Cascadia"]["all_day"] is True and events["PyCon Cascadia"]["start"] == "2026-12-12"
    assert events["Rust meetup"]["url"] == "https://example.org/n2"
    assert all(e["sources"] == ["demo-json"] and e["group"] == "Demo" for e in events.values())


def test_a_full_snapshot_plugin_removes_a_vanished_event(tmp_path, server):
    cli = feed_setup(tmp_path, server, EVENTS)
    assert cli("fetch").returncode == 0
    server.add("/events.json", json.dumps(EVENTS[1:]).encode(), headers={"Content-Type": "application/json"})
    report = cli.json("fetch")
    assert report["sources"][0]["removed"] == 1
    titles = {e["title"] for e in cli.json("upcoming", "--limit", "0", "--days", "30")}
    assert titles == {"Rust meetup", "PyCon Cascadia"}


def test_a_bad_option_value_fails_that_source_in_words(tmp_path, server):
    cli = feed_setup(tmp_path, server, EVENTS, timezone="Mars/Olympus_Mons")
    result = cli("fetch")
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "unknown timezone 'Mars/Olympus_Mons'" in output


def test_a_body_that_is_not_json_fails_that_source_in_words(tmp_path, server):
    cli = feed_setup(tmp_path, server, EVENTS)
    server.add("/events.json", b"<html><body>Sign in</body></html>", headers={"Content-Type": "text/html"})
    result = cli("fetch")
    assert "not a JSON list of events" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
