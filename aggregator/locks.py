"""The fetch lock: one fetch at a time per database, manual or scheduled (and `restore` waits on it)."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from aggregator.config import Settings
from aggregator.errors import FetchLocked
from aggregator.store.codec import utc_text


def lock_path(settings: Settings) -> Path:
    return settings.database.with_name(settings.database.name + ".lock")


@contextmanager
def fetch_lock(path: Path, started: datetime | None = None):
    """Only one fetch at a time per database, whether manual or scheduled.

    The lock file names the holder (pid, and when it started if given) for the refused one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise FetchLocked(f"another fetch is running ({holder}); try again when it ends") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}" + (f", started {utc_text(started)}" if started else ""))
        handle.flush()
        yield
    finally:
        handle.close()
