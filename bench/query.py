"""`aggregator upcoming` at scale: 100,000 events, 10,000 contacts, 1,000,000 attendance rows.

Prints the time to build the database, to match attendees to contacts and
build the ranking's attendance sums (done after each fetch), the first ranking after
attendance changed (it rebuilds the ranking's cached sums), the wall time of the CLI
(`aggregator upcoming --json`, a new process each time) and of the ranking
alone (in process).

    python bench/query.py [--events 100000] [--contacts 10000] [--attendance 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from aggregator import config, contacts, listing, rank, snapshot
from aggregator.model import Event, Venue
from aggregator.store import Store, event_row
from aggregator.store.codec import EVENT_COLUMNS

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
WORDS = ["python", "rust", "data", "machine learning", "devops", "javascript", "security", "design", "cloud", "go"]


def build(folder: Path, n_events: int, n_contacts: int, n_attendance: int) -> Path:
    rng = random.Random(7)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump({
        "timezone": "America/Los_Angeles",
        "profile": {"topics": {"python": 3, "machine learning": 2, "rust": 1}, "exclude_topics": ["crypto"],
                    "home": {"lat": 45.52, "lon": -122.68, "radius_km": 40}},
        "sources": [{"name": "bench", "kind": "ics", "url": "https://example.org/a.ics"}],
    }))
    settings = config.load(path)
    store = Store(settings.database)
    groups = [f"Group {i} {WORDS[i % len(WORDS)]}" for i in range(max(1, n_events // 200))]
    people = [f"Person{i} Family{i % 997}" for i in range(n_contacts * 3)]
    csv_rows = ["First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
    for i in range(n_contacts):
        first, last = people[i].split()
        csv_rows.append(f"{first},{last},https://www.linkedin.com/in/p{i},,Co,Eng,01 Jan 2026")
    (folder / "Connections.csv").write_text("\n".join(csv_rows) + "\n")
    began = time.perf_counter()
    rows, attendance = [], []
    past_events = []
    for i in range(n_events):
        start = NOW + timedelta(days=rng.uniform(-730, 365), hours=rng.randint(0, 5))
        group = rng.choice(groups)
        event = Event(f"e{i}", f"{group.split()[-1].title()} meetup {i}", start, group=group,
                      description=f"Talks about {group.split()[-1]} and more.",
                      venue=Venue("Hall", lat=45.5 + rng.uniform(-0.3, 0.3), lon=-122.6 + rng.uniform(-0.3, 0.3)))
        row = event_row("bench", event, settings.timezone)
        row.update(sequence=0, first_seen="2026-01-01T00:00:00Z", last_seen="2026-01-01T00:00:00Z",
                   updated_at="2026-01-01T00:00:00Z")
        rows.append(row)
        if start < NOW:
            past_events.append(row["id"])
    seen: set[tuple[str, str]] = set()
    while len(attendance) < n_attendance:
        # some people go to a lot of events, most to a few
        person = people[min(int(rng.paretovariate(1.2)) - 1, len(people) - 1) if rng.random() < 0.3
                        else rng.randrange(len(people))]
        event = rng.choice(past_events)
        if (event, person) in seen:
            continue
        seen.add((event, person))
        attendance.append({"event_id": event, "person_key": person.lower(), "name": person, "email": None,
                           "url": None, "status": "going", "evidence": "feed", "seen_at": "2026-01-01T00:00:00Z"})
    # Plain SQL inside one transaction: sqlite-utils' insert_all commits on its own (`with conn:`),
    # which ended store.database.transaction() after its first batch.
    event_columns = list(EVENT_COLUMNS)
    attendance_columns = list(attendance[0]) if attendance else []
    with store.database.transaction():
        store.database.conn.executemany(
            f"insert into events ({', '.join(f'[{c}]' for c in event_columns)}) "
            f"values ({', '.join('?' * len(event_columns))})", [[r.get(c) for c in event_columns] for r in rows])
        store.database.conn.executemany(
            f"insert into attendance ({', '.join(attendance_columns)}) "
            f"values ({', '.join('?' * len(attendance_columns))})",
            [[a[c] for c in attendance_columns] for a in attendance])
        store.database.bump("attendance_version")
    stored = store.database.conn.execute("select count(*) from attendance").fetchone()[0]
    print(f"built {n_events:,} events and {stored:,} attendance rows in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    report = contacts.import_file(store, folder / "Connections.csv", now=NOW)
    print(f"imported {report.added:,} contacts in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    matched = store.database.conn.execute("select count(*) from attendance where contact_id is not null").fetchone()[0]
    print(f"matched attendees to contacts ({matched:,} rows) and built the ranking's sums in "
          f"{time.perf_counter() - began:.1f} s")
    store.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--attendance", type=int, default=1_000_000)
    parser.add_argument("--keep", metavar="DIR", help="Build the database in DIR once and reuse it on later runs.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "config.yaml"
        if not (args.keep and path.exists() and (folder / "events.db").exists()):
            path = build(folder, args.events, args.contacts, args.attendance)
        settings = config.load(path)
        store = Store(settings.database)
        # The first query after attendance changed rebuilds the ranking's cached sums (snapshot.py).
        store.database.conn.execute("delete from meta where key = ?", [snapshot.CACHE_KEY])
        store.database.conn.commit()
        began = time.perf_counter()
        upcoming = listing.upcoming(store, settings, now=NOW)
        first = time.perf_counter() - began
        in_process = [0.0] * 5
        for i in range(5):
            began = time.perf_counter()
            listing.upcoming(store, settings, now=NOW)
            in_process[i] = time.perf_counter() - began
        store.close()
        env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
        command = [sys.executable, "-m", "aggregator", "--config", str(path), "upcoming", "--json"]
        cli = []
        for _ in range(5):
            began = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            cli.append(time.perf_counter() - began)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "aggregator", "--help"], check=True, capture_output=True)
        startup = time.perf_counter() - began
        listed = sum(len(u.contacts) for u in upcoming)
        print(f"upcoming (30 days, top 20; {listed} contact predictions shown):")
        print(f"  first query after a change (rebuilds the cached sums): {first * 1000:7.0f} ms")
        print(f"  ranking alone, in process (median of 5): {statistics.median(in_process) * 1000:7.0f} ms")
        print(f"  CLI `aggregator upcoming --json` (median of 5): {statistics.median(cli) * 1000:7.0f} ms"
              f"   (of which interpreter + imports, `--help`: {startup * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
