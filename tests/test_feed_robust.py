"""The feed always builds (issue 11 item 1): hostile stored values are cleaned again when the
feed is written, an event that still cannot be written is skipped, and the hand-written VEVENT
text is RFC 5545 that icalendar round-trips byte for byte."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import threading
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
import requests

from aggregator import config, feed
from aggregator.errors import AggregatorError
from aggregator.model import Event, Venue
from aggregator.server import FeedService, make_server
from aggregator.store import Store, event_id
from tests.conftest import NOW, PORTLAND, Cli, write_config

UTC = timezone.utc
HOSTILE_URL = "https://example.org/e\r\nX-INJECTED:1"
HOSTILE_TITLE = "Python\r\nEND:VEVENT\x00 night \x1b[31mred\x1b[0m"


def hostile_events() -> list[Event]:
    """Values as a careless source could store them (the ingest side's cleaning bypassed)."""
    at = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    return [
        Event("nl-url", HOSTILE_TITLE, at, url=HOSTILE_URL,
              venue=Venue("Room\r\n1\x00", "1 Main St\x1b]8;;https://evil.example\x07link\x1b]8;;\x07"),
              description="line one\r\nline two\x00\x07 \u202eevil"),
        Event("js-url", "Rust night", at + timedelta(days=1), url="javascript:alert(1)",
              tags=("rust", "\x1b[2J", "a,b;c")),
        Event("bad-geo", "Python data night", at + timedelta(days=2), url="https://example.org/ok",
              venue=Venue("Hall", None, None, float("nan"), 500.0)),
    ]


@pytest.fixture
def stored(tmp_path):
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}])
    settings = config.load(path)
    store = Store(settings.database)
    store.events.save("src", hostile_events(), now=NOW, tz=PORTLAND)
    yield path, settings, store
    store.close()


def test_hostile_values_leave_one_well_formed_event_each(stored):
    _, settings, store = stored
    built = feed.build(store, settings, now=NOW)
    assert built.skipped == [] and built.events == 3
    assert b"X-INJECTED" not in built.body.replace(b"\r\n ", b"")  # no property of its own, nor text
    for char in (b"\x00", b"\x1b", b"\x07", "\u202e".encode()):
        assert char not in built.body
    events = {str(c["UID"]).split("@")[0]: c for c in icalendar.Calendar.from_ical(built.body).walk("VEVENT")}
    first = events[event_id("src", "nl-url")]
    assert str(first["SUMMARY"]) == "Python END:VEVENT night red"
    assert "URL" not in first  # a URL with a line break is refused, not repaired
    assert str(first["LOCATION"]).startswith("Room 1, 1 Main St") and "evil" not in str(first["LOCATION"])
    assert "line one\nline two" in str(first["DESCRIPTION"])
    second = events[event_id("src", "js-url")]
    assert "URL" not in second and "javascript" not in str(second["DESCRIPTION"])
    assert second["CATEGORIES"].cats == ["rust", "a,b;c"]  # the escape-only tag is dropped
    third = events[event_id("src", "bad-geo")]
    assert "GEO" not in third and str(third["URL"]) == "https://example.org/ok"
    for line in built.body.split(b"\r\n"):
        assert len(line) <= 75


def test_feed_command_exits_0_and_ical_js_and_the_server_read_it(stored, tmp_path, ical_js):
    path, settings, store = stored
    out = tmp_path / "out.ics"
    result = Cli(path)("feed", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    parsed = json.loads(subprocess.run(["node", str(ical_js), str(out)], capture_output=True, text=True,
                                       check=True).stdout)
    by_title = {e["summary"]: e for e in parsed["events"]}
    assert set(by_title) == {"Python END:VEVENT night red", "Rust night", "Python data night"}
    assert by_title["Python END:VEVENT night red"]["url"] is None
    assert by_title["Rust night"]["start"] == int(datetime(2026, 12, 6, 2, 0, tzinfo=UTC).timestamp())

    httpd = make_server(FeedService(settings, store, now=lambda: NOW), "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        answer = requests.get(f"http://127.0.0.1:{httpd.server_address[1]}/feed.ics", timeout=10)
        assert answer.status_code == 200 and answer.content == out.read_bytes()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_event_that_cannot_be_written_is_skipped_and_named(stored, monkeypatch):
    _, settings, store = stored
    real = feed.published
    broken = event_id("src", "js-url")

    def failing(item):
        if item.id == broken:
            raise ValueError("year 10000 is out of range")
        return real(item)

    monkeypatch.setattr(feed, "published", failing)
    built = feed.build(store, settings, now=NOW)
    assert built.events == 2 and len(built.skipped) == 1
    assert built.skipped[0].startswith(broken) and "Rust night" in built.skipped[0]
    assert "out of range" in built.skipped[0]
    assert len(icalendar.Calendar.from_ical(built.body).walk("VEVENT")) == 2


def test_a_read_only_database_builds_an_unchanged_feed_and_names_the_problem_otherwise(stored):
    _, settings, store = stored
    first = feed.build(store, settings, now=NOW)
    store.database.conn.execute("PRAGMA query_only = ON")  # every write now fails, as on a read-only file
    again = feed.build(store, settings, now=NOW + timedelta(hours=3))
    assert again.body == first.body  # nothing changed: nothing to write
    store.database.conn.execute("PRAGMA query_only = OFF")
    store.events.save("src", [Event("new", "Python new night", datetime(2026, 12, 9, 2, 0, tzinfo=UTC))],
                      now=NOW, tz=PORTLAND)
    store.database.conn.execute("PRAGMA query_only = ON")
    with pytest.raises(AggregatorError, match="read-only"):
        feed.build(store, settings, now=NOW + timedelta(hours=4))


def test_storage_errors_other_than_read_only_are_named_too(stored):
    _, settings, store = stored
    message = str(feed._storage_error(store, sqlite3.OperationalError("disk I/O error")))
    assert str(store.database.path) in message and "disk I/O error" in message


ALPHABET = "aZ09 ,;:\\^\"'\n\té€😀\u00a0-"


def random_text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


def test_written_lines_round_trip_through_icalendar_byte_for_byte():
    """Folding at 75 octets (never inside a UTF-8 character, never after an escaping backslash)
    and TEXT escaping, checked against icalendar's own reading and writing on random text."""
    rng = random.Random(1105)
    for _ in range(400):
        text = random_text(rng, 300).replace("\\N", "\\n")  # icalendar rewrites a literal \N as a newline
        line = feed.content_line("DESCRIPTION", feed.escape_text(text))
        for physical in line[:-2].split(b"\r\n"):
            assert len(physical) <= 75
            physical.decode("utf-8")  # a whole number of characters on every line
        event = icalendar.Event.from_ical(b"BEGIN:VEVENT\r\n" + line + b"END:VEVENT\r\n")
        assert str(event["DESCRIPTION"]) == text
        assert event.to_ical() == b"BEGIN:VEVENT\r\n" + line + b"END:VEVENT\r\n"


def test_a_whole_vevent_is_what_icalendar_would_write(stored):
    _, settings, store = stored
    body = feed.build(store, settings, now=NOW).body
    for component in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        assert component.to_ical() in body
