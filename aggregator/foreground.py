"""Commands that run until stopped (`serve`, `schedule`): signals, the schedule's start, a graceful exit."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone

from rich.console import Console


def sayer(console: Console):
    """Print a line and flush at once: a long-running command is often read through a pipe or a log."""

    def say(message: str) -> None:
        console.print(message, markup=False)
        sys.stdout.flush()

    return say


def start_schedule(scheduler, settings, job, say, blocking: bool = False) -> None:
    """Add the nightly job, say when it runs next, and start the scheduler."""
    from aggregator import scheduler as scheduler_module

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    catch_up = scheduler_module.configure(scheduler, settings, job, now=datetime.now(timezone.utc))
    trigger = scheduler_module.cron_trigger(settings)
    upcoming_run = trigger.get_next_fire_time(None, datetime.now(settings.timezone))
    say(f"Nightly fetch at '{settings.schedule.cron}' ({settings.timezone.key}); next {upcoming_run:%Y-%m-%d %H:%M}"
        + ("; catching up now (the last good run is older than one period)" if catch_up else ""))
    if blocking:
        on_signals(lambda: scheduler.shutdown(wait=False))
    scheduler.start()


def on_signals(stop) -> None:
    def handler(signum, frame):
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def exit_soon(grace: float = 3.0) -> None:
    """Exit now, giving a running fetch a few seconds: each source is its own transaction."""
    deadline = time.monotonic() + grace
    busy = lambda: [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]  # noqa
    while busy() and time.monotonic() < deadline:
        time.sleep(0.1)
    sys.stdout.flush()
    sys.stderr.flush()
    if busy():
        os._exit(0)
