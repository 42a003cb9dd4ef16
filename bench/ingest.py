"""Ingest speed of the `ics` kind against the naive reading measured in the same run:
`icalendar.Calendar.from_ical` + `recurring_ical_events.of(...).between(...)`, which repairs
nothing and expands everything.

    python bench/ingest.py [--shared ../shared] [--rounds 3]

1. Corpus: every file of ../shared/corpus/ics and ../shared/corpus/ics-peers that the naive
   reading reads, each in a one-year window from its first DTSTART; prints naive/ours
   (target >= 0.8: ours at least 0.8x the naive speed).
2. A generated feed of 1,500 VEVENTs (300 weekly series, 1,200 single events), one-year
   window; prints seconds (target <= 1.5 s) and naive/ours.
3. With --large PATH: libical's test-data/large.ics (1,458 VEVENTs in 1,788 VCALENDARs, RFC
   examples repeated; not in ../shared: take it from github.com/libical/libical), in the fetch
   window (730 days back, 365 ahead of 2026-12-01); prints CPU seconds (target <= 1.5 s) and
   naive/ours. Also --window wide reads 1990-2040.
Each figure is the best of --rounds runs.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.source import Context  # noqa: E402
from sources import ics  # noqa: E402

UTC = timezone.utc
_FIRST_START = re.compile(rb"DTSTART[^:\r\n]*:(\d{4})(\d{2})(\d{2})")


def naive(data: bytes, window) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calendar = icalendar.Calendar.from_ical(data)
        return len(recurring_ical_events.of(calendar).between(*window))


def ours(data: bytes, window) -> int:
    ctx = Context(timezone=ZoneInfo("Europe/Berlin"), window=window, now=window[0])
    return len(ics.parse(data, "https://example.org/cal.ics", ctx=ctx))


def one_year_window(data: bytes):
    match = _FIRST_START.search(data)
    year, month = (int(match.group(1)), int(match.group(2))) if match else (2026, 1)
    if not (1900 < year < 2100 and 1 <= month <= 12):
        year, month = 2026, 1
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, start + timedelta(days=365)


def corpus(shared: Path) -> list[tuple[bytes, tuple]]:
    files = sorted((shared / "corpus" / "ics-peers").rglob("*.ics")) + sorted((shared / "corpus" / "ics").glob("*.ics"))
    readable = []
    for path in files:
        data = path.read_bytes()
        window = one_year_window(data)
        try:
            naive(data, window)
            ours(data, window)
        except Exception:
            continue  # compare only files both sides read
        readable.append((data, window))
    return readable


def generated_feed(series: int = 300, single: int = 1200) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "X-WR-CALNAME:Bench"]
    lines += ["BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD", "DTSTART:19701025T030000",
              "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
              "BEGIN:DAYLIGHT", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
              "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT", "END:VTIMEZONE"]
    base = datetime(2026, 1, 5, 18, 0)
    for n in range(series + single):
        start = base + timedelta(days=n % 365, hours=n % 3)
        lines += ["BEGIN:VEVENT", f"UID:bench-{n}@example.org", "DTSTAMP:20251201T000000Z",
                  f"SUMMARY:Meetup number {n} about Python and data",
                  f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}",
                  f"DTEND;TZID=Europe/Berlin:{start + timedelta(hours=2):%Y%m%dT%H%M%S}",
                  "LOCATION:Venue hall\\, Main street 1\\, Berlin", "GEO:52.52;13.40",
                  f"URL:https://example.org/events/{n}",
                  "DESCRIPTION:Talks and pizza. " + "Bring a friend. " * 10]
        if n < series:
            lines.append("RRULE:FREQ=WEEKLY;COUNT=60" if n % 2 else "RRULE:FREQ=WEEKLY")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode()


def best(rounds: int, run, clock=time.perf_counter) -> float:
    times = []
    for _ in range(rounds):
        began = clock()
        run()
        times.append(clock() - began)
    return min(times)


FETCH_WINDOW = (datetime(2024, 12, 1, tzinfo=UTC), datetime(2027, 12, 1, tzinfo=UTC))
WIDE_WINDOW = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))


def large(path: Path, rounds: int, window) -> None:
    data = path.read_bytes()
    ours_s = best(rounds, lambda: ours(data, window), time.process_time)
    try:
        naive_s = best(rounds, lambda: naive(data, window), time.process_time)
        versus = f"naive {naive_s:.2f} CPU s, speed ratio naive/ours {naive_s / ours_s:.2f}x"
    except Exception as exc:  # large.ics: "DTSTAMP:19970901T1300Z" stops icalendar's whole parse
        versus = f"the naive reading cannot read it ({type(exc).__name__})"
    print(f"{path.name}: {data.count(b'BEGIN:VEVENT')} VEVENTs, {window[0].year}-{window[1].year} window, "
          f"{ours(data, window)} events: ours {ours_s:.2f} CPU s (target <= 1.5 s); {versus}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"),
                        help="../shared beside the repository (a worktree under /work/wt: pass /work/shared)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large", type=Path, help="libical's test-data/large.ics")
    parser.add_argument("--window", choices=("fetch", "wide"), default="fetch", help="for --large")
    args = parser.parse_args()
    if args.large:
        large(args.large, args.rounds, FETCH_WINDOW if args.window == "fetch" else WIDE_WINDOW)
        return
    shared = Path(args.shared)
    if (shared / "corpus" / "ics-peers").is_dir():
        files = corpus(shared)
        naive_s = best(args.rounds, lambda: [naive(d, w) for d, w in files])
        ours_s = best(args.rounds, lambda: [ours(d, w) for d, w in files])
        print(f"corpus: {len(files)} files, naive {naive_s:.2f} s, ours {ours_s:.2f} s, "
              f"speed ratio naive/ours {naive_s / ours_s:.2f}x (target >= 0.8)")
    else:
        print(f"corpus: skipped, no {shared}/corpus/ics-peers")
    feed = generated_feed()
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    naive_s = best(args.rounds, lambda: naive(feed, window))
    ours_s = best(args.rounds, lambda: ours(feed, window))
    print(f"generated: {len(feed) // 1024} KiB, 1,500 VEVENTs (300 series), one-year window, "
          f"{ours(feed, window)} occurrences: naive {naive_s:.2f} s, ours {ours_s:.2f} s (target <= 1.5 s), "
          f"speed ratio naive/ours {naive_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
