"""The SQLite store: stable ids, real changes only, history kept, schema versioned."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from aggregator.errors import AggregatorError
from aggregator.model import Event, Person, Venue
from aggregator.ranking import predict
from aggregator.ranking.listing import COLD
from aggregator.store import SCHEMA_VERSION, Contact, Store, event_id, fts_phrase
from tests.conftest import NOW, PORTLAND

UTC = timezone.utc


def event(uid="e1", title="Python night", **kw) -> Event:
    defaults = dict(start=datetime(2026, 12, 3, 18, 30, tzinfo=PORTLAND), end=None, group="PDX Python")
    return Event(source_uid=uid, title=title, **{**defaults, **kw})


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "events.db")
    yield s
    s.close()


def save(store, events, now=NOW):
    return store.events.save("src", events, now=now, tz=PORTLAND)


def topic_matches(store, topic, ids):
    """The ranking's full-text lookup (the store's own copy of it was dead code, removed in schema v6)."""
    return store.rank_cache.topic_matches(fts_phrase(topic), ids)


def row(store, uid="e1"):
    return store.database.db["events"].get(event_id("src", uid))


def test_insert_then_unchanged_then_changed_bumps_sequence(store):
    assert save(store, [event()]).new == 1
    first = row(store)
    assert first["sequence"] == 0 and first["first_seen"] == first["updated_at"]
    later = NOW + timedelta(days=1)
    counts = save(store, [event()], now=later)
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    assert row(store)["updated_at"] == first["updated_at"] and row(store)["sequence"] == 0
    moved = event(start=datetime(2026, 12, 3, 19, 0, tzinfo=PORTLAND))
    assert save(store, [moved], now=later + timedelta(days=1)).updated == 1
    assert row(store)["sequence"] == 1
    assert row(store)["start"] == "2026-12-03T19:00:00-08:00"
    assert row(store)["first_seen"] == first["first_seen"]


def test_ids_are_stable_and_per_source(store):
    assert event_id("src", "e1") == event_id("src", "e1")
    assert event_id("src", "e1") != event_id("other", "e1")


def test_round_trip_of_every_field(store):
    original = event(
        end=datetime(2026, 12, 3, 20, 30, tzinfo=PORTLAND), timezone="America/Los_Angeles",
        description="Talks", url="https://x.org/e", venue=Venue("Lib", "801 SW 10th", "Portland", 45.5, -122.6),
        online=False, tags=("python", "typing"), status="tentative",
        attendees=(Person("Dana Lee", None, "dana@x.org", "going"),),
    )
    save(store, [original])
    back = store.events.find(event_id("src", "e1"))
    assert back.event == original.replace(attendees=())  # the people are AttendanceRow values of their own
    [dana] = store.attendance.of_events([back.id])[back.id]
    assert (dana.name, dana.email, dana.status, dana.evidence) == ("Dana Lee", "dana@x.org", "going", "feed")
    assert back.start_utc == original.start and back.end_utc == original.end and back.sequence == 0


def test_all_day_events_are_placed_in_the_users_zone(store):
    save(store, [event(uid="d", start=date(2026, 12, 12), end=date(2026, 12, 13), all_day=True)])
    stored = row(store, "d")
    assert stored["start"] == "2026-12-12"
    assert stored["start_utc"] == "2026-12-12T08:00:00Z"  # midnight in Portland


def test_attendee_list_is_replaced_on_each_fetch_and_history_of_unlisted_events_kept(store):
    """Issue 12 (deliberate change: attendance used to accumulate): an RSVP taken back leaves no
    stale row; an event the source no longer lists keeps its attendees; 'manual' rows stay."""
    dana, ravi = Person("Dana Lee", None, "dana@x.org", "going"), Person("Ravi Rao", None, "ravi@x.org", "going")
    save(store, [event(attendees=(dana, ravi)), event("old", start=NOW - timedelta(days=30), attendees=(dana,))])
    store.attendance.log_attended(event_id("src", "e1"), [Contact(7, "Kim Park")], NOW)
    save(store, [event(attendees=(ravi,))], now=NOW + timedelta(days=1))  # Dana took her RSVP back
    rows = {(r["event_id"], r["name"], r["evidence"]) for r in store.database.db["attendance"].rows}
    assert rows == {(event_id("src", "e1"), "Ravi Rao", "feed"), (event_id("src", "e1"), "Kim Park", "manual"),
                    (event_id("src", "old"), "Dana Lee", "feed")}


def test_upcoming_excludes_past_cancelled_and_removed(store):
    save(store, [
        event("past", start=NOW - timedelta(days=2)),
        event("soon", start=NOW + timedelta(days=2)),
        event("cancelled", start=NOW + timedelta(days=3), status="cancelled"),
        event("far", start=NOW + timedelta(days=90)),
        event("ongoing", start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1)),
    ])
    ids = lambda found: {e.event.source_uid for e in found}  # noqa: E731
    assert ids(store.events.between(start=NOW, end=NOW + timedelta(days=30))) == {"soon", "ongoing"}
    assert "cancelled" in ids(store.events.between(start=NOW, end=NOW + timedelta(days=30), include_cancelled=True))


def test_topic_matching_uses_phrases_and_stems(store):
    save(store, [
        event("ml", title="Intro to machine learning"),
        event("mach", title="Machine shop open house", group="Makers"),
        event("desc", title="Talk night", description="Practical Machine-Learning pipelines", group=None),
    ])
    ids = [row(store, u)["id"] for u in ("ml", "mach", "desc")]
    found = topic_matches(store, "machine learning", ids)
    assert set(found) == {ids[0], ids[2]}
    assert topic_matches(store, "'; drop table events; --", ids) == {}


def test_schema_version_is_recorded_and_a_newer_one_refused(tmp_path):
    Store(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select value from meta where key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
        db.execute("update meta set value='99' where key='schema_version'")
    with pytest.raises(AggregatorError, match="newer aggregator"):
        Store(tmp_path / "a.db")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "events.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AggregatorError, match="not a usable aggregator database"):
        Store(bad)


def test_full_text_follows_text_updates_and_skips_time_only_ones(store):
    """Schema v5: the FTS trigger fires only when indexed text is set; both kinds of update stay searchable."""
    save(store, [event(title="Rust night")])
    ident = event_id("src", "e1")
    save(store, [event(title="Python night")], now=NOW + timedelta(days=1))
    assert topic_matches(store, "python", [ident]) and not topic_matches(store, "rust", [ident])
    moved = event(title="Python night", start=datetime(2026, 12, 4, 18, 30, tzinfo=PORTLAND))
    assert save(store, [moved], now=NOW + timedelta(days=2)).updated == 1
    assert row(store)["start"] == "2026-12-04T18:30:00-08:00" and row(store)["sequence"] == 2
    assert topic_matches(store, "python", [ident])
    with sqlite3.connect(store.database.path) as db:
        assert db.execute("insert into events_fts(events_fts) values('integrity-check')") is not None


def test_a_version_4_file_migrates_to_the_current_version(tmp_path):
    """Was "migrates to 5": later versions run after v5's step, which this still checks."""
    Store(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("update meta set value='4' where key='schema_version'")
    Store(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select value from meta where key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        trigger = db.execute("select sql from sqlite_master where name = 'events_au'").fetchone()[0]
    assert "update of title, description, group_name, tags" in trigger


def test_a_version_7_file_keeps_the_calendar_log_the_personal_step_made_itself(tmp_path):
    """Schema v8: calendar_log is the migration's; a v7 file where the personal step created it
    (with rows) keeps them, and one without it gets the table, so `going` reads it unguarded."""
    for had_it in (True, False):
        path = tmp_path / f"{had_it}.db"
        Store(path).close()
        with sqlite3.connect(path) as db:
            db.execute("update meta set value='7' where key='schema_version'")
            db.execute("drop table calendar_log")
            if had_it:
                db.execute("create table calendar_log (event_id text primary key, past integer, logged_at text)")
                db.execute("insert into calendar_log values ('abc', 0, '2026-11-01T00:00:00Z')")
        store = Store(path)
        try:
            assert store.personal.going(["abc", "def"]) == ({"abc"} if had_it else set())
        finally:
            store.close()


def test_a_version_5_file_loses_the_old_precomputed_rates(tmp_path):
    """Schema v6: group_totals and contact_rates (no reader since ranking sums at query time) are dropped."""
    Store(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("update meta set value='5' where key='schema_version'")
        db.execute("create table group_totals (group_key text primary key, weighted_total real, observed integer)")
        db.execute("create table contact_rates (group_key text, contact_id integer, weighted_hits real)")
        db.execute("insert into meta (key, value) values ('rates_version', '3')")
    Store(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
        assert not tables & {"group_totals", "contact_rates"}
        assert db.execute("select count(*) from meta where key = 'rates_version'").fetchone()[0] == 0


def test_the_ranking_cache_tables_come_with_the_schema(tmp_path):
    """Schema v7: the ranking's cache tables are the store's (the ranking used to create them on first
    query, dropping them on a "layout" change); a file with older tables gets the current ones and
    forgets what was cached in them, so the next query rebuilds."""
    Store(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("update meta set value='6' where key='schema_version'")
        db.execute("drop table rank_group_slots")
        db.execute("create table rank_group_slots (g text, weighted real)")  # an older layout
        db.execute("insert into meta (key, value) values ('rank_cache', '{\"layout\": 2}')")
    Store(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        columns = [r[1] for r in db.execute("pragma table_info(rank_group_slots)")]
        assert columns == ["g", "wd", "weighted", "observed", "hits", "contacts"]
        assert {r[0] for r in db.execute("select name from sqlite_master")} >= {"rank_contact_slots",
                                                                                 "rank_contact_groups"}
        assert db.execute("select count(*) from meta where key = 'rank_cache'").fetchone()[0] == 0


def test_building_the_ranking_cache_creates_no_tables(store):
    """store.rank_cache.ensure fills the store's tables; it has no DDL of its own any more."""
    save(store, [event("past", start=NOW - timedelta(days=7), attendees=(Person("Dana Lee", None, None, "going"),))])
    before = store.database.conn.execute("select name, sql from sqlite_master where type in ('table', 'index')").fetchall()
    store.rank_cache.ensure(NOW, 0, predict.CONSTANTS, COLD)
    after = store.database.conn.execute("select name, sql from sqlite_master where type in ('table', 'index')").fetchall()
    assert after == before
    assert store.database.conn.execute("select observed from rank_group_slots").fetchall() == [(1,)]


def test_the_ranking_rebuild_reads_attendance_from_a_covering_index(store):
    """Schema v7's index on attendance (event_id, contact_id, status) serves the rebuild's scan alone."""
    plan = [r[3] for r in store.database.conn.execute(
        "explain query plan select distinct event_id, contact_id from attendance "
        "where contact_id is not null and status in ('going', 'attended')")]
    assert any("COVERING INDEX attendance_event_contact_status" in step for step in plan), plan


def test_an_unchanged_attendee_list_is_not_rewritten_and_does_not_touch_the_ranking(store):
    """A title edit changes the event, not who comes: its attendance rows keep their contact and
    attendance_version (which makes the ranking rebuild its sums) stays; an RSVP change moves it."""
    dana, ravi = Person("Dana Lee", None, "dana@x.org", "going"), Person("Ravi Rao", None, "ravi@x.org", "going")
    save(store, [event(attendees=(dana, ravi))])
    store.database.conn.execute("update attendance set contact_id = 7, resolved_version = 1 where name = 'Dana Lee'")
    version = store.database.meta("attendance_version")
    assert save(store, [event(title="Python night (room 2)", attendees=(dana, ravi))],
                now=NOW + timedelta(days=1)).updated == 1
    assert store.database.meta("attendance_version") == version
    rows = {r["name"]: r for r in store.database.db["attendance"].rows}
    assert rows["Dana Lee"]["contact_id"] == 7 and rows["Dana Lee"]["resolved_version"] == 1
    save(store, [event(title="Python night (room 2)", attendees=(dana, replace(ravi, status="declined")))],
         now=NOW + timedelta(days=2))
    assert int(store.database.meta("attendance_version")) == int(version) + 1
    assert {(r["name"], r["status"]) for r in store.database.db["attendance"].rows} == {
        ("Dana Lee", "going"), ("Ravi Rao", "declined")}
