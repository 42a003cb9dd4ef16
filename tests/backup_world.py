"""A user's world for the backup, restore and export tests, and the damage a failing disk does.

The world is the offline demo city (`aggregator demo`, through the real CLI: four groups'
calendars with attendance, ten contacts), made once per session and copied for each test; the
user has logged a catch-up and an evening. Damage is done to the real file: a run of pages
zeroed, the pages of one table zeroed (found with SQLite's dbstat), a truncation, garbage.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import NOW, Cli

PAGE = 4096


@dataclass
class World:
    folder: Path
    config: Path
    cli: Cli

    @property
    def database(self) -> Path:
        return self.folder / "events.db"

    @property
    def backups(self) -> list[Path]:
        folder = self.folder / "events.db.backups"
        return sorted(p for p in folder.glob("events-*.db")) if folder.is_dir() else []

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def past_event(self) -> tuple[str, str]:
        """(id, title) of the latest past event."""
        with closing(sqlite3.connect(self.database, isolation_level=None)) as conn:
            return conn.execute("select id, title from events where start_utc < ? order by start_utc desc limit 1",
                                [NOW.strftime("%Y-%m-%dT%H:%M:%SZ")]).fetchone()


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory) -> Path:
    """The demo city, fetched; the user logged a catch-up and an evening, and made a backup."""
    folder = tmp_path_factory.mktemp("city") / "demo"
    result = Cli(None, cwd=folder.parent)("demo", str(folder))
    assert result.returncode == 0, result.stderr
    w = World(folder, folder / "config.yaml", Cli(folder / "config.yaml"))
    w.ok("touched", "Dana Lee", "--on", "2026-11-20")
    w.ok("attended", w.past_event()[0], "--with", "Samuel Ortiz")
    w.ok("backup")
    return folder


@pytest.fixture
def world(demo_city, tmp_path) -> World:
    """Its own copy of the demo city and its backups."""
    folder = tmp_path / "city"
    shutil.copytree(demo_city, folder, ignore=shutil.ignore_patterns("*.lock", "*.inuse", "*.damaged"))
    return World(folder, folder / "config.yaml", Cli(folder / "config.yaml"))


def table_pages(database: Path, table: str) -> list[int]:
    conn = sqlite3.connect(database)
    try:
        return [row[0] for row in conn.execute("select pageno from dbstat where name = ? order by pageno", [table])]
    finally:
        conn.close()


def zero_pages(database: Path, pages) -> None:
    """Overwrite whole pages (numbered from 1, as SQLite does) with zeros: a failing disk's damage.
    The -wal is emptied into the file first, so no newer copy of a page hides the damage."""
    conn = sqlite3.connect(database)
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    with database.open("r+b") as handle:
        for page in pages:
            handle.seek((page - 1) * PAGE)
            handle.write(b"\0" * PAGE)


def zero_middle(database: Path, count: int = 12) -> None:
    """A run of `count` zeroed pages in the middle of the file."""
    pages = database.stat().st_size // PAGE
    start = max(2, pages // 2 - count // 2)
    zero_pages(database, range(start, min(pages, start + count) + 1))


def one_line_error(result, database: Path) -> str:
    """The result is the damage message: exit 1, one line on stderr naming restore, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {database} is not a usable aggregator database")
    assert "aggregator restore" in lines[0]
    return lines[0]
