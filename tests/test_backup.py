"""Backups (issue 22): a checked, consistent copy after each fetch that stored anything and on demand,
the newest `backups` kept; a damaged database found by the fetch's check or any corruption error,
then named by every command in one line; never copied over the good backups."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from aggregator import backup, config
from aggregator.scheduler import NightlyJob
from aggregator.store import Store
from aggregator.store import backup as safety
from tests import backup_world
from tests.backup_world import one_line_error, table_pages, zero_middle, zero_pages
from tests.conftest import NOW

READERS = ["upcoming", "contacts list", "reconnect"]

demo_city, world = backup_world.demo_city, backup_world.world  # the fixtures


def set_backups(w, keep: int) -> None:
    data = yaml.safe_load(w.config.read_text())
    data["backups"] = keep
    w.config.write_text(yaml.safe_dump(data))


def test_a_fetch_backs_up_when_it_stored_anything_or_your_data_changed(world):
    before = world.backups
    world.ok("fetch")  # your catch-up and evening were logged after the last fetch's backup
    assert len(world.backups) == len(before) + 1 and safety.check(world.backups[-1]) is None
    world.ok("fetch")  # nothing new from the calendars, nothing of yours changed: no copy
    assert len(world.backups) == len(before) + 1
    world.ok("touched", "José Núñez", "--on", "2026-11-28")
    world.ok("fetch")
    assert len(world.backups) == len(before) + 2
    with closing(sqlite3.connect(world.backups[-1], isolation_level=None)) as conn:  # the catch-up is in the new copy
        assert conn.execute("select count(*) from touches t join contacts c on c.id = t.contact_id "
                            "where c.name = 'José Núñez' and t.on_date = '2026-11-28'").fetchone()[0] == 1
        assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert not (world.backups[-1].parent / (world.backups[-1].name + "-wal")).exists()


def test_backup_command_prints_its_path_and_the_newest_n_are_kept(world):
    set_backups(world, 2)
    before = world.backups
    assert len(before) == 2
    made = [Path(world.ok("backup").strip()) for _ in range(2)]
    assert made == sorted(made) and made[0].name > before[-1].name  # names sort by time
    assert world.backups == made  # the two older ones rotated out
    assert all(safety.check(p) is None for p in world.backups)
    elsewhere = world.folder / "usb"
    elsewhere.mkdir()
    into_folder = Path(world.ok("backup", str(elsewhere)).strip())
    assert into_folder.parent == elsewhere and safety.check(into_folder) is None
    named = world.ok("backup", str(elsewhere / "mine.db")).strip()
    assert named == str(elsewhere / "mine.db")
    again = world.cli("backup", str(elsewhere / "mine.db"))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert world.backups == made  # copies elsewhere are not rotated in the folder


def test_backups_key_is_validated(world):
    set_backups(world, -1)
    result = world.cli("backup")
    assert result.returncode == 2
    assert f"{world.config}: backups: must be at least 0, not -1" in result.stderr
    set_backups(world, "seven")
    assert "backups: must be a whole number" in world.cli("upcoming").stderr


def test_backups_zero_turns_off_the_fetch_backups(world):
    set_backups(world, 0)
    before = world.backups
    world.ok("fetch")  # your data changed since the last backup, but none is wanted
    assert world.backups == before
    world.ok("backup")
    assert len(world.backups) == len(before) + 1  # made by hand: kept, none rotated out


def test_rotation_keeps_the_newest_n_by_name(tmp_path):
    database = tmp_path / "events.db"
    Store(database).close()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    folder = safety.backups_folder(database)
    folder.mkdir()
    for day in range(10):
        safety.copy_database(database, folder / safety.backup_name(database, start + timedelta(days=day)))
    (folder / "notes.txt").write_text("mine")  # not a backup: left alone
    removed = safety.rotate(database, 3)
    assert len(removed) == 7
    assert [safety.taken_at(p).day for p in safety.backups(database)] == [10, 9, 8]
    assert (folder / "notes.txt").exists()


def test_a_backup_taken_while_a_fetch_writes_holds_one_consistent_state(tmp_path):
    """A writer commits batches (100 catch-ups + the count in meta) as fast as it can while backups
    are taken: each copy passes integrity_check and holds whole batches only."""
    database = tmp_path / "events.db"
    store = Store(database)
    store.database.conn.executemany("insert into touches (contact_id, on_date, logged_at, note) values (1, ?, ?, ?)",
                                    [("2026-01-01", "x", "padding " * 40)] * 20_000)
    store.database.conn.execute("insert into meta values ('written', '20000')")
    store.database.conn.commit()
    store.close()
    stop = threading.Event()
    batches = []

    def write():
        conn = sqlite3.connect(database, timeout=30)
        while not stop.is_set():
            with conn:
                conn.executemany("insert into touches (contact_id, on_date, logged_at, note) values (2, ?, ?, ?)",
                                 [("2026-02-02", "y", "more " * 40)] * 100)
                conn.execute("update meta set value = value + 100 where key = 'written'")
            batches.append(1)
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = []
        while len(copies) < 4 or len(batches) < 20:
            copies.append(backup.backup_now(database))
    finally:
        stop.set()
        writer.join()
    assert len(batches) >= 20
    seen = set()
    for copy in copies:
        assert safety.check(copy) is None
        with closing(sqlite3.connect(copy, isolation_level=None)) as conn:
            rows = conn.execute("select count(*) from touches").fetchone()[0]
            assert rows == int(conn.execute("select value from meta where key = 'written'").fetchone()[0])
            assert rows % 100 == 0
        seen.add(rows)
    assert len(seen) > 1  # the writer went on between copies


def test_a_killed_backup_never_leaves_a_file_taken_for_a_backup(tmp_path):
    """`aggregator backup` killed at some moment of its copy: either a whole, checked backup with a
    backup's name, or none (a temporary file, which restore never takes and a later rotation removes)."""
    database = tmp_path / "events.db"
    store = Store(database)
    store.database.conn.executemany("insert into touches (contact_id, on_date, logged_at, note) values (1, ?, ?, ?)",
                                    [("2026-01-01", "x", os.urandom(200).hex())] * 40_000)
    store.database.conn.commit()
    store.close()
    (tmp_path / "config.yaml").write_text("database: events.db\nsources: []\n")
    env = {**os.environ, "AGGREGATOR_CONFIG": str(tmp_path / "config.yaml")}
    for delay in (0.3, 0.6, 0.9, 1.2):
        process = subprocess.Popen([sys.executable, "-m", "aggregator", "backup"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for made in safety.backups(database):
            assert safety.check(made) is None
    partials = list(safety.backups_folder(database).glob(".*.partial*"))
    old = time.time() - 7200
    for partial in partials:
        os.utime(partial, (old, old))
    safety.rotate(database, 100)
    assert not list(safety.backups_folder(database).glob(".*.partial*"))


def test_zeroed_pages_that_upcoming_never_reads_are_found_by_the_next_fetch(world):
    """The issue's worst case: a damaged file whose readers still answer. The fetch's check finds it
    (exit 1), remembers it, and from then on every command names `aggregator restore`."""
    good = {p: p.read_bytes() for p in world.backups}
    zero_pages(world.database, table_pages(world.database, "feed_entries") + table_pages(world.database, "feed_builds"))
    world.ok("upcoming")  # still answers: the damage is in pages it does not read
    world.ok("touched", "Dana Lee")  # your data changed: this fetch would back up
    fetched = world.cli("fetch")
    assert fetched.returncode == 1
    assert "is not a usable aggregator database: it is damaged" in fetched.stderr
    assert "Traceback" not in fetched.stderr
    for command in ["upcoming", "feed", "backup", "touched Dana"]:
        line = one_line_error(world.cli(*command.split()), world.database)
        assert str(world.backups[-1]) in line  # the newest good backup, by name
    assert {p: p.read_bytes() for p in world.backups} == good  # no damaged copy joined them


def test_zeroed_pages_in_the_middle_make_every_command_say_so(world):
    zero_middle(world.database)
    fetched = world.cli("fetch")  # meets the damage, or its check finds it
    assert fetched.returncode == 1 and "aggregator restore" in fetched.stderr, fetched.stderr
    assert "Traceback" not in fetched.stderr
    for command in READERS:
        one_line_error(world.cli(*command.split()), world.database)


def test_a_truncated_file_is_found(world):
    with world.database.open("r+b") as handle:
        handle.truncate(world.database.stat().st_size // 2)
    fetched = world.cli("fetch")
    assert fetched.returncode == 1 and "aggregator restore" in fetched.stderr, fetched.stderr
    for command in READERS:
        one_line_error(world.cli(*command.split()), world.database)


def test_a_file_emptied_while_backups_exist_is_not_taken_for_a_new_database(world):
    world.database.write_bytes(b"")
    line = one_line_error(world.cli("upcoming"), world.database)
    assert "not an SQLite file (empty file" in line
    assert world.database.stat().st_size == 0  # not silently made a new, empty database


def test_a_file_that_is_not_sqlite_is_one_line_naming_restore(world):
    world.database.write_bytes(b"<html>an interrupted copy</html>" * 300)
    for command in ["upcoming", "fetch", "backup"]:
        line = one_line_error(world.cli(*command.split()), world.database)
        assert "not an SQLite file (file is not a database" in line
    assert not safety.damage_marker(world.database).exists()  # nothing to remember: every open fails


def test_damage_with_no_backup_says_what_can_be_done(tmp_path):
    database = tmp_path / "events.db"
    Store(database).close()
    zero_pages(database, range(2, 6))
    (tmp_path / "config.yaml").write_text("database: events.db\nsources: []\n")
    result = subprocess.run([sys.executable, "-m", "aggregator", "--config", str(tmp_path / "config.yaml"),
                             "sources"], capture_output=True, text=True)
    line = one_line_error(result, database)
    assert "there is no backup" in line and "aggregator export" in line


def test_opening_checks_the_file_once_a_day(tmp_path):
    database = tmp_path / "events.db"
    Store(database).close()
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        conn.execute("update meta set value = '0' where key = ?", [safety.CHECKED_KEY])  # checked long ago
    zero_pages(database, table_pages(database, "feed_entries"))
    with pytest.raises(safety.DatabaseDamaged, match="aggregator restore"):
        Store(database)
    assert safety.damage_marker(database).exists()
    with pytest.raises(safety.DatabaseDamaged):  # remembered: no check needed
        Store(database)


def test_a_check_passed_today_is_not_repeated_on_open(tmp_path):
    database = tmp_path / "events.db"
    Store(database).close()
    zero_pages(database, table_pages(database, "feed_entries"))
    Store(database).close()  # checked when created: the open does not pay for another


def test_the_nightly_job_logs_the_damage_and_leaves_the_backups_alone(world, caplog):
    good = {p: p.read_bytes() for p in world.backups}
    zero_pages(world.database, table_pages(world.database, "feed_entries"))
    store = Store(world.database)
    store.people.touch(1, NOW.date(), NOW)  # your data changed: a backup would be due
    store.close()
    settings = config.load(world.config)
    said = []
    job = NightlyJob(settings, now=lambda: NOW, say=said.append)
    job()
    assert any("aggregator restore" in line for line in said), said
    assert any("aggregator restore" in r.getMessage() for r in caplog.records)
    job()  # the next night: refused at once, still logged, backups still the same
    assert "scheduled fetch failed" in said[-1] and "aggregator restore" in said[-1]
    assert {p: p.read_bytes() for p in world.backups} == good


def test_backup_before_any_fetch_says_what_to_do(tmp_path):
    (tmp_path / "config.yaml").write_text("database: events.db\nsources: []\n")
    result = subprocess.run([sys.executable, "-m", "aggregator", "--config", str(tmp_path / "config.yaml"), "backup"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert f"there is no database at {tmp_path / 'events.db'} yet; `aggregator fetch` makes it" in result.stderr


def test_a_fetch_that_fails_on_damage_while_upcoming_answers_is_remembered(world):
    """The issue's report: `upcoming` still answers while `fetch` fails. The fetch's own corruption
    error is one line naming restore, and from then on `upcoming` says so too."""
    zero_pages(world.database, table_pages(world.database, "fetch_runs"))
    world.ok("upcoming")
    one_line_error(world.cli("fetch"), world.database)
    one_line_error(world.cli("upcoming"), world.database)


def test_the_server_answers_damage_with_503_naming_restore_and_remembers_it(world):
    """A request that meets a damaged page: 503, one plain line naming `aggregator restore` (no paths,
    no exception names), the damage recorded as a command records it, and the server stays up."""
    import re

    import requests

    env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(world.config), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        base = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline()).group(0)
        assert requests.get(base, timeout=10).status_code == 200
        zero_pages(world.database, table_pages(world.database, "events"))
        answer = requests.get(base, timeout=10)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Content-Type"].startswith("text/plain")
        lines = answer.text.strip().splitlines()
        assert len(lines) == 1 and "aggregator restore" in lines[0]
        assert "Error" not in answer.text and str(world.folder) not in answer.text
        assert safety.damage_marker(world.database).exists()  # remembered for every later command
        assert requests.get(base + "feed.ics", timeout=10).status_code in (200, 503)  # still serving
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    one_line_error(world.cli("upcoming"), world.database)
