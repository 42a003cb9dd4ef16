"""Large inputs through the parsers: time and peak memory against a floor measured in the same run.

Cases: a 1 MB events page (JSON-LD), a 1 MB calendar, and bodies at the fetch
size cap (fetch.max_bytes, 20 MB): a calendar, a page that is mostly text
around a few events, and a conference-data JSON list. For each, the parser's CPU
time, its tracemalloc peak and the process's peak RSS growth are printed as
ratios against a floor: the same bytes read by a trivial parser (decoded and
split into lines). Each case runs in its own process so peak RSS is its own.

    python bench/large_inputs.py [--cases page_1mb,ics_1mb,...] [--scale 1.0]

--scale shrinks or grows every input (0.1 for a quick look).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
START = datetime(2027, 1, 4, 18, 0, tzinfo=timezone.utc)


def events_page(size: int) -> bytes:
    """A listing page: one JSON-LD array of Events, with ordinary markup around each card."""
    events, cards, i = [], [], 0
    while sum(map(len, cards)) + len(json.dumps(events)) < size * 0.95:
        when = START + timedelta(hours=7 * i)
        events.append({"@context": "https://schema.org", "@type": "Event", "@id": f"https://ex.org/e/{i}",
                       "name": f"Python meetup number {i}", "startDate": when.isoformat(),
                       "endDate": (when + timedelta(hours=2)).isoformat(), "url": f"https://ex.org/e/{i}",
                       "description": "Talks and pizza. " * 8,
                       "location": {"@type": "Place", "name": "Hall", "address": "1 Main St, Portland"}})
        cards.append(f'<div class="card"><h3><a href="/e/{i}">Python meetup number {i}</a></h3>'
                     f'<p>{"Talks and pizza. " * 6}</p></div>\n')
        i += 1
    script = f'<script type="application/ld+json">{json.dumps(events)}</script>'
    return f"<!doctype html><html><head>{script}</head><body>{''.join(cards)}</body></html>".encode()


def calendar(size: int) -> bytes:
    parts, i, total = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"], 0, 0
    while total < size:
        when = START + timedelta(hours=7 * i)
        event = (f"BEGIN:VEVENT\r\nUID:bench-{i}@ex.org\r\nDTSTAMP:20261201T000000Z\r\n"
                 f"DTSTART:{when:%Y%m%dT%H%M%SZ}\r\nDTEND:{when + timedelta(hours=2):%Y%m%dT%H%M%SZ}\r\n"
                 f"SUMMARY:Python meetup number {i}\r\nLOCATION:Hall\\, 1 Main St\\, Portland\r\n"
                 f"DESCRIPTION:{'Talks and pizza. ' * 20}\r\nEND:VEVENT\r\n")
        parts.append(event)
        total += len(event)
        i += 1
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode()


def text_page(size: int) -> bytes:
    """A huge page with little data: paragraphs of text around a few events."""
    event = events_page(2000)
    filler = b"<p>" + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + b"</p>\n"
    return event.replace(b"<body>", b"<body>" + filler * (size // len(filler)))


def conference_list(size: int) -> bytes:
    item = {"name": "PyCon Somewhere", "url": "https://ex.org/c", "startDate": "2027-05-01", "endDate": "2027-05-03",
            "city": "Portland", "country": "U.S.A.", "online": False, "cfpUrl": "https://ex.org/cfp"}
    count = size // len(json.dumps(item))
    return json.dumps([{**item, "name": f"PyCon Somewhere {i}"} for i in range(count)]).encode()


def parser(kind: str):
    from aggregator.source import Context
    from sources import confs_tech, ics, jsonld

    window = (datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2040, 1, 1, tzinfo=timezone.utc))
    ctx = Context(timezone=ZoneInfo("America/Los_Angeles"), window=window, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    module = {"jsonld": jsonld, "ics": ics, "confs_tech": confs_tech}[kind]
    return lambda data: module.parse(data, "https://ex.org/conferences/2027/python.json", ctx=ctx)


CASES = {
    "page_1mb": (events_page, 1 * MB, "jsonld"),
    "ics_1mb": (calendar, 1 * MB, "ics"),
    "text_page_20mb": (text_page, 20 * MB, "jsonld"),
    "conferences_20mb": (conference_list, 20 * MB, "confs_tech"),
    "ics_20mb": (calendar, 20 * MB, "ics"),
}


def floor(data: bytes) -> int:
    """The trivial parser: the bytes decoded and split into lines."""
    return len(data.decode("utf-8", errors="replace").splitlines())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(function, data: bytes) -> dict:
    started = time.process_time()
    before = rss_mb()
    result = function(data)
    seconds = time.process_time() - started
    rss_growth = rss_mb() - before
    tracemalloc.start()
    function(data)
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mb": peak, "rss_growth_mb": rss_growth,
            "count": len(result) if hasattr(result, "__len__") else result}


def run_case(name: str, scale: float) -> dict:
    """In a child process: build the input, then floor first (its RSS growth is the floor's own)."""
    build, size, kind = CASES[name]
    data = build(int(size * scale))
    parse = parser(kind)
    base = measure(floor, data)
    try:
        real = measure(parse, data)
        real["error"] = None
    except Exception as exc:  # a SourceError (a deadline, a cap) is a figure too
        real = {"seconds": float("nan"), "peak_mb": float("nan"), "rss_growth_mb": float("nan"), "count": 0,
                "error": f"{type(exc).__name__}: {str(exc)[:80]}"}
    return {"case": name, "bytes": len(data), "kind": kind, "floor": base, "parse": real, "rss_total_mb": rss_mb()}


def main() -> None:
    parser_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_.add_argument("--cases", default=",".join(CASES))
    parser_.add_argument("--scale", type=float, default=1.0)
    parser_.add_argument("--child", help=argparse.SUPPRESS)
    args = parser_.parse_args()
    if args.child:
        print(json.dumps(run_case(args.child, args.scale)))
        return
    print(f"{'case':18} {'bytes':>10} {'kind':>10} {'events':>7} {'cpu s':>8} {'x floor':>8} "
          f"{'peak MB':>8} {'x floor':>8} {'RSS+ MB':>8} {'x input':>8}")
    for name in args.cases.split(","):
        child = subprocess.run([sys.executable, __file__, "--child", name, "--scale", str(args.scale)],
                               capture_output=True, text=True, cwd=ROOT)
        if child.returncode != 0:
            print(f"{name:18} failed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(child.stdout.strip().splitlines()[-1])
        f, p = r["floor"], r["parse"]
        mb_in = r["bytes"] / MB
        print(f"{name:18} {r['bytes']:>10} {r['kind']:>10} {p['count']:>7} {p['seconds']:>8.2f} "
              f"{p['seconds'] / max(f['seconds'], 1e-4):>8.0f} {p['peak_mb']:>8.1f} "
              f"{p['peak_mb'] / max(f['peak_mb'], 1e-3):>8.1f} {p['rss_growth_mb']:>8.1f} "
              f"{p['rss_growth_mb'] / mb_in:>8.1f}" + (f"  ({p['error']})" if p["error"] else ""))
    print("floor: the same bytes decoded and split into lines; cpu is process time (steady under load); "
          "peak is tracemalloc's; RSS+ is the process's peak RSS growth during the parse")


if __name__ == "__main__":
    main()
