"""What a capped series costs a whole `aggregator fetch`, against a calm feed fetched in the same run.

Each case is one small iCal file, read by the real CLI (`python -m aggregator fetch`, a fresh
store, the default fetch window: 730 days back, 365 ahead) in its own process; the bench
prints the wall time and the child's peak RSS, then both against the calm feed (3 single
events): time as a ratio, memory as the difference in MB.

    python bench/series_cost.py [--rounds 3] [--cases calm,minutely_from_now,...]

Targets (issue 19): an endless FREQ=MINUTELY series at most 3x the calm feed's time and
at most +60 MB. The endless series start now, a year ago, ten years ago; each keeps its
1,000 capped occurrences, those nearest to now (sources/ics_expand.py): the table says how many
of them are upcoming and when the next one starts. A counted series (COUNT=10,000,000) is
walked from just before the window too (its COUNT lowered by the periods skipped).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-12-01T12:00:00+00:00"


def feed(*vevents: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n" + "".join(vevents) + "END:VCALENDAR\r\n"


def vevent(uid: str, start: str, rule: str | None = None, title: str = "Python standup") -> str:
    lines = [f"UID:{uid}", "DTSTAMP:20261101T000000Z", f"SUMMARY:{title}", f"DTSTART:{start}",
             "DURATION:PT15M", "LOCATION:Hall\\, 1 Main St\\, Portland"]
    if rule:
        lines.append(f"RRULE:{rule}")
    return "BEGIN:VEVENT\r\n" + "\r\n".join(lines) + "\r\nEND:VEVENT\r\n"


CASES = {
    "calm": feed(vevent("a@x", "20261203T180000Z", title="Python night"),
                 vevent("b@x", "20261210T180000Z", title="Rust night"),
                 vevent("c@x", "20261217T180000Z", title="Data night")),
    "minutely_from_now": feed(vevent("tick@x", "20261201T000000Z", "FREQ=MINUTELY")),
    "minutely_from_last_year": feed(vevent("tick@x", "20251201T000000Z", "FREQ=MINUTELY")),
    "minutely_from_2016": feed(vevent("tick@x", "20160101T000000Z", "FREQ=MINUTELY")),
    "secondly_from_now": feed(vevent("tick@x", "20261201T000000Z", "FREQ=SECONDLY")),
    "hourly_by_minute_from_2016": feed(vevent("tick@x", "20160101T000000Z", "FREQ=HOURLY;BYMINUTE=0,20,40")),
    "hourly_from_3_years_ago": feed(vevent("office@x", "20231201T093000Z", "FREQ=HOURLY")),
    "twice_daily_from_2016": feed(vevent("standup@x", "20160104T090000Z", "FREQ=DAILY;BYHOUR=9,17")),
    "counted_minutely_from_2016": feed(vevent("tick@x", "20160101T000000Z", "FREQ=MINUTELY;COUNT=10000000")),
}


def run_case(name: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, what was stored) of one fetch; run in a fresh process
    (--child), so the largest child it has waited for is this fetch."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        (path / "feed.ics").write_text(CASES[name], encoding="utf-8")
        config = {"database": "events.db", "timezone": "America/Los_Angeles",
                  "sources": [{"name": "bench", "kind": "ics", "url": "feed.ics"}],
                  "fetch": {"per_host_delay": 0, "retries": 0}}
        (path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        env = {**os.environ, "AGGREGATOR_NOW": NOW}
        env.pop("AGGREGATOR_CONFIG", None)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "aggregator", "--config", "config.yaml", "fetch"],
                              cwd=path, env=env, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        note = stored(path / "events.db") if done.returncode == 0 else \
            f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1]}"
        return seconds, peak / 1024, note


def stored(database: Path) -> str:
    """How many events the fetch stored, how many of them upcoming, and the next one's start."""
    now = NOW.replace("+00:00", "Z")
    with sqlite3.connect(database) as db:
        total, upcoming, following = db.execute(
            "SELECT count(*), sum(start_utc >= ?), min(CASE WHEN start_utc >= ? THEN start_utc END) FROM events",
            (now, now)).fetchone()
    return f"{total} stored, {upcoming or 0} upcoming, next {following or '-'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one case in a fresh process, so RUSAGE_CHILDREN is this case's own peak
        seconds, rss, note = run_case(args.child)
        print(f"{seconds}\t{rss}\t{note}")
        return
    names = ["calm"] + [n for n in args.cases.split(",") if n != "calm"]
    results: dict[str, tuple[float, float, str]] = {}
    for name in names:
        runs = []
        for _ in range(args.rounds):
            out = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True,
                                 cwd=ROOT, timeout=1200)
            if out.returncode != 0:
                runs.append((float("nan"), float("nan"), (out.stderr.strip().splitlines() or ["?"])[-1]))
                break
            seconds, rss, note = out.stdout.strip().split("\t", 2)
            runs.append((float(seconds), float(rss), note))
        results[name] = (min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2])
    calm_s, calm_mb, _ = results["calm"]
    print(f"{'case':28} {'wall s':>7} {'x calm':>7} {'peak MB':>8} {'+MB calm':>9}  stored")
    for name, (seconds, rss, note) in results.items():
        print(f"{name:28} {seconds:>7.2f} {seconds / calm_s:>7.2f} {rss:>8.1f} {rss - calm_mb:>+9.1f}  {note[:72]}")
    print(f"best of {args.rounds}; targets for an endless series: x calm <= 3, +MB calm <= 60")


if __name__ == "__main__":
    main()
