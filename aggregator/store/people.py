"""The user's contacts: imports, catch-ups they log."""

from __future__ import annotations

from datetime import date, datetime

from aggregator.store.codec import CONTACT_COLUMNS, contact_row, contact_value, json_list, utc_text
from aggregator.store.database import Database
from aggregator.store.values import Contact, ContactRows

_INSERT_SQL = f"insert into contacts ({', '.join(CONTACT_COLUMNS)}) values ({', '.join('?' * len(CONTACT_COLUMNS))})"
_UPDATE_SQL = f"update contacts set {', '.join(f'{c} = ?' for c in CONTACT_COLUMNS[1:])} where id = ?"


class PeopleRepository:
    def __init__(self, database: Database):
        self.database = database

    def contacts(self) -> list[Contact]:
        """Every contact, by id."""
        return [contact_value(row) for row in self.database.rows("select * from contacts order by id")]

    def for_ranking(self) -> ContactRows:
        """Every contact, by id, with only what ranking reads: name, other names, weight and catch-up
        state (a query reads 10,000 of them; their addresses, company and tags stay unread)."""
        with self.database.lock:
            rows = self.database.conn.execute(
                "select id, name, aliases, weight, last_contacted, cadence_days from contacts order by id").fetchall()
        return ContactRows([(cid, name or "", json_list(aliases) if aliases and aliases != "[]" else (),
                             weight, last, cadence) for cid, name, aliases, weight, last, cadence in rows])

    def write(self, inserts: list[Contact], updates: list[Contact], keys: dict[str, int] | None = None,
              restored: set[str] = frozenset()) -> None:
        """Apply an import plan in one transaction and mark attendance for re-resolution: contacts
        added and updated, name keys (`keys`: key -> contact id) and removed keys brought back."""
        conn = self.database.conn
        with self.database.transaction():
            conn.executemany(_INSERT_SQL, [[row[c] for c in CONTACT_COLUMNS] for row in map(contact_row, inserts)])
            conn.executemany(_UPDATE_SQL, [[*(row[c] for c in CONTACT_COLUMNS[1:]), row["id"]]
                                           for row in map(contact_row, updates)])
            conn.executemany("insert or replace into contact_keys (key, contact_id) values (?, ?)",
                             sorted((keys or {}).items()))
            conn.executemany("delete from contacts_removed where key = ?", [(k,) for k in sorted(restored)])
            if inserts or updates:
                self.database.bump("contacts_version")

    def next_id(self) -> int:
        """The id a new contact gets: never one a merged or removed contact had (their log names them)."""
        with self.database.lock:
            [(top,)] = self.database.conn.execute("select max(id) from contacts").fetchall()
        return max(top or 0, int(self.database.meta("contact_ids_used") or 0)) + 1

    def _retire_ids(self, ids: list[int]) -> None:
        used = int(self.database.meta("contact_ids_used") or 0)
        self.database.set_meta("contact_ids_used", str(max([used, *ids])))

    def name_keys(self) -> dict[str, int]:
        """"google:sam lee" -> contact id: how an entry with no address or URL is found again."""
        with self.database.lock:
            return dict(self.database.conn.execute("select key, contact_id from contact_keys"))

    def removed_keys(self) -> dict[str, str]:
        """Addresses, URLs and name keys of contacts the user removed -> the name they had."""
        with self.database.lock:
            return dict(self.database.conn.execute("select key, name from contacts_removed"))

    def merged_into(self, contact_id: int) -> tuple[int, str] | None:
        """(the contact it was merged into, its name then) for an id that a merge retired."""
        with self.database.lock:
            row = self.database.conn.execute("select into_id, name from contact_merges where merged_id = ?",
                                             [contact_id]).fetchone()
        return (row[0], row[1]) if row else None

    def merge(self, survivor: Contact, retired: list[int], now: datetime) -> None:
        """`survivor` (already holding every name, address and URL) replaces the `retired` contacts:
        their catch-ups, name keys and earlier merges point at it; the caller re-points attendance
        in the same transaction. A catch-up date only moves last_contacted forward."""
        conn = self.database.conn
        marks = ", ".join("?" * len(retired))
        with self.database.transaction():
            names = dict(conn.execute(f"select id, name from contacts where id in ({marks})", retired))
            conn.execute(_UPDATE_SQL, [*(contact_row(survivor)[c] for c in CONTACT_COLUMNS[1:]), survivor.id])
            conn.execute(f"delete from contacts where id in ({marks})", retired)
            for table in ("touches", "contact_keys"):
                conn.execute(f"update {table} set contact_id = ? where contact_id in ({marks})", [survivor.id, *retired])
            conn.execute(f"update contact_merges set into_id = ? where into_id in ({marks})", [survivor.id, *retired])
            conn.executemany("insert or replace into contact_merges (merged_id, into_id, name, merged_at) "
                             "values (?, ?, ?, ?)", [(i, survivor.id, names.get(i), utc_text(now)) for i in retired])
            self._retire_ids(retired)
            self.database.bump("contacts_version")

    def remove(self, contact: Contact, keys: list[str], now: datetime) -> None:
        """Forget `contact` and its catch-ups; remember `keys` so an import does not bring it back.
        The caller makes its attendance anonymous in the same transaction."""
        conn = self.database.conn
        with self.database.transaction():
            conn.execute("delete from contacts where id = ?", [contact.id])
            conn.execute("delete from touches where contact_id = ?", [contact.id])
            conn.execute("delete from contact_keys where contact_id = ?", [contact.id])
            conn.executemany("insert or replace into contacts_removed (key, name, removed_at) values (?, ?, ?)",
                             [(k, contact.name, utc_text(now)) for k in keys])
            self._retire_ids([contact.id])
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
