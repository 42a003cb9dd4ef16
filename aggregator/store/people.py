"""The user's contacts: imports, catch-ups they log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aggregator.store.codec import contact_value, utc_text
from aggregator.store.database import Database
from aggregator.store.values import Contact

_CONTACT_COLUMNS = ("id", "name", "normalized_name", "emails", "urls", "company", "tags", "weight",
                    "last_contacted", "cadence_days", "source_file", "aliases", "connected_on")


class PeopleRepository:
    def __init__(self, database: Database):
        self.database = database

    def rows(self) -> list[dict[str, Any]]:
        return self.database.rows("select * from contacts order by id")

    def contacts(self) -> list[Contact]:
        return [contact_value(row) for row in self.rows()]

    def write(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        """Apply an import plan in one transaction and mark attendance for re-resolution."""
        conn = self.database.conn
        with self.database.transaction():
            for row in inserts:
                columns = [c for c in row if c in _CONTACT_COLUMNS]
                conn.execute(f"insert into contacts ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                             [row[c] for c in columns])
            for row in updates:
                columns = [c for c in row if c in _CONTACT_COLUMNS and c != "id"]
                if columns:
                    conn.execute(f"update contacts set {', '.join(f'{c} = ?' for c in columns)} where id = ?",
                                 [*(row[c] for c in columns), row["id"]])
            if inserts or updates:
                self.database.bump("contacts_version")

    def import_state(self, path: str) -> str | None:
        with self.database.lock:
            row = self.database.conn.execute("select sha256 from contact_imports where path = ?", [path]).fetchone()
        return row[0] if row else None

    def set_import_state(self, path: str, sha256: str, now: datetime) -> None:
        with self.database.transaction():
            self.database.conn.execute(
                "insert or replace into contact_imports (path, sha256, imported_at) values (?, ?, ?)",
                [path, sha256, utc_text(now)])

    def touch(self, contact_id: int, on: date, now: datetime, note: str | None = None) -> None:
        """Log a catch-up; last_contacted only ever moves forward. History is kept."""
        conn = self.database.conn
        with self.database.transaction():
            conn.execute("insert into touches (contact_id, on_date, logged_at, note) values (?, ?, ?, ?)",
                         [contact_id, on.isoformat(), utc_text(now), note])
            conn.execute(
                "update contacts set last_contacted = ? where id = ? and "
                "(last_contacted is null or last_contacted < ?)", [on.isoformat(), contact_id, on.isoformat()])
