"""The iCal feed, read back by icalendar and by ical.js (Mozilla's parser, as in Thunderbird)."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta, timezone

import icalendar
import pytest

from aggregator import config, feed
from aggregator.model import Event, Person, Venue
from aggregator.store import Store, event_id
from tests.conftest import NOW, PORTLAND, write_config

UTC = timezone.utc


@pytest.fixture
def setup(tmp_path):
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        feed={"name": "Test feed", "limit_per_week": 10})
    settings = config.load(path)
    store = Store(settings.database)
    yield settings, store
    store.close()


def ev(uid, title, start, **kw):
    return Event(source_uid=uid, title=title, start=start, **kw)


def sample_events():
    return [
        ev("py", "Python night", datetime(2026, 12, 3, 18, 30, tzinfo=PORTLAND),
           end=datetime(2026, 12, 3, 20, 30, tzinfo=PORTLAND), timezone="America/Los_Angeles",
           url="https://example.org/py", venue=Venue("Library", "801 SW 10th Ave", None, 45.519, -122.682),
           tags=("python", "community"), description="Talks about typing.", group="PDX Python"),
        ev("hack", "Hack day", date(2026, 12, 12), end=date(2026, 12, 13), all_day=True),
        ev("rust", "Rust hack night", datetime(2026, 12, 9, 2, 0, tzinfo=UTC), group="PDX Rust"),
        ev("gone", "Cancelled Python social", datetime(2026, 12, 4, 2, 0, tzinfo=UTC), status="cancelled"),
        ev("old", "Python last month", datetime(2026, 11, 10, 2, 0, tzinfo=UTC)),
        ev("ancient", "Python long ago", datetime(2026, 9, 1, 2, 0, tzinfo=UTC)),
    ]


def build(settings, store, now=NOW, topic=None):
    return feed.build(store, settings, now=now, topic=topic)


def components(body: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(c["SUMMARY"]): c for c in cal.walk("VEVENT")}


def test_feed_properties_and_events_read_by_icalendar(setup):
    settings, store = setup
    store.events.save("src", sample_events(), now=NOW - timedelta(days=1), tz=PORTLAND)
    built = build(settings, store)
    cal = icalendar.Calendar.from_ical(built.body)
    assert str(cal["X-WR-CALNAME"]) == "Test feed" and str(cal["NAME"]) == "Test feed"
    assert str(cal["X-WR-TIMEZONE"]) == "America/Los_Angeles"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n" in built.body
    assert b"X-PUBLISHED-TTL:PT12H\r\n" in built.body
    assert b"BEGIN:VTIMEZONE" not in built.body and b"TZID" not in built.body
    events = components(built.body)
    assert set(events) == {"Python night", "Hack day", "Rust hack night", "Cancelled Python social",
                           "Python last month"}  # "long ago" is outside days_back
    py = events["Python night"]
    assert py["DTSTART"].dt == datetime(2026, 12 , 4, 2, 30, tzinfo=UTC)
    assert py["DTSTART"].to_ical() == b"20261204T023000Z"
    assert str(py["UID"]) == f"{event_id('src', 'py')}@aggregator"
    assert str(py["URL"]) == "https://example.org/py"
    assert str(py["LOCATION"]) == "Library, 801 SW 10th Ave"
    assert (py["GEO"].latitude, py["GEO"].longitude) == (45.519, -122.682)
    assert py["CATEGORIES"].cats == ["python", "community"]
    assert str(py["DESCRIPTION"]).startswith("Why: topic: python")
    assert "Talks about typing." in str(py["DESCRIPTION"])
    assert str(py["STATUS"]) == "CONFIRMED"
    hack = events["Hack day"]
    assert hack["DTSTART"].to_ical() == b"20261212" and hack["DTSTART"].params.get("VALUE") == "DATE"
    assert str(events["Cancelled Python social"]["STATUS"]) == "CANCELLED"
    rust = events["Rust hack night"]
    assert rust["DTEND"].dt - rust["DTSTART"].dt == timedelta(hours=2)  # no end given: 2 h


def test_ical_js_reads_the_same_instants_and_no_floating_times(setup, tmp_path, ical_js):
    settings, store = setup
    events = sample_events()
    store.events.save("src", events, now=NOW - timedelta(days=1), tz=PORTLAND)
    path = tmp_path / "feed.ics"
    path.write_bytes(build(settings, store).body)
    out = subprocess.run(["node", str(ical_js), str(path)], capture_output=True, text=True, check=True)
    parsed = json.loads(out.stdout)
    assert parsed["props"]["x-wr-calname"] == "Test feed"
    assert parsed["props"]["refresh-interval"] == "PT12H"
    by_title = {e["summary"]: e for e in parsed["events"]}
    for original in events:
        if original.title not in by_title:
            continue
        seen = by_title[original.title]
        if original.all_day:
            assert seen["startZone"] == "date" and seen["start"] == original.start.isoformat()
        else:
            assert seen["startZone"] == "UTC"
            assert seen["start"] == int(original.start.timestamp())
            assert seen["end"] == int(original.effective_end().timestamp())
    assert by_title["Cancelled Python social"]["status"] == "CANCELLED"
    assert by_title["Python night"]["categories"] == ["python", "community"]


def test_bytes_uids_and_stamps_are_stable_while_nothing_changes(setup):
    settings, store = setup
    store.events.save("src", sample_events(), now=NOW - timedelta(days=1), tz=PORTLAND)
    first = build(settings, store)
    second = build(settings, store, now=NOW + timedelta(hours=1))
    assert first.body == second.body and first.etag == second.etag
    assert second.last_modified == first.last_modified


def test_a_real_change_bumps_sequence_and_stamps_only_that_event(setup):
    settings, store = setup
    store.events.save("src", sample_events(), now=NOW - timedelta(days=1), tz=PORTLAND)
    before = components(build(settings, store).body)
    changed = [e.replace(start=e.start + timedelta(hours=1)) if e.source_uid == "rust" else e for e in sample_events()]
    store.events.save("src", changed, now=NOW + timedelta(hours=2), tz=PORTLAND)
    later = NOW + timedelta(hours=3)
    after_build = build(settings, store, now=later)
    after = components(after_build.body)
    assert after["Rust hack night"]["SEQUENCE"] == before["Rust hack night"]["SEQUENCE"] + 1
    assert after["Rust hack night"]["DTSTAMP"].dt == later.replace(microsecond=0)
    assert after["Rust hack night"]["LAST-MODIFIED"].dt == later.replace(microsecond=0)
    assert after["Python night"]["DTSTAMP"].dt == before["Python night"]["DTSTAMP"].dt
    assert after["Python night"]["SEQUENCE"] == before["Python night"]["SEQUENCE"]
    assert after_build.last_modified == later.replace(microsecond=0)


def test_a_vanished_event_is_published_as_cancelled_for_a_while(setup):
    settings, store = setup
    store.events.save("src", sample_events(), now=NOW - timedelta(days=1), tz=PORTLAND)
    store.database.db["events"].update(event_id("src", "rust"), {"removed_at": "2026-12-01T10:00:00Z"})
    events = components(build(settings, store).body)
    assert str(events["Rust hack night"]["STATUS"]) == "CANCELLED"
    assert str(events["Rust hack night"]["DESCRIPTION"]).startswith("CANCELLED")
    three_weeks = components(build(settings, store, now=NOW + timedelta(days=6)).body)
    assert "Rust hack night" in three_weeks
    much_later = NOW + timedelta(days=15)
    store.events.save("src", [ev("late", "Python later", much_later + timedelta(days=1))], now=much_later, tz=PORTLAND)
    assert "Rust hack night" not in components(build(settings, store, now=much_later).body)


def test_injection_in_scraped_text_stays_one_event(setup):
    settings, store = setup
    evil = "Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:injected\r\nDTSTART:20261205T000000Z"
    store.events.save("src", [ev("evil", evil, datetime(2026, 12, 5, 2, 0, tzinfo=UTC), description=evil,
                                 venue=Venue("Room;1,\\2"))], now=NOW, tz=PORTLAND)
    body = build(settings, store).body
    cal = icalendar.Calendar.from_ical(body)
    [only] = cal.walk("VEVENT")
    # SUMMARY is written on one line since the feed re-cleans every value (issue 11 item 1);
    # the description keeps its line breaks, escaped.
    assert str(only["SUMMARY"]) == " ".join(evil.split())
    assert evil.replace("\r\n", "\n") in str(only["DESCRIPTION"])
    assert str(only["LOCATION"]) == "Room;1,\\2"
    assert body.count(b"\r\nBEGIN:VEVENT\r\n") == 1  # the text stays inside escaped lines


def test_limit_per_week_min_score_and_topic_feeds(tmp_path):
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        feed={"limit_per_week": 3, "min_score": 0.5})
    settings = config.load(path)
    store = Store(settings.database)
    week = [ev(f"py{i}", f"Python {i}", datetime(2026, 12, 8, 2, i, tzinfo=UTC)) for i in range(6)]
    week += [ev(f"rust{i}", f"Rust {i}", datetime(2026, 12, 8, 3, i, tzinfo=UTC)) for i in range(2)]
    week += [ev("none", "Knitting", datetime(2026, 12, 8, 4, 0, tzinfo=UTC))]
    store.events.save("src", week, now=NOW, tz=PORTLAND)
    titles = set(components(feed.build(store, settings, now=NOW).body))
    assert len(titles) == 3 and all(t.startswith("Python") for t in titles)  # best three of the week
    rust = set(components(feed.build(store, settings, now=NOW, topic="rust").body))
    assert rust == {"Rust 0", "Rust 1"}
    assert "Knitting" not in titles  # score 0 < min_score


def test_attendees_emails_never_reach_the_feed(setup):
    settings, store = setup
    store.events.save("src", [ev("p", "Python meetup", datetime(2026, 12, 5, 2, 0, tzinfo=UTC),
                                 attendees=(Person("Dana Lee", None, "dana@secret.example", "going"),))],
                      now=NOW, tz=PORTLAND)
    body = build(settings, store).body
    assert b"secret.example" not in body and b"ATTENDEE" not in body


def test_feed_command_writes_a_file(tmp_path, server):
    from tests.conftest import Cli, fixture_bytes

    url = server.add("/f.ics", fixture_bytes("ics/meetup_group_feed.ics"))
    cli = Cli(write_config(tmp_path, [{"name": "pdx", "kind": "ics", "url": url, "group": "PDX Python"}]))
    assert cli("fetch").returncode == 0
    result = cli("feed", "-o", str(tmp_path / "out.ics"))
    assert result.returncode == 0 and "wrote 2 events" in result.stderr
    assert len(components((tmp_path / "out.ics").read_bytes())) == 2
    stdout = cli("feed", "--topic", "python")
    assert stdout.stdout.startswith("BEGIN:VCALENDAR")


def test_the_feed_stays_under_the_size_cap_keeping_the_best_events(tmp_path, monkeypatch):
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        feed={"limit_per_week": 0})
    settings = config.load(path)
    store = Store(settings.database)
    long = "x" * 3000
    events = [ev(f"k{i}", f"Knitting {i}", NOW + timedelta(days=1, hours=i), description=long) for i in range(60)]
    events += [ev("py", "Python night", NOW + timedelta(days=2), description=long)]
    store.events.save("src", events, now=NOW, tz=PORTLAND)
    monkeypatch.setattr(feed, "MAX_FEED_BYTES", 50_000)
    built = feed.build(store, settings, now=NOW)
    assert len(built.body) <= 50_000 and built.dropped > 0
    assert built.events + built.dropped == 61
    assert "Python night" in components(built.body)  # the best-scoring event is kept
    icalendar.Calendar.from_ical(built.body)  # still one well-formed calendar
