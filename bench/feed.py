"""Feed build time for 2,000 events against icalendar's own serialization (the floor),
the server's requests per second for a cached feed with a keep-alive client, and the build
once one runaway series has --series stored occurrences (issue 11 item 2) against the build
without it (the floor for that one).

    python bench/feed.py [--events 2000] [--requests 2000] [--series 500000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import icalendar
import requests
import yaml

from aggregator import config, feed
from aggregator.model import Event, Venue
from aggregator.server import FeedService, make_server
from aggregator.store import Store, event_row, utc_text

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOPICS = ["python", "rust", "data", "devops", "javascript", "security", "design", "cloud"]


def events(n: int) -> list[Event]:
    out = []
    for i in range(n):
        start = NOW + timedelta(hours=7 + 4 * i)
        topic = TOPICS[i % len(TOPICS)]
        out.append(Event(
            source_uid=f"bench-{i}", title=f"{topic.title()} meetup #{i}", start=start,
            end=start + timedelta(hours=2), timezone="America/Los_Angeles",
            description=f"Talks and networking about {topic}. " * 8, url=f"https://example.org/e/{i}",
            venue=Venue(f"Venue {i % 40}", f"{100 + i} SW Main St", "Portland", 45.5, -122.6),
            group=f"PDX {topic.title()}", tags=(topic, "meetup"),
        ))
    return out


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--series", type=int, default=500_000, help="0 skips the runaway-series part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(yaml.safe_dump({
            "timezone": "America/Los_Angeles", "profile": {"topics": {"python": 3, "rust": 1}},
            "sources": [{"name": "bench", "kind": "ics", "url": "https://example.org/a.ics"}],
            "feed": {"limit_per_week": 0, "days_ahead": 400},
        }))
        settings = config.load(path)
        store = Store(settings.database)
        sample = events(args.events)
        store.events.save("bench", sample, now=NOW, tz=settings.timezone)

        cap, feed.MAX_FEED_BYTES = feed.MAX_FEED_BYTES, 10**9  # measure all 2,000 events, as the floor does
        first_began = time.perf_counter()
        built = feed.build(store, settings, now=NOW)
        first = time.perf_counter() - first_began
        steady = timed(lambda: feed.build(store, settings, now=NOW))
        feed.MAX_FEED_BYTES = cap
        capped = feed.build(store, settings, now=NOW)
        feed.MAX_FEED_BYTES = 10**9

        # The floor: icalendar serializing the same VEVENTs, built in advance.
        cal = icalendar.Calendar()
        for c in icalendar.Calendar.from_ical(built.body).walk("VEVENT"):
            cal.add_component(c)
        floor = timed(lambda: cal.to_ical())

        print(f"feed: {built.events} events, {len(built.body):,} bytes uncapped; with the 900 KB cap "
              f"{capped.events} events, {len(capped.body):,} bytes")
        print(f"build, first (publishes versions): {first * 1000:8.1f} ms")
        print(f"build, unchanged rebuild (median): {steady * 1000:8.1f} ms")
        print(f"icalendar to_ical alone (floor):   {floor * 1000:8.1f} ms   -> build is {steady / floor:.1f}x the floor")

        service = FeedService(settings, store, now=lambda: NOW)
        httpd = make_server(service, "127.0.0.1", 0)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/feed.ics"
        session = requests.Session()  # keep-alive
        etag = session.get(url).headers["ETag"]
        for label, headers in (("200 (full body)", {}), ("304 (If-None-Match)", {"If-None-Match": etag})):
            began = time.perf_counter()
            for _ in range(args.requests):
                session.get(url, headers=headers)
            elapsed = time.perf_counter() - began
            print(f"server, cached feed, {label:20}: {args.requests / elapsed:8.0f} requests/s")
        httpd.shutdown()
        httpd.server_close()
        if args.series:
            runaway_series(store, settings, args.series, steady)
        store.close()


def runaway_series(store: Store, settings, count: int, floor: float) -> None:
    """One series stored `count` times, a minute apart from the start of the feed's window."""
    stamp = utc_text(NOW)
    first = NOW - timedelta(days=settings.feed.days_back - 1)
    rows = ({**event_row("runaway", Event(f"standup@bench/{i}", "Python standup", first + timedelta(minutes=i),
                                           group="PDX Python"), settings.timezone),
             "sequence": 0, "first_seen": stamp, "last_seen": stamp, "updated_at": stamp} for i in range(count))
    began = time.perf_counter()
    with store.database.transaction():
        store.database.db["events"].insert_all(rows, pk="id", batch_size=5000)
    stored = time.perf_counter() - began
    settings = replace(settings, feed=replace(settings.feed, limit_per_week=10))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    built = feed.build(store, settings, now=NOW)
    first_build = time.perf_counter() - began
    steady = timed(lambda: feed.build(store, settings, now=NOW), repeat=3)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(f"runaway series: {count:,} occurrences stored in {stored:.1f} s; feed (limit_per_week 10) "
          f"{built.events} events")
    print(f"build with the series, first:      {first_build * 1000:8.1f} ms")
    print(f"build with the series (median):    {steady * 1000:8.1f} ms   -> {steady / floor:.1f}x the build "
          f"without it; peak memory grew {grown:.0f} MB")


if __name__ == "__main__":
    main()
