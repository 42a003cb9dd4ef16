"""The user's contacts: imports, catch-ups they log."""

from __future__ import annotations

from datetime import date, datetime

from aggregator.store.codec import CONTACT_COLUMNS, contact_row, contact_value, utc_text
from aggregator.store.database import Database
from aggregator.store.values import Contact

_INSERT_SQL = f"insert into contacts ({', '.join(CONTACT_COLUMNS)}) values ({', '.join('?' * len(CONTACT_COLUMNS))})"
_UPDATE_SQL = f"update contacts set {', '.join(f'{c} = ?' for c in CONTACT_COLUMNS[1:])} where id = ?"


class PeopleRepository:
    def __init__(self, database: Database):
        self.database = database

    def contacts(self) -> list[Contact]:
        """Every contact, by id."""
        return [contact_value(row) for row in self.database.rows("select * from contacts order by id")]

    def write(self, inserts: list[Contact], updates: list[Contact]) -> None:
        """Apply an import plan in one transaction and mark attendance for re-resolution."""
        conn = self.database.conn
        with self.database.transaction():
            conn.executemany(_INSERT_SQL, [[row[c] for c in CONTACT_COLUMNS] for row in map(contact_row, inserts)])
            conn.executemany(_UPDATE_SQL, [[*(row[c] for c in CONTACT_COLUMNS[1:]), row["id"]]
                                           for row in map(contact_row, updates)])
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
