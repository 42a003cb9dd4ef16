"""The nightly fetch, on APScheduler 3.x.

- a CronTrigger from `schedule.cron` in the config's time zone;
- coalesce, max_instances=1 and a misfire grace of hours (3.x drops a run
  that is more than 1 s late by default);
- a heartbeat job every minute, so a scheduler that slept with the laptop wakes
  within a minute of resume and fires the missed run;
- a catch-up run at start when the last good run is older than one period;
- the fetch lock (locks.fetch_lock) keeps a manual `fetch` and the scheduled
  one apart: whichever comes second is skipped and says so;
- a damaged database is logged (one line naming `aggregator restore`) and the run
  skipped; the backups are left as they are, never rotated because of it.

Jobs live in memory: nothing to share or corrupt between processes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.backup import damage_seen
from aggregator.config import Settings
from aggregator.errors import AggregatorError, FetchLocked
from aggregator.pipeline import RunReport, run_fetch
from aggregator.store import Store

MISFIRE_GRACE = 6 * 3600
HEARTBEAT = timedelta(minutes=1)
log = logging.getLogger("aggregator.scheduler")


def cron_trigger(settings: Settings) -> CronTrigger:
    return CronTrigger.from_crontab(settings.schedule.cron, timezone=settings.timezone)


def period(trigger: BaseTrigger, now: datetime) -> timedelta:
    """The time between the trigger's next two fire times after `now`."""
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    if first is None or second is None:
        return timedelta(days=1)
    return second - first


def needs_catch_up(last_ok: datetime | None, now: datetime, trigger: BaseTrigger) -> bool:
    """True when no good run happened within the last period (the machine slept through it)."""
    return last_ok is None or now - last_ok > period(trigger, now)


class NightlyJob:
    """One scheduled fetch: its own store connection, errors logged, never raised."""

    def __init__(self, settings: Settings, *, on_done: Callable[[RunReport], None] | None = None,
                 now: Callable[[], datetime],
                 say: Callable[[str], None] = print):
        self.settings = settings
        self.on_done = on_done
        self.now = now
        self.say = say

    def __call__(self) -> RunReport | None:
        try:
            store = Store(self.settings.database)
        except AggregatorError as exc:  # a damaged database among them: its backups stay as they are
            self.fail(exc)
            return None
        try:
            report = run_fetch(self.settings, store, now=self.now)
        except FetchLocked as exc:
            self.say(f"scheduled fetch skipped: {exc}")
            return None
        except AggregatorError as exc:
            self.fail(exc)
            return None
        except sqlite3.DatabaseError as exc:
            damaged = damage_seen(self.settings.database, exc)
            if damaged is None:
                raise
            self.fail(damaged)
            return None
        finally:
            store.close()
        failed = len(report.failed)
        self.say(f"{report.finished:%Y-%m-%d %H:%M} fetch: {len(report.sources)} sources, "
                 f"{len(report.sources) - failed} ok, {failed} failed; {report.total('new')} new, "
                 f"{report.total('updated')} updated")
        for source in report.failed:
            self.say(f"  FAILED {source.name}: {source.error}")
        for problem in report.problems:  # a contacts file, a calendar, a damaged database, a backup not made
            self.say(f"  PROBLEM {problem}")
            log.error("scheduled fetch: %s", problem)
        if self.on_done:
            self.on_done(report)
        return report

    def fail(self, exc: Exception) -> None:
        self.say(f"scheduled fetch failed: {exc}")
        log.error("scheduled fetch failed: %s", exc)


def last_good_run(settings: Settings) -> datetime | None:
    store = Store(settings.database)
    try:
        return store.runs.last_good_run()
    finally:
        store.close()


def configure(scheduler: BaseScheduler, settings: Settings, job: Callable[[], object], *,
              now: datetime, trigger: BaseTrigger | None = None,
              heartbeat: timedelta = HEARTBEAT) -> bool:
    """Add the fetch and heartbeat jobs; returns True when a catch-up run starts now."""
    trigger = trigger or cron_trigger(settings)
    catch_up = needs_catch_up(last_good_run(settings), now, trigger)
    options = {"next_run_time": now} if catch_up else {}
    scheduler.add_job(job, trigger, id="fetch", name="fetch", coalesce=True, max_instances=1,
                      misfire_grace_time=MISFIRE_GRACE, replace_existing=True, **options)
    scheduler.add_job(_heartbeat, IntervalTrigger(seconds=heartbeat.total_seconds()), id="heartbeat",
                      name="heartbeat", coalesce=True, max_instances=1, replace_existing=True)
    return catch_up


def _heartbeat() -> None:
    """Nothing to do: its firing wakes the scheduler so late jobs run after a suspend."""
