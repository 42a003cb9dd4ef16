"""What the user's own calendars (`profile.calendars`) say, as evidence; never as events.

Each fetch replaces what the previous one wrote: an entry taken out of the calendar takes its
evidence with it, and running fetch twice changes nothing. Rows are the ones the ranking
already reads: attendance rows with evidence 'manual' (the user's own word, shown as
'logged'), status 'attended' for a past event and 'going' for one ahead, told apart from
`aggregator attended` rows by their person_key ('calendar:<contact id>'). 'manual' rows are
also the ones a source's re-fetch and the attendee re-resolution leave alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from aggregator import evidence as ev
from aggregator.store.codec import chunks, utc_text
from aggregator.store.database import Database

CALENDAR_KEY = "calendar:"
CALENDAR_NOTE = " (your calendar)"
CALENDAR_ROWS = f"evidence = '{ev.MANUAL}' and person_key like '{CALENDAR_KEY}%'"  # the rows this log writes


@dataclass(frozen=True)
class PersonalEntry:
    """A stored event that an entry of the user's calendar is (by the dedup rules)."""

    event_id: str  # the canonical stored event
    past: bool  # the user went (else: is going)
    met_on: date  # the day, in the user's zone
    contacts: tuple[tuple[int, str], ...]  # (contact id, name) of the people the entry lists
    title: str  # the stored event's title (the personal entry's own text is never stored)


class PersonalRepository:
    def __init__(self, database: Database):
        self.database = database

    def canonical(self, event_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Each id's canonical event (itself when not merged) and that event's title."""
        found: dict[str, tuple[str, str]] = {}
        for chunk, marks in chunks(list(dict.fromkeys(event_ids))):
            for row in self.database.rows(
                    f"""select e.id, c.id as canonical, c.title from events e
                        join events c on c.id = coalesce(e.canonical_id, e.id) where e.id in ({marks})""", chunk):
                found[row["id"]] = (row["canonical"], row["title"] or "")
        return found

    def uids(self, *, start: datetime, end: datetime) -> dict[str, str]:
        """Each event's id -> its source's own UID, for the events starting in [start, end)
        (an entry of the user's calendar with the same UID is that event)."""
        with self.database.lock:
            return dict(self.database.conn.execute(
                "select id, source_uid from events where start_utc >= ? and start_utc < ?",
                [utc_text(start), utc_text(end)]).fetchall())

    def going(self, event_ids: list[str]) -> set[str]:
        """Of `event_ids`, the upcoming ones the user's calendar says they are going to
        (for "you're going (in your calendar)"); empty before any calendar was read."""
        found: set[str] = set()
        for chunk, marks in chunks(list(event_ids)):
            found.update(row["event_id"] for row in self.database.rows(
                f"select event_id from calendar_log where not past and event_id in ({marks})", chunk))
        return found

    def replace(self, entries: list[PersonalEntry], now: datetime) -> bool:
        """Make the calendar evidence exactly `entries`; returns whether anything changed."""
        conn = self.database.conn
        with self.database.transaction():
            before = dict(conn.execute("select event_id, logged_at from calendar_log").fetchall())
            wanted_rows = {(e.event_id, f"{CALENDAR_KEY}{cid}", name, ev.ATTENDED if e.past else ev.GOING, cid)
                           for e in entries for cid, name in e.contacts}
            have_rows = set(conn.execute(
                f"select event_id, person_key, name, status, contact_id from attendance where {CALENDAR_ROWS}").fetchall())
            wanted_log = {(e.event_id, int(e.past)) for e in entries}
            have_log = set(conn.execute("select event_id, past from calendar_log").fetchall())
            if wanted_rows == have_rows and wanted_log == have_log:
                self._touch(entries, now)
                return False
            stamp = utc_text(now)
            # my_events rows this log wrote, unless `aggregator attended` has since written its own
            conn.execute("delete from my_events where exists (select 1 from calendar_log c where "
                         "c.event_id = my_events.event_id and c.logged_at = my_events.logged_at and c.past)")
            conn.execute(f"delete from attendance where {CALENDAR_ROWS}")
            conn.execute("delete from calendar_log")
            logged = {e.event_id: before.get(e.event_id, stamp) for e in entries}
            conn.executemany("insert or replace into calendar_log (event_id, past, logged_at) values (?, ?, ?)",
                             [(e.event_id, int(e.past), logged[e.event_id]) for e in entries])
            conn.executemany("insert or ignore into my_events (event_id, logged_at) values (?, ?)",
                             [(e.event_id, logged[e.event_id]) for e in entries if e.past])
            conn.executemany(
                "insert or replace into attendance (event_id, person_key, name, email, url, status, contact_id, "
                "evidence, seen_at, resolved_version) values (?, ?, ?, null, null, ?, ?, ?, ?, null)",
                [(*row[:4], row[4], ev.MANUAL, logged[row[0]]) for row in sorted(wanted_rows)])
            self._touch(entries, now)
            self.database.bump("attendance_version")
        return True

    def _touch(self, entries: list[PersonalEntry], now: datetime) -> None:
        """Contacts met at a past entry: a catch-up on that day, logged once (not once per fetch);
        last_contacted only moves forward."""
        conn = self.database.conn
        for entry in entries:
            if not entry.past:
                continue
            note = f"met at {entry.title}{CALENDAR_NOTE}"  # a retitled event is still the same catch-up
            for cid, _ in entry.contacts:
                day = entry.met_on.isoformat()
                conn.execute(
                    "insert into touches (contact_id, on_date, logged_at, note) select ?, ?, ?, ? where not exists "
                    "(select 1 from touches where contact_id = ? and on_date = ? and note like ?)",
                    [cid, day, utc_text(now), note, cid, day, f"%{CALENDAR_NOTE}"])
                conn.execute("update contacts set last_contacted = ? where id = ? and "
                             "(last_contacted is null or last_contacted < ?)", [day, cid, day])
