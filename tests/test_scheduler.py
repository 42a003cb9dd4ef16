"""The nightly job: catch-up, no overlap, misfire grace, clean stop. Short schedules, injected clocks."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aggregator import config, pipeline
from aggregator.scheduler import (
    MISFIRE_GRACE,
    NightlyJob,
    configure,
    needs_catch_up,
    period,
)
from aggregator.store import Store
from tests.conftest import NOW, PORTLAND, fixture_bytes, write_config

UTC = timezone.utc
NIGHTLY = CronTrigger.from_crontab("15 4 * * *", timezone=PORTLAND)


def test_period_of_cron_triggers():
    assert period(NIGHTLY, NOW) == timedelta(days=1)
    assert period(CronTrigger.from_crontab("*/15 * * * *", timezone=PORTLAND), NOW) == timedelta(minutes=15)
    assert period(CronTrigger.from_crontab("0 9 * * 1", timezone=PORTLAND), NOW) == timedelta(days=7)


def test_catch_up_when_the_last_good_run_is_older_than_one_period():
    assert needs_catch_up(None, NOW, NIGHTLY)  # empty database
    assert not needs_catch_up(NOW - timedelta(hours=20), NOW, NIGHTLY)
    assert needs_catch_up(NOW - timedelta(hours=30), NOW, NIGHTLY)  # slept through 04:15


def settings_for(tmp_path, url="https://example.org/a.ics"):
    return config.load(write_config(tmp_path, [{"name": "src", "kind": "ics", "url": url}]))


def test_configure_sets_grace_coalesce_single_instance_and_catch_up(tmp_path):
    settings = settings_for(tmp_path)
    scheduler = BackgroundScheduler(timezone=PORTLAND)
    now = datetime.now(UTC)
    assert configure(scheduler, settings, lambda: None, now=now) is True  # empty database
    job = scheduler.get_job("fetch")
    assert job.misfire_grace_time == MISFIRE_GRACE >= 3600
    assert job.coalesce is True and job.max_instances == 1
    assert job.next_run_time == now
    assert scheduler.get_job("heartbeat") is not None


def test_no_catch_up_after_a_recent_good_run(tmp_path):
    settings = settings_for(tmp_path)
    store = Store(settings.database)
    run = store.runs.start(NOW, 1)
    store.runs.finish(run, now=NOW, new=1, updated=0, unchanged=0, removed=0, failed=0, errors={})
    store.close()
    scheduler = BackgroundScheduler(timezone=PORTLAND)
    assert configure(scheduler, settings, lambda: None, now=NOW + timedelta(hours=2)) is False
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job("fetch").next_run_time == NIGHTLY.get_next_fire_time(None, datetime.now(PORTLAND))
    finally:
        scheduler.shutdown(wait=False)


def test_a_run_that_only_failed_does_not_count_as_good(tmp_path):
    settings = settings_for(tmp_path)
    store = Store(settings.database)
    run = store.runs.start(NOW, 2)
    store.runs.finish(run, now=NOW, new=0, updated=0, unchanged=0, removed=0, failed=2, errors={"a": "x", "b": "y"})
    assert store.runs.last_good_run() is None
    store.close()


def test_runs_never_overlap(tmp_path):
    """max_instances=1: while a run is going, the next firing is skipped, not started beside it.
    Deterministic: the first run holds until APScheduler has reported a skipped firing."""
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES

    running, most = [0], [0]
    skipped, release = threading.Event(), threading.Event()
    lock = threading.Lock()

    def held_job():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(20)
        with lock:
            running[0] -= 1

    settings = settings_for(tmp_path)
    scheduler = BackgroundScheduler(timezone=PORTLAND)
    scheduler.add_listener(lambda event: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    configure(scheduler, settings, held_job, now=datetime.now(UTC), trigger=IntervalTrigger(seconds=0.05))
    scheduler.start()
    try:
        assert skipped.wait(20), "a firing during a run should have been skipped"
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    assert most[0] == 1


def test_scheduled_run_is_skipped_while_a_manual_fetch_holds_the_lock(tmp_path):
    settings = settings_for(tmp_path)
    said: list[str] = []
    job = NightlyJob(settings, say=said.append, now=lambda: NOW)
    with pipeline.fetch_lock(pipeline.lock_path(settings)):
        assert job() is None
    assert said and "skipped" in said[0] and "another fetch is running" in said[0]


def test_nightly_job_fetches_and_reports(tmp_path, server):
    url = server.add("/f.ics", fixture_bytes("ics/meetup_group_feed.ics"))
    settings = settings_for(tmp_path, url)
    said, done = [], []
    report = NightlyJob(settings, say=said.append, on_done=done.append, now=lambda: NOW)()
    assert report is not None and done == [report]
    assert "1 sources, 1 ok, 0 failed; 2 new" in said[0]


def test_schedule_command_catches_up_on_an_empty_database_and_stops_on_sigterm(tmp_path, server):
    url = server.add("/f.ics", fixture_bytes("ics/meetup_group_feed.ics"))
    config_path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": url}])
    env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(config_path), "schedule"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "catching up now" in proc.stdout.readline()
        assert "fetch: 1 sources, 1 ok" in proc.stdout.readline()
        with sqlite3.connect(tmp_path / "events.db") as db:
            assert db.execute("select count(*) from fetch_runs where finished is not null").fetchone()[0] == 1
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - began < 5
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_during_a_slow_fetch_still_exits_within_seconds(tmp_path, server):
    url = server.add("/slow.ics", fixture_bytes("ics/meetup_group_feed.ics"), delay=30)
    config_path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": url}],
                               fetch={"timeout": 60, "deadline": 60})
    env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(config_path), "schedule"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 20
        while not server.hits_for("/slow.ics") and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        assert time.monotonic() - began < 8
        with sqlite3.connect(tmp_path / "events.db") as db:
            assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        if proc.poll() is None:
            proc.kill()
