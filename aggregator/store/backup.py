"""The database file's safety: consistent copies, the checks that tell a damaged file, and what remembers one.

- A copy is made with SQLite's online backup API, in one step from a query-only connection: one
  read snapshot, so writers (a fetch) go on meanwhile and the copy holds one consistent state. It
  is written under a temporary name, checked (`PRAGMA quick_check`), then renamed: a half-written
  copy never carries a backup's name. Copies are single files (journal mode DELETE) with the
  database's permissions, named by the UTC time they were made (`events-20261206T224912.345Z.db`),
  so names sort by time.
- A damaged file is remembered in `<database>.damaged` beside it (the file itself cannot be
  trusted to hold the mark); every open of the database then refuses, naming `aggregator restore`.
  The mark belongs to one file (its inode): a file moved in its place is not marked.
- Every process that opens the database holds a shared lock on `<database>.inuse`; a restore
  takes it exclusively, so it never replaces the file under a running server, fetch or command.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from aggregator.errors import AggregatorError

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so nothing waits and nothing is refused
    fcntl = None

UTC = timezone.utc
MAGIC = b"SQLite format 3\x00"
CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB (primary codes)
CORRUPT_WORDS = ("malformed", "not a database", "corrupt")
CHECK_EVERY = 24 * 3600  # seconds between the quick checks made when the database is opened
# quick_check reads every page: ~1.6 ms a MB here (0.6 s on a 370 MB database, 2-3 s on a busy
# machine). On open, once a day, it stays under ~0.1 s up to this size.
OPEN_CHECK_BYTES = 64 * 1024 * 1024
CHECKED_KEY = "checked_at"  # meta: when the last quick check passed (unix seconds)
OPEN_WAIT = 60.0  # seconds an open waits for a restore to finish


class DatabaseDamaged(AggregatorError):
    """The database file is damaged: one line naming `aggregator restore` and the newest backup."""

    def __init__(self, database: Path, problem: str):
        self.database, self.problem = database, one_line(problem)
        super().__init__(damage_message(database, self.problem))


class DatabaseInUse(AggregatorError):
    """Another process has the database open (a server, a fetch, a command still running)."""


class BackupNotFound(AggregatorError):
    """A backup named on the command line that does not exist: bad usage."""

    exit_code = 2


# -- names ----------------------------------------------------------------
def backups_folder(database: Path) -> Path:
    return database.with_name(database.name + ".backups")


def backup_name(database: Path, when: datetime) -> str:
    when = when.astimezone(UTC)
    return f"{database.stem}-{when:%Y%m%dT%H%M%S}.{when.microsecond // 1000:03d}Z.db"


def taken_at(path: Path) -> datetime | None:
    """The time a backup's name says it was made, or None for another file."""
    found = re.search(r"-(\d{8}T\d{6})\.(\d{3})Z\.db$", path.name)
    if not found:
        return None
    moment = datetime.strptime(found[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return moment.replace(microsecond=int(found[2]) * 1000)


def backups(database: Path) -> list[Path]:
    """The backups in the database's backups folder, newest first (a temporary name is never one)."""
    folder = backups_folder(database)
    if not folder.is_dir():
        return []
    pattern = re.compile(re.escape(database.stem) + r"-\d{8}T\d{6}\.\d{3}Z\.db")
    return sorted((p for p in folder.iterdir() if pattern.fullmatch(p.name) and p.is_file()),
                  key=lambda p: p.name, reverse=True)


def kept_aside_name(database: Path, when: datetime) -> Path:
    """Where a replaced database goes: `events.db.replaced-20261206T224912Z` (its -wal and -shm follow)."""
    return database.with_name(f"{database.name}.replaced-{when.astimezone(UTC):%Y%m%dT%H%M%S}Z")


# -- checks ---------------------------------------------------------------
def is_corruption(exc: BaseException) -> bool:
    """A SQLite error that says the file is damaged (not a busy, locked or missing one)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in CORRUPT_CODES
    return any(word in str(exc).lower() for word in CORRUPT_WORDS)


def check(path: Path, *, quick: bool = False) -> str | None:
    """None when SQLite finds the file sound, else the first problem it names.

    quick: `PRAGMA quick_check` (every page and b-tree, not the indexes against their tables):
    0.6 s on a 370 MB database, where `integrity_check` takes 15 s."""
    if not path.is_file():
        return "no such file"
    problem = header_problem(path)
    if problem:
        return problem
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return _verdict(conn.execute(f"pragma {'quick_check' if quick else 'integrity_check'}(1)").fetchall())
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return str(exc)
        raise
    finally:
        conn.close()


def _verdict(rows: list[tuple]) -> str | None:
    if rows == [("ok",)]:
        return None
    text = str(rows[0][0]) if rows else "no answer from the check"
    return one_line(" ".join(line for line in text.splitlines() if not line.startswith("*** in database")))


def one_line(problem: str) -> str:
    return " ".join(str(problem).split())


def checkup(conn: sqlite3.Connection, database: Path) -> None:
    """On open: a quick check when none passed in the last day (a fetch makes one each run, so a
    nightly schedule means none here), on files up to OPEN_CHECK_BYTES (larger ones are left to
    the fetch's check). Raises DatabaseDamaged, and marks the file, when it fails."""
    row = conn.execute("select value from meta where key = ?", [CHECKED_KEY]).fetchone()
    if row and _number(row[0]) > time.time() - CHECK_EVERY:
        return
    try:
        if database.stat().st_size > OPEN_CHECK_BYTES:
            return
    except OSError:
        return
    problem = quick_check(conn)
    if problem:
        record_damage(database, problem)
        raise DatabaseDamaged(database, problem)
    mark_checked(conn)


def quick_check(conn: sqlite3.Connection) -> str | None:
    """The open file's quick check: None when sound, else the first problem."""
    return _verdict(conn.execute("pragma quick_check(1)").fetchall())


def mark_checked(conn: sqlite3.Connection) -> None:
    """Best effort: a read-only file or a busy writer only means the next open checks again."""
    try:
        with conn:
            conn.execute("insert into meta (key, value) values (?, ?) on conflict(key) do update set value = "
                         "excluded.value", [CHECKED_KEY, str(int(time.time()))])
    except sqlite3.OperationalError:
        pass


def _number(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


# -- copies ---------------------------------------------------------------
def copy_database(source: Path, target: Path) -> None:
    """A consistent, checked copy of `source` at `target` (which must not exist).

    Raises DatabaseDamaged (and marks `source`) when the copy fails its check: the backup API
    copies pages as they are, so a damaged source gives a damaged copy, which is removed."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        _copy_pages(source, partial)
        problem = check(partial, quick=True)
        if problem:
            record_damage(source, problem)
            raise DatabaseDamaged(source, problem)
        os.chmod(partial, stat.S_IMODE(source.stat().st_mode))  # as private as the database
        _fsync(partial)
        if target.exists():
            raise AggregatorError(f"{target} already exists; give another path")
        os.replace(partial, target)
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)


def _copy_pages(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)  # a leftover of a copy that was killed
    if not source.is_file():
        raise AggregatorError(f"{source} does not exist; nothing to copy")
    problem = header_problem(source)
    if problem:
        record_damage(source, problem)
        raise DatabaseDamaged(source, problem)
    src = sqlite3.connect(source, timeout=30)  # not mode=ro: that would leave a -wal and -shm behind
    try:
        src.execute("pragma query_only = 1")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # every page in one step: one read snapshot, writers go on meanwhile
            dst.execute("pragma journal_mode = delete")  # a backup is one self-contained file
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise AggregatorError(f"cannot copy {source} to {target}: {exc}") from None
        record_damage(source, str(exc))
        raise DatabaseDamaged(source, str(exc)) from None
    finally:
        src.close()


def header_problem(path: Path) -> str | None:
    """What is wrong with the file's first bytes (None: an SQLite header, or no file yet)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    return None if head == MAGIC else ("empty file" if not head else "file is not a database")


def rotate(database: Path, keep: int) -> list[Path]:
    """Delete the backups beyond the newest `keep`; returns those deleted. Leftover temporary
    copies older than an hour (a killed backup) go too."""
    removed = backups(database)[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    folder = backups_folder(database)
    for partial in folder.glob(".*.partial*") if folder.is_dir() else ():  # and its -journal
        try:
            if partial.stat().st_mtime < time.time() - 3600:
                partial.unlink()
        except OSError:
            pass
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the damage mark ------------------------------------------------------
def damage_marker(database: Path) -> Path:
    return database.with_name(database.name + ".damaged")


def record_damage(database: Path, problem: str) -> None:
    """Remember that this file is damaged, for every later command (best effort: a read-only
    folder still gets the error, only not remembered). A file that is not SQLite at all fails
    every open anyway: nothing to remember (it may be a wrong `database:` path)."""
    try:
        identity = os.stat(database)
    except OSError:
        return
    if header_problem(database):
        return
    mark = {"problem": one_line(problem), "found": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "device": identity.st_dev, "inode": identity.st_ino}
    try:
        damage_marker(database).write_text(json.dumps(mark) + "\n", encoding="utf-8")
    except OSError:
        pass


def known_damage(database: Path) -> str | None:
    """Damage known before opening: a mark left by an earlier check, or a file emptied while
    backups of it exist (SQLite would take an empty file for a new database and go on)."""
    try:
        if database.stat().st_size == 0 and backups(database):
            return "empty file"
    except OSError:
        pass
    return recorded_damage(database)


def recorded_damage(database: Path) -> str | None:
    """The problem recorded for this very file, or None. A mark left for another file (one
    restored or moved into its place) is stale and removed."""
    marker = damage_marker(database)
    try:
        mark = json.loads(marker.read_text(encoding="utf-8"))
        identity = os.stat(database)
    except FileNotFoundError:
        if marker.exists():
            clear_damage(database)  # the damaged file is gone
        return None
    except (OSError, ValueError):
        return "damaged (recorded earlier)"
    if (mark.get("device"), mark.get("inode")) != (identity.st_dev, identity.st_ino):
        clear_damage(database)
        return None
    return str(mark.get("problem") or "damaged")


def clear_damage(database: Path) -> None:
    try:
        damage_marker(database).unlink(missing_ok=True)
    except OSError:
        pass


def damage_message(database: Path, problem: str) -> str:
    """One line: what is wrong, and the way back."""
    what = f"it is damaged ({problem})"
    if problem in ("file is not a database", "empty file"):
        what = f"it is not an SQLite file ({problem}: a damaged file, or a wrong `database:` in config.yaml)"
    found = backups(database)
    if found:
        when = taken_at(found[0])
        way_back = (f"run `aggregator restore` to go back to the newest good backup, {found[0]} "
                    f"(made {when:%Y-%m-%d %H:%M} UTC); the damaged file is kept aside")
    else:
        way_back = (f"there is no backup in {backups_folder(database)} for `aggregator restore` (`aggregator "
                    f"restore BACKUP` takes a copy from elsewhere); `aggregator export -o mine.json` saves what can "
                    f"still be read, then move the file aside and `aggregator fetch` starts a new one")
    return f"{database} is not a usable aggregator database: {what}; {way_back}"


# -- who has the database open --------------------------------------------
def in_use_path(database: Path) -> Path:
    return database.with_name(database.name + ".inuse")


def hold_open(database: Path) -> IO:
    """A shared lock held while this process has the database open; waits (up to OPEN_WAIT s)
    while a restore replaces the file. Close the handle to release it."""
    handle = open(in_use_path(database), "a")
    deadline = time.monotonic() + OPEN_WAIT
    while fcntl is not None:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise AggregatorError(f"{database} is being restored by another process; try again when "
                                      "it ends") from None
            time.sleep(0.1)
        except OSError:
            return handle  # a file system without locks: nothing to wait for
    return handle


@contextmanager
def exclusive(database: Path) -> Iterator[None]:
    """No other process has the database open while this runs; DatabaseInUse otherwise."""
    handle = open(in_use_path(database), "a")
    try:
        try:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holders = _holders(in_use_path(database))
            who = f" (process {', '.join(map(str, holders))})" if holders else ""
            raise DatabaseInUse(f"{database} is open in another aggregator process{who}: stop `aggregator serve`, "
                                "`aggregator schedule` or the running command, then try again") from None
        yield
    finally:
        handle.close()


def _holders(lock_file: Path) -> list[int]:
    """The processes holding a lock on `lock_file` (Linux's /proc/locks; empty elsewhere)."""
    try:
        inode = os.stat(lock_file).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split()
        if "->" in parts:
            continue  # a waiter, not a holder
        if len(parts) >= 6 and parts[5].rsplit(":", 1)[-1] == str(inode) and parts[4].isdigit():
            found.append(int(parts[4]))
    return sorted(set(found) - {os.getpid()})


def pick_backup(database: Path, chosen: Path | None) -> tuple[Path, tuple[tuple[Path, str], ...]]:
    """The backup to restore: `chosen` when it passes integrity_check, else the newest that does."""
    if chosen is not None:
        if not chosen.is_file():
            raise BackupNotFound(f"{chosen} does not exist; `aggregator restore` with no argument takes the newest "
                                 f"good backup in {backups_folder(database)}")
        problem = check(chosen)
        if problem:
            raise AggregatorError(f"{chosen} is not a usable backup ({problem}); choose another one in "
                                  f"{backups_folder(database)}")
        _require_aggregator(chosen)
        return chosen, ()
    skipped = []
    for candidate in backups(database):
        problem = check(candidate)
        if problem is None:
            return candidate, tuple(skipped)
        skipped.append((candidate, problem))
    listed = "; ".join(f"{p.name}: {why}" for p, why in skipped)
    raise AggregatorError(f"no good backup in {backups_folder(database)}" + (f" ({listed})" if listed else "")
                          + "; `aggregator restore BACKUP` takes a copy from elsewhere")


def _require_aggregator(path: Path) -> None:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("select value from meta where key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    finally:
        conn.close()
    if row is None:
        raise AggregatorError(f"{path} is an SQLite file but not an aggregator database; choose another backup")


def replace_database(database: Path, backup: Path, now: datetime) -> tuple[Path, ...]:
    """Put a copy of `backup` in the database's place; the replaced file (and its -wal and -shm)
    goes aside, never deleted. Call under `exclusive(database)`.

    Killed at any moment, a database stays in place: the old file gets its new name as a second
    link first, and the copy replaces it in one rename. Its -wal moves before that rename, so no
    stale -wal is ever read into the restored file."""
    incoming = database.with_name(f".{database.name}.restoring")
    _copy_pages(backup, incoming)
    _fsync(incoming)
    kept = []
    aside = kept_aside_name(database, now)
    n = 1
    while any(Path(f"{aside}{s}").exists() for s in ("", "-wal", "-shm")):
        n += 1
        aside = Path(f"{kept_aside_name(database, now)}-{n}")
    try:
        if database.exists():
            _link_or_move(database, aside)
            kept.append(aside)
        for suffix in ("-wal", "-shm"):
            current = Path(f"{database}{suffix}")
            if current.exists():
                os.replace(current, f"{aside}{suffix}")
                kept.append(Path(f"{aside}{suffix}"))
        os.replace(incoming, database)
        _fsync(database.parent)
    finally:
        incoming.unlink(missing_ok=True)
    clear_damage(database)
    return tuple(kept)


def _link_or_move(path: Path, new_name: Path) -> None:
    try:
        os.link(path, new_name)
    except OSError:  # a file system without hard links
        os.replace(path, new_name)
