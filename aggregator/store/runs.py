"""Fetch runs and each source's health."""

from __future__ import annotations

import json
from datetime import datetime

from aggregator.store.codec import parse_utc, source_health, utc_text
from aggregator.store.database import Database
from aggregator.store.values import SourceHealth
from aggregator.text import safe_text


class RunRepository:
    def __init__(self, database: Database):
        self.database = database

    def record_source(self, *, name: str, kind: str, url: str, now: datetime, error: str | None,
                      new: int = 0, seen: int = 0, warning: str | None = None) -> None:
        """A source's outcome. Its error and warning are outside text (a server's reason, a
        parser's message): stored on one line, without escape sequences."""
        stamp = utc_text(now)
        error = safe_text(error, one_line=True) if error is not None else None
        warning = safe_text(warning, one_line=True) if warning is not None else None
        conn = self.database.conn
        with self.database.transaction():
            old = conn.execute("select consecutive_failures, last_new_at from sources where name = ?",
                               [name]).fetchone()
            failures, last_new = (old[0] or 0, old[1]) if old else (0, None)
            conn.execute("insert into sources (name) values (?) on conflict(name) do nothing", [name])
            conn.execute("update sources set kind = ?, url = ?, last_run_at = ?, last_warning = ? where name = ?",
                         [kind, url, stamp, warning, name])
            if error is None:
                conn.execute(
                    "update sources set last_ok_at = ?, last_error = null, events_seen = ?, consecutive_failures = 0,"
                    " last_new_at = ? where name = ?",
                    [stamp, seen, stamp if new or not last_new else last_new, name])
            else:
                conn.execute("update sources set last_error = ?, consecutive_failures = ? where name = ?",
                             [error, failures + 1, name])

    def health(self) -> dict[str, SourceHealth]:
        return {row["name"]: source_health(row) for row in self.database.rows("select * from sources")}

    def source_rows(self) -> dict[str, dict]:
        return {row["name"]: row for row in self.database.rows("select * from sources")}

    def start(self, now: datetime, sources: int) -> int:
        with self.database.transaction():
            return self.database.conn.execute("insert into fetch_runs (started, sources) values (?, ?)",
                                              [utc_text(now), sources]).lastrowid

    def finish(self, run_id: int, *, now: datetime, new: int, updated: int, unchanged: int,
               removed: int, failed: int, errors: dict[str, str]) -> None:
        errors = {name: safe_text(text, one_line=True) for name, text in errors.items()}
        with self.database.transaction():
            self.database.conn.execute(
                "update fetch_runs set finished = ?, new = ?, updated = ?, unchanged = ?, removed = ?, failed = ?,"
                " errors = ? where id = ?",
                [utc_text(now), new, updated, unchanged, removed, failed, json.dumps(errors) if errors else None,
                 run_id])

    def data_version(self) -> tuple:
        """Changes whenever a fetch finishes or the contacts, attendance or your log change."""
        with self.database.lock:
            conn = self.database.conn
            run = conn.execute("select max(finished) from fetch_runs").fetchone()[0]
            meta = conn.execute(
                "select group_concat(key || '=' || value) from meta where key in "
                "('contacts_version', 'attendance_version')").fetchone()[0]
            touches = conn.execute("select max(id) from touches").fetchone()[0]
        return run, meta, touches

    def last_good_run(self) -> datetime | None:
        """When the last run finished in which at least one source worked."""
        with self.database.lock:
            row = self.database.conn.execute(
                "select max(finished) from fetch_runs where finished is not null and "
                "(failed < sources or sources = 0)"
            ).fetchone()
        return parse_utc(row[0]) if row and row[0] else None
