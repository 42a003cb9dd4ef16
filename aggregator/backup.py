"""Your own data kept safe: a backup after each fetch and on demand, a way back, an export.

Backups live in `<database>.backups/` beside the database (`events.db.backups/`), the newest
`backups` (config, default 7) kept. A fetch run backs up when it stored events or when your own
data (contacts, catch-ups, evenings attended, ...) changed since the newest backup; it checks
the database either way (the copy, or the file itself), so damage is found within a run. A
damaged database is never copied over good backups, and good backups are never rotated out
because of one. The file work (copies, checks, marks, locks) is store.backup's; the user's
tables are store.userdata's.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.config import Settings
from aggregator.errors import AggregatorError
from aggregator.locks import fetch_lock, lock_path
from aggregator.store import Store, userdata, utc_text
from aggregator.store import backup as safety

if TYPE_CHECKING:
    from aggregator.pipeline import RunReport

UTC = timezone.utc
FINGERPRINT_KEY = "backup_fingerprint"  # meta: the user's data as of the newest automatic backup
EXPORT_FORMAT = 1


class BackupPathError(AggregatorError):
    """A path on the command line that cannot be used: bad usage."""

    exit_code = 2


def backup_now(database: Path, target: Path | None = None, *, keep: int = 0) -> Path:
    """A consistent copy of the database now: at `target` (a new file, or a folder to put it in),
    else in the backups folder, keeping the newest `keep` there (0: keep all). Returns its path.

    A damaged database is refused (DatabaseDamaged), so it never joins the good backups."""
    damage = safety.known_damage(database)
    if damage:
        raise safety.DatabaseDamaged(database, damage)
    if not database.is_file():
        raise AggregatorError(f"there is no database at {database} yet; `aggregator fetch` makes it")
    in_folder = target is None
    if target is not None and target.is_dir():
        target = target / safety.backup_name(database, datetime.now(UTC))
    elif target is not None and target.exists():
        raise BackupPathError(f"{target} already exists; give a new file name or a folder")
    target = target or _new_backup_path(database)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        holder = safety.hold_open(database)
    except OSError as exc:
        raise AggregatorError(f"cannot write a backup to {target.parent}: {exc.strerror or exc}") from None
    try:
        safety.copy_database(database, target)
    except OSError as exc:
        raise AggregatorError(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    finally:
        holder.close()
    if in_folder and keep:
        safety.rotate(database, keep)
    return target


def _new_backup_path(database: Path) -> Path:
    """A name in the backups folder no backup has yet (names hold milliseconds)."""
    folder = safety.backups_folder(database)
    while True:
        path = folder / safety.backup_name(database, datetime.now(UTC))
        if not path.exists():
            return path
        time.sleep(0.001)


def after_fetch(settings: Settings, store: Store, report: RunReport) -> None:
    """The end of a fetch run: a backup when it stored events or your own data changed since the
    newest backup, else a quick check of the file. A damaged database, or a backup that could not
    be written, is one of the run's problems (it exits 1); a backup made says nothing."""
    stored = any(report.total(count) for count in ("new", "updated", "removed"))
    problem = _back_up_or_check(settings, store, stored)
    if problem:
        report.notes.append(problem)
        report.problems.append(problem)


def _back_up_or_check(settings: Settings, store: Store, stored: bool) -> str | None:
    database = store.database
    try:
        with database.lock:
            mine = userdata.fingerprint(database.conn)
        due = settings.backups > 0 and (stored or mine != database.meta(FINGERPRINT_KEY)
                                        or not safety.backups(settings.database))
        if due:
            backup_now(settings.database, keep=settings.backups)
            with database.transaction():
                database.set_meta(FINGERPRINT_KEY, mine)
        else:
            with database.lock:
                problem = safety.quick_check(database.conn)
            if problem:
                safety.record_damage(settings.database, problem)
                return safety.damage_message(settings.database, problem)
        with database.lock:
            safety.mark_checked(database.conn)
    except safety.DatabaseDamaged as exc:
        return str(exc)
    except sqlite3.DatabaseError as exc:
        damaged = damage_seen(settings.database, exc)
        if damaged is None:
            raise
        return str(damaged)
    except AggregatorError as exc:
        return f"backup not made: {exc}"
    return None


@dataclass(frozen=True)
class Restored:
    database: Path
    backup: Path
    kept_aside: tuple[Path, ...]  # the replaced database and its -wal/-shm, renamed, never deleted
    skipped: tuple[tuple[Path, str], ...]  # newer backups that failed integrity_check, and why


def restore(settings: Settings, backup: Path | None, *,
            confirm: Callable[[Path, Path], bool] = lambda database, backup: True) -> Restored | None:
    """Replace the database by `backup` (default: the newest backup that passes integrity_check).

    Refused while a fetch runs or any process has the database open (a server): the locks are
    taken first and held throughout. `confirm(database, backup)` may say no: None is returned."""
    database = settings.database
    with fetch_lock(lock_path(settings)), safety.exclusive(database):
        chosen, skipped = safety.pick_backup(database, backup)
        if not confirm(database, chosen):
            return None
        kept = safety.replace_database(database, chosen, datetime.now(UTC))
    return Restored(database, chosen, kept, skipped)


def export(database: Path, *, now: datetime) -> tuple[dict, list[str]]:
    """Your own data as one JSON-ready document, and the tables a damaged file would not give up
    (what could be read is exported all the same)."""
    if not database.is_file():
        raise BackupPathError(f"there is no database at {database}")
    problem = safety.header_problem(database)
    if problem:
        raise AggregatorError(f"{database} cannot be exported: {problem}")
    conn = userdata.open_read_only(database)
    try:
        version = userdata.schema_version(conn)
        tables, events, problems = userdata.read_user_data(conn)
    finally:
        conn.close()
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": utc_text(now),
        "database": str(database),
        "schema_version": version,
        "tables": tables,
        "events": events,
    }
    return document, problems


def write_export(document: dict, path: Path) -> None:
    """Written whole or not at all: a temporary name, then renamed."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise AggregatorError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def damage_seen(database: Path, exc: BaseException) -> safety.DatabaseDamaged | None:
    """A corruption error met while a command, a request or the nightly job ran: remembered for every later
    command, and its one-line error; None for any other error (the caller's to handle)."""
    if not safety.is_corruption(exc):
        return None
    safety.record_damage(database, str(exc))
    return safety.DatabaseDamaged(database, str(exc))
