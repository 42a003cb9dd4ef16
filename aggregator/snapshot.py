"""What ranking needs from SQLite, read once per query into plain values.

Recency weights are computed here for the query's "now" (not at fetch time), so
an `upcoming` run days after the last fetch weighs history as of that day.
Reads through the store's connection; writes nothing.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aggregator.predict import HALF_LIFE_DAYS, ContactHistory, GroupHistory

RECENT_EVENTS = 5  # "came to 3 of the last 5"
# Topic relevance by field: FTS5 bm25 column weights for the events_fts columns
# (title, description, group_name, tags). A title or tag match counts most.
FIELD_WEIGHTS = {"title": 4.0, "description": 1.5, "group_name": 0.5, "tags": 4.0}
FTS_COLUMNS = ("title", "description", "group_name", "tags")


@dataclass
class AttendanceSnapshot:
    """Each group's past attendance as seen from `now`, and the contacts' own rows."""

    now: datetime
    utc_offset_minutes: int = 0  # the user's zone at `now`: weekdays are local
    groups: dict[str, GroupHistory] = field(default_factory=dict)
    history: dict[str, dict[int, ContactHistory]] = field(default_factory=dict)  # group -> contact -> history
    recent: dict[str, list[str]] = field(default_factory=dict)  # group -> last observed event ids, newest first
    recent_hits: dict[tuple[str, int], int] = field(default_factory=dict)  # (group, contact) -> of the recent
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)

    def slot(self, start_utc: datetime) -> int:
        """The weekday (0 = Monday) of a start in the user's zone."""
        return (start_utc + timedelta(minutes=self.utc_offset_minutes)).weekday()


def connection_of(source: Any) -> sqlite3.Connection:
    return source if isinstance(source, sqlite3.Connection) else source.conn


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def group_clause(groups: list[str]) -> tuple[str, list[str]]:
    """SQL matching events of the named groups ('source:NAME' for a source's events with no group)."""
    named = [g for g in groups if not g.startswith("source:")]
    sources = [g[len("source:"):] for g in groups if g.startswith("source:")]
    parts, params = [], []
    if named:
        parts.append("e.group_name in (select value from json_each(?))")
        params.append(_json(named))
    if sources:
        parts.append("(e.group_name is null and e.source in (select value from json_each(?)))")
        params.append(_json(sources))
    return ("(" + " or ".join(parts) + ")") if parts else "0", params


def _json(values: list[str]) -> str:
    import json

    return json.dumps(values)


def load(source: Any, groups: list[str], now: datetime, *, utc_offset_minutes: int = 0,
         half_life_days: float = HALF_LIFE_DAYS, lock: Any = None) -> AttendanceSnapshot:
    """Read the attendance history of `groups` before `now` (conn or Store; its lock is held while reading)."""
    conn = connection_of(source)
    lock = lock if lock is not None else getattr(source, "lock", None)
    snap = AttendanceSnapshot(now=now, utc_offset_minutes=utc_offset_minutes)
    if not groups:
        return snap
    where, params = group_clause(sorted(set(groups)))
    decay = math.log(2) / half_life_days
    shift = f"{int(utc_offset_minutes):+d} minutes"
    observed = f"""select e.id as id, coalesce(e.group_name, 'source:' || e.source) as g,
                          exp(-{decay!r} * max(0.0, julianday(:now) - julianday(e.start_utc))) as w,
                          cast(strftime('%w', e.start_utc, '{shift}') as integer) as wd, e.start_utc as s
                   from events e where e.start_utc < :now and {where}
                   and exists (select 1 from attendance a where a.event_id = e.id)"""
    bind = {"now": _utc_text(now)}
    bind.update({f"p{i}": p for i, p in enumerate(params)})
    observed = _named(observed, len(params))

    def rows(sql: str):
        return conn.execute(sql, bind).fetchall()

    with (lock if lock is not None else _nolock()):
        conn.execute("drop table if exists temp.rank_observed")
        conn.execute(f"create temp table rank_observed as {observed}", bind)
        try:
            group_rows = rows("select g, (wd + 6) % 7, sum(w), count(*) from rank_observed group by g, wd")
            contact_rows = rows(
                """select o.g, a.contact_id, (o.wd + 6) % 7, sum(o.w), count(*) from rank_observed o
                   join (select distinct event_id, contact_id from attendance
                         where contact_id is not null and status in ('going', 'attended')) a
                     on a.event_id = o.id
                   group by o.g, a.contact_id, o.wd""")
            recent_rows = rows(
                f"""select g, id from (select g, id, row_number() over (partition by g order by s desc, id) as n
                                      from rank_observed) where n <= {RECENT_EVENTS} order by g, n""")
            recent_hit_rows = rows(
                f"""select r.g, a.contact_id, count(distinct r.id) from
                      (select g, id from (select g, id, row_number() over (partition by g order by s desc, id) as n
                                          from rank_observed) where n <= {RECENT_EVENTS}) r
                    join attendance a on a.event_id = r.id
                    where a.contact_id is not null and a.status in ('going', 'attended')
                    group by r.g, a.contact_id""")
        finally:
            conn.execute("drop table if exists temp.rank_observed")
    totals: dict[str, list] = defaultdict(lambda: [0.0, {}, 0])
    for g, wd, w, n in group_rows:
        t = totals[g]
        t[0] += w
        t[1][wd] = w
        t[2] += n
    snap.groups = {g: GroupHistory(total, by_slot, n) for g, (total, by_slot, n) in totals.items()}
    per: dict[str, dict[int, list]] = defaultdict(dict)
    for g, cid, wd, w, n in contact_rows:
        entry = per[g].get(cid)
        if entry is None:
            entry = per[g][cid] = [0.0, {}, 0]
        entry[0] += w
        entry[1][wd] = w
        entry[2] += n
    snap.history = {g: {cid: ContactHistory(w, by_slot, n) for cid, (w, by_slot, n) in people.items()}
                    for g, people in per.items()}
    for g, eid in recent_rows:
        snap.recent.setdefault(g, []).append(eid)
    snap.recent_hits = {(g, cid): n for g, cid, n in recent_hit_rows}
    return snap


def _named(sql: str, count: int) -> str:
    """Turn the positional '?' marks of a group clause into :p0, :p1 ... (the query also binds :now)."""
    for i in range(count):
        sql = sql.replace("?", f":p{i}", 1)
    return sql


class _nolock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def load_contacts(source: Any) -> dict[int, dict[str, Any]]:
    conn = connection_of(source)
    cursor = conn.execute("select id, name, weight, last_contacted, cadence_days from contacts")
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=False)) for row in cursor.fetchall()}


def topic_matches(source: Any, topic_query: str, event_ids: list[str]) -> dict[str, tuple[float, str]]:
    """{event id: (field-weighted bm25, the best field it matches in)} for `event_ids` matching the FTS5 query.

    bm25 is more negative for a better match. The field is "title" when the
    title or the tags match, else "description", else "group_name".
    """
    if not topic_query or not event_ids:
        return {}
    conn = connection_of(source)
    weights = ", ".join(repr(FIELD_WEIGHTS[c]) for c in FTS_COLUMNS)
    wanted = set(event_ids)
    sql = f"""select events.id, bm25(events_fts, {weights}) from events_fts
              join events on events.rowid = events_fts.rowid where events_fts match ?"""
    found: dict[str, tuple[float, str]] = {}
    lock = getattr(source, "lock", None)
    with (lock if lock is not None else _nolock()):
        for where, columns in (("title", "{title tags}"), ("description", "description"), ("group_name", "group_name")):
            for i, bm25 in conn.execute(sql, [f"{columns} : {topic_query}"]):
                if i in wanted and i not in found:
                    found[i] = (bm25, where)
    return found
