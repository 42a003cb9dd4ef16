"""`aggregator upcoming` at every size: the grid 2k, 10k and 100k events.

    size   events   contacts   attendance rows
    2k      2,000        500            10,000
    10k    10,000      1,000           100,000
    100k  100,000     10,000         1,000,000

For each size (the store built once, then reused with --keep DIR): the CLI
`aggregator upcoming --json` (a new process each time), the ranking alone in
process, a change as a writer makes it (attendance_version bumped, then the
writer's rebuild of the ranking's cached sums and cold start, contacts.refresh_social)
and the first query after it, and,
in the same run, `aggregator --help` and a bare `python -c pass`. Medians of 5;
the last lines print the ratios issue 19 sets targets for (the machine is
shared: compare ratios of one run, not milliseconds across runs).

    python bench/query.py [--sizes 2k,10k,100k] [--keep DIR] [--dump FILE]

--dump writes each size's in-process listing (scores, contacts and their P,
reasons) as JSON, to compare two versions of the ranking value for value.
The 100k store takes several minutes to build: keep it.
"""

from __future__ import annotations

import argparse
import json
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

from aggregator import config, contacts, ranking
from aggregator.model import Event, Venue
from aggregator.ranking import HALF_LIFE_DAYS
from aggregator.store import Store, event_row
from aggregator.store.codec import EVENT_COLUMNS

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
WORDS = ["python", "rust", "data", "machine learning", "devops", "javascript", "security", "design", "cloud", "go"]
SIZES = {"2k": (2_000, 500, 10_000), "10k": (10_000, 1_000, 100_000), "100k": (100_000, 10_000, 1_000_000)}
RUNS = 5


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
    print(f"  built {n_events:,} events and {len(attendance):,} attendance rows in "
          f"{time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    report = contacts.import_file(store, folder / "Connections.csv", now=NOW)
    print(f"  imported {report.added:,} contacts in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    contacts.refresh_social(store, NOW, HALF_LIFE_DAYS)
    print(f"  matched attendees to contacts and built the ranking's cache in {time.perf_counter() - began:.1f} s",
          flush=True)
    store.close()
    return path


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Median wall time of RUNS runs of `command`, a new process each."""
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def dumped(items) -> list:
    """What a listing says, value for value (to compare two versions of the ranking)."""
    return [{"id": i.id, "score": i.score, "social": round(i.social_part, 9), "reasons": i.reasons,
             "chances": [(c.contact_id, round(c.probability, 9), c.evidence, c.detail) for c in i.chances]}
            for i in items]


def measure(folder: Path, size: str) -> dict[str, float]:
    path = folder / "config.yaml"
    if not (path.exists() and (folder / "events.db").exists()):
        path = build(folder, *SIZES[size])
    settings = config.load(path)
    store = Store(settings.database)
    # A change as every writer makes one (fetch, import, attended, merge): attendance_version moves,
    # then the writer brings the ranking's cache up to date (contacts.refresh_social) ...
    with store.database.transaction():
        store.database.bump("attendance_version")
    began = time.perf_counter()
    contacts.refresh_social(store, NOW, HALF_LIFE_DAYS, settings.timezone)
    rebuild = time.perf_counter() - began
    began = time.perf_counter()
    listed = ranking.upcoming(store, settings, now=NOW)
    first = time.perf_counter() - began  # ... so the first query after it only reads
    in_process = []
    for _ in range(RUNS):
        began = time.perf_counter()
        ranking.upcoming(store, settings, now=NOW)
        in_process.append(time.perf_counter() - began)
    store.close()
    env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
    cli = timed([sys.executable, "-m", "aggregator", "--config", str(path), "upcoming", "--json"], env)
    return {"rebuild": rebuild, "first": first, "ranking": statistics.median(in_process), "cli": cli,
            "help": timed([sys.executable, "-m", "aggregator", "--help"]),
            "bare": timed([sys.executable, "-c", "pass"]), "listing": dumped(listed)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=",".join(SIZES), help="which of 2k,10k,100k to run")
    parser.add_argument("--keep", metavar="DIR", help="Build each store in DIR/<size> once and reuse it on later runs.")
    parser.add_argument("--dump", metavar="FILE", help="Write each size's listing as JSON to FILE.")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {', '.join(unknown)}: choose from {', '.join(SIZES)}")
    found: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in sizes:
            folder = Path(args.keep or scratch) / size
            folder.mkdir(parents=True, exist_ok=True)
            print(f"{size}: {SIZES[size][0]:,} events / {SIZES[size][1]:,} contacts / "
                  f"{SIZES[size][2]:,} attendance rows", flush=True)
            found[size] = measure(folder, size)
            f = found[size]
            print(f"  upcoming CLI {f['cli'] * 1000:6.0f} ms   ranking in process {f['ranking'] * 1000:6.0f} ms   "
                  f"after a change: the writer's rebuild {f['rebuild'] * 1000:6.0f} ms, then the first query "
                  f"{f['first'] * 1000:6.0f} ms   --help {f['help'] * 1000:4.0f} ms   "
                  f"python -c pass {f['bare'] * 1000:3.0f} ms", flush=True)
    if args.dump:
        Path(args.dump).write_text(json.dumps({s: f["listing"] for s, f in found.items()}, indent=1))
    print("ratios (targets, issue 19):")
    for size, f in found.items():
        line = f"  {size:>4}: CLI / --help {f['cli'] / f['help']:.2f} (10k: <= 4)   --help / bare " \
               f"{f['help'] / f['bare']:.1f} (<= 6)   first query after a change {f['first']:.2f} s (100k: <= 1)"
        if "2k" in found and size != "2k":
            line += f"   CLI / 2k CLI {f['cli'] / found['2k']['cli']:.2f} ({'<= 1.5' if size == '10k' else '<= 2'})"
        print(line)


if __name__ == "__main__":
    main()
