"""The cross-source merge pass on 50,000 events: time and memory.

A year of listings from four sources, a fifth of them cross-posted (with
shifted start times, renamed titles and decorations). Prints the time and peak
memory of the clustering alone and of the whole pass over a real SQLite store
(read listings, cluster, write canonical ids), and how many clusters it found
against how many were planted. The clustering is also timed in CPU seconds
against a floor measured in the same run (normalizing every title once, the
least any title matcher must do), so a loaded machine does not blur a comparison.

    python bench/dedup.py [--events 50000]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from aggregator import dedup
from aggregator.model import Event, Venue
from aggregator.store import Store

UTC = timezone.utc
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SOURCES = ["meetup", "luma", "calagator", "eventbrite"]
WORDS = ["python", "rust", "data", "cloud", "security", "design", "ai", "go", "kotlin", "devops", "ux", "ml",
         "startup", "founders", "women", "tech", "night", "talks", "workshop", "social", "hack", "study"]


def listings(n: int, rng: random.Random) -> tuple[list[Event], dict[str, list[str]], int]:
    """Events per source; about a fifth are cross-posted copies on another source."""
    per_source: dict[str, list[Event]] = {s: [] for s in SOURCES}
    planted = 0
    made = 0
    while made < n:
        start = NOW + timedelta(minutes=15 * rng.randrange(365 * 24 * 4))
        title = " ".join(rng.sample(WORDS, 4)).title() + f" {rng.randrange(1000)}"
        venue = Venue(f"Venue {rng.randrange(300)}", lat=45.4 + rng.random() / 5, lon=-122.8 + rng.random() / 5)
        source = rng.choice(SOURCES)
        per_source[source].append(Event(f"{source}-{made}", title, start, venue=venue))
        made += 1
        if rng.random() < 0.2 and made < n:
            other = rng.choice([s for s in SOURCES if s != source])
            shifted = start + timedelta(minutes=rng.choice([0, 0, 10, 15, 30]))
            copy = rng.choice([title, f"{title} (online)", f"Meetup: {title}", title.upper()])
            per_source[other].append(Event(f"{other}-{made}", copy, shifted, venue=venue))
            made += 1
            planted += 1
    return per_source, planted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(11)
    per_source, planted = listings(args.events, rng)
    tz = ZoneInfo("America/Los_Angeles")
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "events.db")
        for source, events in per_source.items():
            store.events.save(source, events, now=NOW, tz=tz)
        window = dict(start=NOW - timedelta(days=2), end=NOW + timedelta(days=400))
        items = store.merges.candidates(priorities={}, **window)

        began = time.process_time()
        for item in items:
            dedup.normalize_title.__wrapped__(item.title, item.group)
        floor_cpu = time.process_time() - began
        began = time.process_time()
        dedup.assignments(items)
        cluster_cpu = time.process_time() - began

        tracemalloc.start()
        began = time.perf_counter()
        assigned = dedup.assignments(items)
        cluster_time = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        began = time.perf_counter()
        items = store.merges.candidates(priorities={}, **window)
        assigned = dedup.assignments(items)
        changed = store.merges.apply_canonical(assigned, **window)
        full_time = time.perf_counter() - began
        began = time.perf_counter()
        again = store.merges.apply_canonical(dedup.assignments(store.merges.candidates(priorities={}, **window)), **window)
        rerun_time = time.perf_counter() - began
        clusters = len(set(assigned.values()))
        store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(items):,} events from {len(SOURCES)} sources; {planted:,} cross-posted copies planted")
    print(f"clusters found: {clusters:,} ({clusters / planted:.1%} of planted)")
    print(f"clustering alone: {cluster_cpu:6.2f} s CPU = {cluster_cpu / floor_cpu:5.1f} x the floor "
          f"(normalizing each title once: {floor_cpu:.2f} s CPU)")
    print(f"clustering alone, traced by tracemalloc (slower): {cluster_time:6.2f} s, peak {peak / 2**20:6.1f} MiB")
    print(f"whole pass (read, cluster, write {changed:,} rows): {full_time:6.2f} s")
    print(f"second pass, nothing changed ({again} rows written): {rerun_time:6.2f} s")
    print(f"process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
