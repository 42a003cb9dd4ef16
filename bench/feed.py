"""Feed build time for 2,000 events against icalendar's own serialization (the floor),
and the server's requests per second for a cached feed with a keep-alive client.

    python bench/feed.py [--events 2000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import icalendar
import requests
import yaml

from aggregator import config, feed
from aggregator.model import Event, Venue
from aggregator.server import FeedService, make_server
from aggregator.store import Store

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
        store.save_events("bench", sample, now=NOW, tz=settings.timezone)

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
        store.close()


if __name__ == "__main__":
    main()
