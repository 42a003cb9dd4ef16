"""A source's store step when most of its events changed: updated rows per second.

Stores N events for one source, then stores them again with every row changed:
once with every title changed, once with only the start moved (text kept, as in
most real updates), a few attendees changed each time. The floor is a plain `executemany`
of the same UPDATE rows, in one transaction, on a database of the same schema
(full-text triggers included): the ratio says how close the store step gets to
what SQLite itself does. Issue 11 #5 asks for >= 20,000 updated rows a second.

    python bench/store_updates.py [--events 26217]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from aggregator.model import Event, Person, Venue
from aggregator.store import Store, event_row

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Los_Angeles")


def events(n: int, version: int, *, text_changes: bool = True) -> list[Event]:
    """Version 0, or a version 1 where every event changed: its title (or, without
    text_changes, only its start) and, for one in ten, its attendees."""
    out = []
    for i in range(n):
        people = tuple(Person(f"Person {i % 97} {j}", None, None) for j in range(i % 3))
        if version and i % 10 == 0:
            people += (Person("Late Comer", None, None),)
        out.append(Event(
            source_uid=f"uid-{i}", title=f"Meetup {i} v{version if text_changes else 0}",
            start=NOW + timedelta(hours=i % 5000, minutes=0 if text_changes else 30 * version),
            description=f"Talks about topic {i % 50}", url=f"https://example.org/e/{i}",
            venue=Venue("Library", "801 SW 10th", "Portland", 45.5, -122.6), group=f"Group {i % 40}",
            tags=("python",), attendees=people))
    return out


def store_step(folder: Path, first: list[Event], second: list[Event]) -> tuple[float, int]:
    store = Store(folder / "store.db")
    store.events.save("src", first, now=NOW, tz=TZ)
    began = time.perf_counter()
    counts = store.events.save("src", second, now=NOW + timedelta(days=1), tz=TZ)
    elapsed = time.perf_counter() - began
    store.close()
    return elapsed, counts.updated


def floor(folder: Path, first: list[Event], second: list[Event]) -> float:
    """The same rows written by one executemany on a database of the same schema."""
    store = Store(folder / "floor.db")
    store.events.save("src", first, now=NOW, tz=TZ)
    store.close()
    rows = [event_row("src", e, TZ) for e in second]
    columns = [c for c in rows[0] if c != "id"]
    sql = f"update events set {', '.join(f'[{c}] = ?' for c in columns)} where id = ?"
    params = [[*(r[c] for c in columns), r["id"]] for r in rows]
    conn = sqlite3.connect(folder / "floor.db")
    began = time.perf_counter()
    with conn:
        conn.executemany(sql, params)
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=26_217)
    args = parser.parse_args()
    first = events(args.events, 0)
    for label, text_changes in (("every title changed", True), ("only the start moved", False)):
        second = events(args.events, 1, text_changes=text_changes)
        with tempfile.TemporaryDirectory() as folder:
            elapsed, updated = store_step(Path(folder), first, second)
            floor_elapsed = floor(Path(folder), first, second)
        rate, floor_rate = updated / elapsed, len(second) / floor_elapsed
        print(f"{label}: {updated:,} updated rows stored in {elapsed:.2f} s: {rate:,.0f} rows/s; "
              f"floor (one executemany of the same rows, same schema) {floor_rate:,.0f} rows/s; "
              f"store step / floor {rate / floor_rate:.2f}")


if __name__ == "__main__":
    main()
