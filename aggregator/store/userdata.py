"""The user's own data in the database: what a re-fetch cannot bring back.

Every table is the user's unless a fetch rebuilds it (REBUILT below): contacts, catch-ups
(touches), evenings attended (my_events), the personal-calendar log, and whatever tables and
columns come later (contact merges, name variants) are exported whole, every column, with no
list to keep up to date. Of attendance, only the user's own rows (evidence 'manual': whom they
met, what their calendar says) are theirs; the rest comes from the sources.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from aggregator import evidence as ev
from aggregator.store.backup import is_corruption

# Tables a fetch (or the ranking) fills again; everything else in the file is the user's.
REBUILT = {"events", "sources", "fetch_runs", "http_cache", "feed_entries", "feed_builds", "meta", "contact_imports"}
REBUILT_PREFIXES = ("sqlite_", "events_fts", "rank_")
USER_ROWS = {"attendance": f"evidence = '{ev.MANUAL}'"}  # tables partly the user's: which rows
EVENT_CONTEXT = ("title", "start", "end", "all_day", "timezone", "url", "group_name", "venue_name", "source")


def open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The file's schema version; None when it cannot be read (damage, or not aggregator's)."""
    try:
        row = conn.execute("select value from meta where key = 'schema_version'").fetchone()
        return int(row[0]) if row else None
    except (sqlite3.DatabaseError, ValueError):
        return None


def user_tables(conn: sqlite3.Connection) -> list[str]:
    names = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table' order by name")]
    return [n for n in names if n not in REBUILT and not n.startswith(REBUILT_PREFIXES)]


def table_rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """Every column of the table's user rows, in primary-key order; a text column whose every value
    is a JSON array (emails, urls, aliases, tags) is given as arrays."""
    info = conn.execute(f"pragma table_info({_quoted(table)})").fetchall()
    keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
    order = f" order by {', '.join(map(_quoted, keys))}" if keys else ""
    where = f" where {USER_ROWS[table]}" if table in USER_ROWS else ""
    cursor = conn.execute(f"select * from {_quoted(table)}{where}{order}")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for name in names:
        decoded = _json_lists([row[name] for row in rows])
        if decoded is not None:
            for row, value in zip(rows, decoded, strict=True):
                row[name] = value
    for row in rows:
        for name, value in row.items():
            if isinstance(value, bytes):
                row[name] = value.hex()
    return rows


def _json_lists(values: list[Any]) -> list[Any] | None:
    present = [v for v in values if v is not None]
    if not present or not all(isinstance(v, str) and v.startswith("[") for v in present):
        return None
    try:
        decoded = [None if v is None else json.loads(v) for v in values]
    except ValueError:
        return None
    return decoded if all(v is None or isinstance(v, list) for v in decoded) else None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_user_data(conn: sqlite3.Connection) -> tuple[dict[str, list[dict]], dict[str, dict], list[str]]:
    """(tables, events, problems): each user table's rows; the stored events they name (title, time,
    place: readable without the database); and the tables a damaged file would not give up."""
    tables: dict[str, list[dict]] = {}
    problems: list[str] = []
    try:
        names = user_tables(conn)
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise
        return {}, {}, [f"the list of tables cannot be read: {exc}"]
    for table in names:
        try:
            tables[table] = table_rows(conn, table)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            problems.append(f"table {table} cannot be read: {exc}")
    return tables, _events_named(conn, tables, problems), problems


def _events_named(conn: sqlite3.Connection, tables: dict[str, list[dict]], problems: list[str]) -> dict[str, dict]:
    wanted = sorted({str(row["event_id"]) for rows in tables.values() for row in rows if row.get("event_id")})
    found: dict[str, dict] = {}
    try:
        columns = {row[1] for row in conn.execute("pragma table_info(events)")}
        chosen = ["id", *(c for c in EVENT_CONTEXT if c in columns)]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            cursor = conn.execute(f"select {', '.join(map(_quoted, chosen))} from events where id in "
                                  f"({','.join('?' * len(chunk))})", chunk)
            for row in cursor.fetchall():
                found[row[0]] = dict(zip(chosen[1:], row[1:], strict=True))
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise
        problems.append(f"the events your log names cannot be read: {exc}")
    return found


def fingerprint(conn: sqlite3.Connection) -> str:
    """A digest of the user's data: equal digests, nothing of theirs changed."""
    tables, _, problems = read_user_data(conn)
    return hashlib.sha256(json.dumps([tables, problems], sort_keys=True, default=str).encode()).hexdigest()
