"""Who was seen at which event, and the user's own log (the ranking's sums are store.rank_cache's)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from aggregator import evidence as ev
from aggregator.identity import shared_emails
from aggregator.model import Person
from aggregator.store.codec import ATTENDANCE_COLUMNS, attendance_rows, attendance_value, chunks, utc_text
from aggregator.store.database import Database
from aggregator.store.values import AttendanceRow, Contact

MINE, NOT_MINE = f"evidence = '{ev.MANUAL}'", f"evidence != '{ev.MANUAL}'"  # the user's own rows, a source's

_COMPARED = ATTENDANCE_COLUMNS[:-1]  # all but seen_at: what makes a list the same
_INSERT_SQL = (f"insert or replace into attendance ({', '.join(ATTENDANCE_COLUMNS)}) "
               f"values ({', '.join('?' * len(ATTENDANCE_COLUMNS))})")


class AttendanceRepository:
    def __init__(self, database: Database):
        self.database = database

    def replace_listed(self, listed: Iterable[tuple[str, Iterable[Person]]], stamp: str) -> None:
        """Each given event's source-listed people become exactly `people` (an RSVP taken back
        leaves no stale row); the user's 'manual' rows stay. An event whose list is unchanged
        is not rewritten: its rows keep their contact, and attendance_version (which makes the
        ranking rebuild its sums) moves only when somebody came or went. Rewritten rows come
        back unresolved, so the next resolve gives them their contact."""
        listed = list(listed)
        if not listed:
            return
        wanted: dict[str, list[tuple]] = {ident: [] for ident, _ in listed}
        for row in attendance_rows(listed, stamp):
            wanted[row[0]].append(row)
        conn = self.database.conn
        with self.database.transaction():
            stored: dict[str, set[tuple]] = {}
            for chunk, marks in chunks(list(wanted)):
                for row in conn.execute(f"select {', '.join(_COMPARED)} from attendance where {NOT_MINE} "
                                        f"and event_id in ({marks})", chunk):
                    stored.setdefault(row[0], set()).add(row)
            changed = [ident for ident, rows in wanted.items()
                       if {r[:len(_COMPARED)] for r in rows} != stored.get(ident, set())]
            if not changed:
                return
            conn.executemany(f"delete from attendance where event_id = ? and {NOT_MINE}",
                             [(ident,) for ident in changed])
            conn.executemany(_INSERT_SQL, [row for ident in changed for row in wanted[ident]])
            self.database.bump("attendance_version")

    def of_events(self, event_ids: list[str]) -> dict[str, list[AttendanceRow]]:
        """Who was seen at each event, with those of the events merged into it."""
        found: dict[str, list[AttendanceRow]] = {}
        for chunk, marks in chunks(event_ids):
            for row in self.database.rows(f"select * from attendance where event_id in ({marks})", chunk):
                found.setdefault(row["event_id"], []).append(attendance_value(row))
            for row in self.database.rows(
                    f"""select e.canonical_id as merged_into, a.* from attendance a join events e
                        on e.id = a.event_id where e.canonical_id in ({marks}) and e.id != e.canonical_id""",
                    chunk):
                found.setdefault(row.pop("merged_into"), []).append(attendance_value(row))
        return found

    def log_attended(self, event_id: str, people: list[Contact], now: datetime) -> None:
        """You went to `event_id` and met `people`: evidence for the model."""
        stamp = utc_text(now)
        conn = self.database.conn
        with self.database.transaction():
            conn.execute("insert or replace into my_events (event_id, logged_at) values (?, ?)", [event_id, stamp])
            conn.executemany(
                "insert or replace into attendance (event_id, person_key, name, email, url, status, contact_id, "
                "evidence, seen_at, resolved_version) values (?, ?, ?, null, null, ?, ?, ?, ?, null)",
                [(event_id, f"contact:{p.id}", p.name, ev.ATTENDED, p.id, ev.MANUAL, stamp) for p in people])
            self.database.bump("attendance_version")

    def resolve(self, match: Callable[[str | None, str | None, str | None], int | None]) -> int:
        """Give attendance rows their contact, via `match(name, email, url) -> contact_id | None`.

        Only rows not yet resolved against the current contacts are looked at;
        each distinct person is matched once. An email that several people use
        in the data (an organizer's address on every RSVP) is not passed on: it
        would credit one contact with everyone's attendance. Returns the people matched.
        """
        with self.database.lock:
            version = int(self.database.meta("contacts_version") or 0)
            people = self.database.conn.execute(
                f"select person_key, max(name), max(email), max(url) from attendance where {NOT_MINE} "
                "and (resolved_version is null or resolved_version != ?) group by person_key", [version]).fetchall()
            if not people:
                return 0
            shared = shared_emails(self.database.conn.execute(
                f"select distinct name, lower(email) from attendance where email is not null and {NOT_MINE}"))
        updates = [(match(name, None if (email or "").strip().lower() in shared else email, url), version, key)
                   for key, name, email, url in people]
        with self.database.transaction():
            self.database.conn.executemany(
                "update attendance set contact_id = ?, resolved_version = ? "
                f"where person_key = ? and {NOT_MINE}", updates)
            self.database.bump("attendance_version")
        return len(updates)

    def repoint(self, retired: list[int], survivor: int) -> None:
        """The attendance of merged contacts becomes the survivor's; the user's own rows for one event
        under two of them become one (an evening counts once), and the ranking's sums are redone."""
        conn = self.database.conn
        marks = ", ".join("?" * len(retired))
        with self.database.transaction():
            conn.execute(f"update attendance set contact_id = ? where contact_id in ({marks})", [survivor, *retired])
            for prefix in ("contact:", "calendar:"):  # the user's own rows are keyed by contact
                old_keys = [f"{prefix}{i}" for i in retired]
                conn.execute(f"update or ignore attendance set person_key = ? where {MINE} "
                             f"and person_key in ({marks})", [f"{prefix}{survivor}", *old_keys])
                conn.execute(f"delete from attendance where {MINE} and person_key in ({marks})",
                             old_keys)
            self.database.bump("attendance_version")

    def forget_contact(self, contact_id: int) -> None:
        """A removed contact's rows stay, as an anonymous attendee's (their name, no contact)."""
        with self.database.transaction():
            self.database.conn.execute("update attendance set contact_id = null where contact_id = ?", [contact_id])
            self.database.bump("attendance_version")

    def contact_event_counts(self, before: datetime | None = None) -> dict[int, tuple[int, str | None]]:
        """contact id -> (events their attendance was seen at, the latest such event's start); with `before`,
        only events that started before it (an RSVP to next week's is not a time they were seen)."""
        started = " and e.start_utc < ?" if before is not None else ""
        with self.database.lock:
            return {cid: (n, last) for cid, n, last in self.database.conn.execute(
                f"""select a.contact_id, count(distinct a.event_id), max(e.start_utc) from attendance a
                   join events e on e.id = a.event_id where a.contact_id is not null{started}
                   group by a.contact_id""", [utc_text(before)] if before is not None else [])}

