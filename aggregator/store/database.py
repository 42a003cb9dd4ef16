"""The SQLite file: connection (WAL, busy timeout), transactions, schema versions and migrations.

Repositories share one Database. `transaction()` nests: only the outermost one
begins and commits, so a caller can make several repository writes (a source's
events, attendance and vanish marks) one all-or-nothing step.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aggregator.errors import AggregatorError
from aggregator.store import backup as safety
from aggregator.store.codec import EVENT_COLUMNS

SCHEMA_VERSION = 11


class Database:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        damage = safety.known_damage(self.path)  # found earlier, maybe by a command that still answered
        if damage:
            raise safety.DatabaseDamaged(self.path, damage)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._in_use = safety.hold_open(self.path)  # a restore waits until no process has the file open
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise AggregatorError(f"cannot open database {self.path}: {exc}") from None
        self.lock = threading.RLock()
        self.conn = conn
        self._depth = 0
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            self._migrate()
            safety.checkup(conn, self.path)
        except sqlite3.DatabaseError as exc:
            self.close()
            if safety.is_corruption(exc):
                safety.record_damage(self.path, str(exc))
                raise safety.DatabaseDamaged(self.path, str(exc)) from None
            raise AggregatorError(f"{self.path} is not a usable aggregator database: {exc}") from None
        except BaseException:
            self.close()
            raise

    @functools.cached_property
    def db(self):
        """sqlite-utils over the same connection, for schema changes only.

        Its writes commit on their own (`with conn:`), so repositories write with
        plain SQL inside `transaction()`. Imported on first use: reads start fast.
        """
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        with self.lock:
            cursor = self.conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def tuples(self, sql: str, params: Any = ()) -> tuple[list[str], list[tuple]]:
        """(column names, rows as tuples): for decoding thousands of rows without a dict each."""
        with self.lock:
            cursor = self.conn.execute(sql, params)
            return [d[0] for d in cursor.description], cursor.fetchall()

    def close(self) -> None:
        self.conn.close()
        self._in_use.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside land together or not at all; nested calls join the outer one."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            if self.conn.in_transaction:  # a statement left open by a caller: finish it first
                self.conn.commit()
            self.conn.execute("begin immediate")
            self._depth = 1
            try:
                yield
            except BaseException:
                self.conn.rollback()
                raise
            else:
                self.conn.commit()
            finally:
                self._depth = 0

    def meta(self, key: str) -> str | None:
        with self.lock:
            row = self.conn.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("insert into meta (key, value) values (?, ?) "
                          "on conflict(key) do update set value = excluded.value", [key, value])

    def bump(self, key: str) -> None:
        """Count a change (contacts_version, attendance_version): readers compare the numbers."""
        self.set_meta(key, str(int(self.meta(key) or 0) + 1))

    # -- schema ----------------------------------------------------------
    def _migrate(self) -> None:
        with self.lock:
            try:
                row = self.conn.execute("select value from meta where key = 'schema_version'").fetchone()
            except sqlite3.OperationalError:  # a new file: no meta table yet
                with self.conn:
                    self.conn.execute("create table if not exists meta (key text primary key, value text)")
                row = None
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise AggregatorError(
                    f"{self.path} was written by a newer aggregator (schema {version}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade aggregator or point `database:` at a new file"
                )
            steps = [self._create_v1, self._create_v2, self._create_v3, self._create_v4, self._create_v5,
                     self._drop_rates_v6, self._rank_cache_v7, self._calendar_log_v8,
                     self._contact_identity_v9, self._rank_cold_start_v10,
                     self._rank_listed_v11]
            for number, step in enumerate(steps, 1):
                if version < number:
                    with self.conn:
                        step()
                        self.set_meta("schema_version", str(number))

    def _add_column(self, table: str, column: str, kind: type) -> None:
        """Idempotent: a step interrupted after adding a column can run again."""
        if column not in self.db[table].columns_dict:
            self.db[table].add_column(column, kind)

    def _create_v1(self) -> None:
        db = self.db
        db["sources"].create(
            {"name": str, "kind": str, "url": str, "last_run_at": str, "last_ok_at": str,
             "last_error": str, "events_seen": int, "consecutive_failures": int, "last_new_at": str},
            pk="name", if_not_exists=True,
        )
        db["events"].create(EVENT_COLUMNS, pk="id", if_not_exists=True)
        db["events"].create_index(["start_utc"], if_not_exists=True)
        db["events"].create_index(["source", "start_utc"], if_not_exists=True)
        db["events"].create_index(["group_name", "start_utc"], if_not_exists=True)
        db["events"].enable_fts(
            ["title", "description", "group_name", "tags"], create_triggers=True, tokenize="porter",
            replace=True,
        )
        db["attendance"].create(
            {"event_id": str, "person_key": str, "name": str, "email": str, "url": str,
             "status": str, "contact_id": int, "evidence": str, "seen_at": str},
            pk=("event_id", "person_key", "evidence"), if_not_exists=True,
        )
        db["attendance"].create_index(["contact_id"], if_not_exists=True)
        db["contacts"].create(
            {"id": int, "name": str, "normalized_name": str, "emails": str, "urls": str,
             "company": str, "tags": str, "weight": float, "last_contacted": str,
             "cadence_days": int, "source_file": str},
            pk="id", if_not_exists=True,
        )
        db["fetch_runs"].create(
            {"id": int, "started": str, "finished": str, "sources": int, "new": int,
             "updated": int, "unchanged": int, "removed": int, "failed": int, "errors": str},
            pk="id", if_not_exists=True,
        )
        db["http_cache"].create(
            {"url": str, "etag": str, "last_modified": str, "content": bytes,
             "content_type": str, "stored_at": str},
            pk="url", if_not_exists=True,
        )

    def _create_v2(self) -> None:
        """What each published feed said of each event, so SEQUENCE and DTSTAMP move only on change."""
        self.db["feed_entries"].create(
            {"feed": str, "event_id": str, "content_hash": str, "sequence": int, "modified_at": str},
            pk=("feed", "event_id"), if_not_exists=True,
        )
        self.db["feed_builds"].create(
            {"feed": str, "etag": str, "built_at": str}, pk="feed", if_not_exists=True,
        )

    def _create_v3(self) -> None:
        """Contacts, the user's own log, and the attendance model's precomputed rates."""
        self._add_column("contacts", "aliases", str)
        self._add_column("contacts", "connected_on", str)
        self.db["contacts"].create_index(["normalized_name"], if_not_exists=True)
        self._add_column("attendance", "resolved_version", int)
        self.db["attendance"].create_index(["person_key"], if_not_exists=True)
        self.db["contact_imports"].create({"path": str, "sha256": str, "imported_at": str}, pk="path",
                                          if_not_exists=True)
        self.db["touches"].create({"id": int, "contact_id": int, "on_date": str, "logged_at": str, "note": str},
                                  pk="id", if_not_exists=True)
        self.db["my_events"].create({"event_id": str, "logged_at": str}, pk="event_id", if_not_exists=True)
        self.db["group_totals"].create({"group_key": str, "weighted_total": float, "observed": int},
                                       pk="group_key", if_not_exists=True)
        self.db["contact_rates"].create(
            {"group_key": str, "contact_id": int, "weighted_hits": float, "hits": int, "last_seen": str},
            pk=("group_key", "contact_id"), if_not_exists=True,
        )

    def _create_v4(self) -> None:
        """Cross-source merging and source health."""
        self.db["events"].create_index(["canonical_id"], if_not_exists=True)
        self._add_column("sources", "last_warning", str)

    def _create_v5(self) -> None:
        """The full-text index is rewritten only when an indexed column is set: an update that
        moves a time or changes attendees (most of a feed's updates) costs no index work."""
        self.conn.execute("drop trigger if exists events_au")
        self.conn.execute(
            """create trigger events_au after update of title, description, group_name, tags on events begin
                 insert into events_fts (events_fts, rowid, title, description, group_name, tags)
                   values ('delete', old.rowid, old.title, old.description, old.group_name, old.tags);
                 insert into events_fts (rowid, title, description, group_name, tags)
                   values (new.rowid, new.title, new.description, new.group_name, new.tags);
               end""")

    def _drop_rates_v6(self) -> None:
        """The precomputed rates of v3 are gone: ranking sums attendance at the query's time (rank_cache.py)."""
        self.conn.execute("drop table if exists group_totals")
        self.conn.execute("drop table if exists contact_rates")
        self.conn.execute("delete from meta where key = 'rates_version'")

    def _rank_cache_v7(self) -> None:
        """The ranking's attendance sums (store.rank_cache fills and reads them): per (group, weekday),
        per (group, contact, weekday), per (group, contact). snapshot.py made them itself before, with a
        "layout" number in its meta row; a change of their meaning is now a migration like this one."""
        for table in ("rank_group_slots", "rank_contact_slots", "rank_contact_groups"):
            self.conn.execute(f"drop table if exists {table}")
        self.conn.execute("delete from meta where key = 'rank_cache'")  # what was cached is gone: rebuild
        self.conn.execute("""create table rank_group_slots (g text, wd integer, weighted real,
                             observed integer, hits real, contacts integer, primary key (g, wd))""")
        self.conn.execute("""create table rank_contact_slots (g text, contact_id integer, wd integer,
                             weighted real, hits integer, primary key (g, contact_id, wd))""")
        self.conn.execute("""create table rank_contact_groups (g text, contact_id integer, weighted real,
                             best real, primary key (g, contact_id))""")
        self.conn.execute("create index rank_contact_slots_contact on rank_contact_slots (contact_id)")
        self.conn.execute("create index rank_contact_groups_contact on rank_contact_groups (contact_id)")
        # Covering for the rebuild's and load_recent's attendance reads (event, contact, status): the
        # rebuild scans this index instead of the table, 2.4x faster at 200k rows (EXPLAIN QUERY PLAN
        # goes from "SCAN attendance USING INDEX" + temp b-tree to "SCAN ... USING COVERING INDEX").
        self.conn.execute("create index if not exists attendance_event_contact_status "
                          "on attendance (event_id, contact_id, status)")

    def _calendar_log_v8(self) -> None:
        """The entries of the user's own calendars matched to stored events (store.personal): which
        are past, and when they were first logged. The personal step made it itself before."""
        self.conn.execute("create table if not exists calendar_log "
                          "(event_id text primary key, past integer, logged_at text)")

    def _contact_identity_v9(self) -> None:
        """Contacts' identity beyond addresses (store.people): the name an entry with no address or URL
        is found by again in exports of its kind (`contact_keys`, "google:sam lee"), contacts the user
        merged (`contact_merges`) and removed (`contacts_removed`, by address, URL or such a name key,
        so an import does not bring them back). Older contacts get the name key of the export they
        came from: vCard for a .vcf file, LinkedIn for a Connections file, else Google."""
        self.conn.execute("create table if not exists contact_keys (key text primary key, contact_id integer)")
        self.conn.execute("create index if not exists contact_keys_contact on contact_keys (contact_id)")
        self.conn.execute("create table if not exists contact_merges "
                          "(merged_id integer primary key, into_id integer, name text, merged_at text)")
        self.conn.execute("create table if not exists contacts_removed (key text primary key, name text, "
                          "removed_at text)")
        self.conn.execute(
            """insert or ignore into contact_keys (key, contact_id)
               select case when lower(coalesce(source_file, '')) like '%.vcf'
                             or lower(coalesce(source_file, '')) like '%.vcard' then 'vcard:'
                           when lower(coalesce(source_file, '')) like '%connection%' then 'linkedin:'
                           else 'google:' end || normalized_name, id
               from contacts where coalesce(normalized_name, '') != '' order by id""")

    def _rank_cold_start_v10(self) -> None:
        """Cold start kept with the ranking's sums (store.rank_cache): worked out when they are rebuilt,
        not on every query. rank_cold: per group, the contacts new to it and their evidence, in the
        order the ranking counts them (`seq`; g null: any group no contact attends); rank_cold_groups:
        the groups it was worked out for. The cache is rebuilt on the next read."""
        self.conn.execute("""create table if not exists rank_cold (g text, seq integer, contact_id integer,
                             evidence real, related text)""")
        self.conn.execute("create index if not exists rank_cold_group on rank_cold (g, seq)")
        self.conn.execute("create table if not exists rank_cold_groups (g text primary key)")
        self.conn.execute("delete from meta where key = 'rank_cache'")

    def _rank_listed_v11(self) -> None:
        """The contacts each (group, weekday) lists, kept with the ranking's sums (store.rank_cache):
        their rate and calibrated P worked out when the sums are (or at most a day before a query),
        so a query reads them instead of every contact's sums; and each cold-start row's factor, so
        a query sums a group's newcomers in SQL. The cache is rebuilt on the next read."""
        self.conn.execute("""create table if not exists rank_listed (g text, wd integer, contact_id integer,
                             rate real, p real, hits integer)""")
        self.conn.execute("create index if not exists rank_listed_slot on rank_listed (g, wd)")
        self.conn.execute("create index if not exists rank_listed_contact on rank_listed (contact_id)")
        self.conn.execute("create table if not exists rank_listed_sums (g text, wd integer, lift real, "
                          "primary key (g, wd))")
        self._add_column("rank_cold", "factor", float)  # a newcomer's P over the group's floor (coldstart.py)
        self.conn.execute("create index if not exists rank_cold_contact on rank_cold (contact_id)")
        self.conn.execute("delete from meta where key = 'rank_cache'")
