"""Issue 11 #5: a source's whole store step is one transaction (updates used to commit row by row)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from aggregator.model import Event, Person
from aggregator.store import Store
from aggregator.store.attendance import AttendanceRepository
from tests.conftest import NOW, PORTLAND


def events(n: int, version: int, start=NOW + timedelta(days=3)) -> list[Event]:
    return [Event(source_uid=f"uid-{i}", title=f"Meetup {i} v{version}", start=start + timedelta(hours=i),
                  attendees=(Person(f"Person {i} v{version}"),)) for i in range(n)]


def snapshot(path) -> tuple[list, list]:
    with sqlite3.connect(path) as db:
        rows = db.execute("select id, title, sequence, updated_at from events order by id").fetchall()
        people = db.execute("select event_id, name, evidence from attendance order by event_id, name").fetchall()
    return rows, people


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "events.db")
    yield s
    s.close()


def test_an_error_in_the_middle_of_a_save_leaves_none_of_the_sources_changes(store, monkeypatch):
    """Guards the row-by-row commit of updates: events are written before attendance, so a
    failure there must roll back the inserts and updates already executed."""
    store.events.save("src", events(50, 0), now=NOW, tz=PORTLAND)
    before = snapshot(store.database.path)

    def broken(self, listed, stamp):
        raise RuntimeError("disk trouble half-way")

    monkeypatch.setattr(AttendanceRepository, "replace_listed", broken)
    with pytest.raises(RuntimeError):
        store.events.save("src", [*events(50, 1), *events(60, 1)[50:]], now=NOW + timedelta(days=1), tz=PORTLAND)
    assert snapshot(store.database.path) == before
    assert store.events.count("src") == 50


def test_nested_writes_join_the_outer_transaction(store):
    """The pipeline wraps save + vanish marks + source health in one transaction; an error after
    the save (inside it) undoes the save too."""
    store.events.save("src", events(5, 0), now=NOW, tz=PORTLAND)
    before = snapshot(store.database.path)
    with pytest.raises(RuntimeError), store.database.transaction():
        store.events.save("src", events(5, 1), now=NOW + timedelta(days=1), tz=PORTLAND)
        store.events.mark_vanished("src", set(), now=NOW, until=NOW + timedelta(days=30))
        raise RuntimeError("after the save, inside the transaction")
    assert snapshot(store.database.path) == before
    # and the connection is usable afterwards
    assert store.events.save("src", events(5, 1), now=NOW + timedelta(days=1), tz=PORTLAND).updated == 5


KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys
    from datetime import timedelta
    from tests.conftest import NOW, PORTLAND
    from tests.test_store_transaction import events
    from aggregator.store import Store

    store = Store(sys.argv[1])
    store.events.save("src", events(3000, 0), now=NOW, tz=PORTLAND)
    calls = 0

    def kill_after_some_work():
        global calls
        calls += 1
        if calls == 200:  # well inside the second save's writes
            os.kill(os.getpid(), signal.SIGKILL)
        return 0

    store.database.conn.set_progress_handler(kill_after_some_work, 1000)
    store.events.save("src", events(3000, 1), now=NOW + timedelta(days=1), tz=PORTLAND)
    print("not killed")
""")


def test_kill_9_during_a_save_leaves_the_source_at_its_old_version(tmp_path):
    """The reported failure: after kill -9, 673 of 8,772 events were at the new version."""
    path = tmp_path / "events.db"
    child = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True, text=True,
                           timeout=120, cwd=str(Path(__file__).parents[1]))
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    rows, people = snapshot(path)
    assert len(rows) == 3000
    assert {title.rsplit(" ", 1)[1] for _, title, _, _ in rows} == {"v0"}
    assert {sequence for _, _, sequence, _ in rows} == {0}
    assert {name.rsplit(" ", 1)[1] for _, name, _ in people} == {"v0"}
    assert Store(path).events.count("src") == 3000  # the file opens and reads after the kill


def test_pipeline_store_failure_keeps_other_sources_and_reports_the_error(tmp_path, monkeypatch):
    """A store step that fails half-way records the source's error (outside the rolled-back
    transaction) and leaves its events as they were."""
    from aggregator import pipeline

    store = Store(tmp_path / "events.db")
    report = pipeline.SourceReport(name="src", kind="ics", url="http://x")
    store.events.save("src", events(5, 0), now=NOW, tz=PORTLAND)
    before = snapshot(store.database.path)
    monkeypatch.setattr(AttendanceRepository, "replace_listed", lambda *a: 1 / 0)

    settings = SimpleNamespace(timezone=PORTLAND)
    pipeline._store(store, settings, report, events(5, 1), NOW + timedelta(days=1))
    assert report.error.startswith("could not store its events")
    assert (report.new, report.updated) == (0, 0)
    assert snapshot(store.database.path) == before
    assert store.runs.source_rows()["src"]["last_error"].startswith("could not store")
    store.close()
