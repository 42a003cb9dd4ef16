"""Every kind over ../shared/corpus/real-sources: per file, the events we read vs what the file
holds, the latter read independently of our parsers.

    python bench/real_sources.py [--shared ../shared] [--list]

- iCal (`community-calendar/`: the `ics` kind, and the feed half of `meetup`): our occurrence
  starts vs icalendar + recurring-ical-events (X-WR-TIMEZONE applied, as bench/ics_peers.py
  reads) inside the fetch window the files were fetched in (2026-08-22: `history_days` 730 back,
  `horizon_days` 365 ahead, the defaults). A file the reference refuses is read again with its
  known-invalid lines taken out (Tockify's `REFRESH-INTERVAL:P15M`, a leading blank line).
- schedules (`fosdem/`, the `schedule` kind): the file's `<event>` elements, each at its day's
  date + `<start>` in Europe/Brussels (2025: the event's own `<date>`, which carries its offset).
- Sessionize (`sessionize/`): the sessions that are not service sessions and have a `startsAt`,
  read in Europe/Vienna (the `timezone:` option a user sets for it).
- pages (`extruct-songkick/`, the `jsonld` kind; `eventbrite` shares its reader): the Event
  objects of extruct's golden extraction beside each page and their `startDate`.

One line per file: kind, file, held, read, and how many of the held starts we read at the same
instant (a date for a date, a wall time for a time without offset). Then a summary per kind.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.errors import SourceError  # noqa: E402
from aggregator.source import Context  # noqa: E402
from bench import ics_peers  # noqa: E402
from sources import ics, jsonld, schedule, sessionize  # noqa: E402

UTC = timezone.utc
FETCHED = datetime(2026, 8, 22, 2, 16, tzinfo=UTC)  # the community-calendar files' DTSTAMP
WINDOW = (FETCHED - timedelta(days=730), FETCHED + timedelta(days=365))
BRUSSELS, VIENNA = ZoneInfo("Europe/Brussels"), ZoneInfo("Europe/Vienna")


@dataclass
class Row:
    kind: str
    file: str
    held: int
    read: int
    matched: int  # held starts found among ours at the same instant
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.held == self.read == self.matched


def context(zone: ZoneInfo = UTC, warnings: list | None = None) -> Context:
    sink = warnings if warnings is not None else []
    return Context(timezone=zone, window=WINDOW, now=FETCHED, warn=sink.append)


def key(value) -> str:
    """A start as compared: UTC for an aware time, the wall clock for a naive one, the date for a date."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return "wall " + value.strftime("%Y-%m-%dT%H:%M")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    return value.isoformat() if isinstance(value, date) else repr(value)


def our_keys(events) -> Counter:
    """Each of our starts under every key a held start might be written with."""
    keys = Counter()
    for event in events:
        keys[key(event.start)] += 1
        if isinstance(event.start, datetime):
            keys[key(event.start.replace(tzinfo=None))] += 1
    return keys


def matched(held: Counter, ours: Counter) -> int:
    return sum((held & ours).values())


# -- iCal ------------------------------------------------------------------------------------
def lenient(data: bytes) -> bytes:
    """The file without the lines icalendar refuses though every calendar app skips them."""
    data = data.lstrip()
    return re.sub(rb"(?m)^REFRESH-INTERVAL[^\r\n]*\r?\n", b"", data)


def ical_reference(data: bytes) -> tuple[Counter | None, str]:
    saved = ics_peers.WINDOW
    ics_peers.WINDOW = WINDOW  # the reading of bench/ics_peers.py, in this bench's window
    try:
        found = ics_peers.reference(data)
        if found is not None:
            return found, ""
        found = ics_peers.reference(lenient(data))
        return found, "reference read it without its REFRESH-INTERVAL / leading blank line" if found is not None \
            else "reference cannot read it"
    finally:
        ics_peers.WINDOW = saved


def ical_rows(root: Path, paths: list[Path] | None = None):
    for path in paths if paths is not None else sorted((root / "community-calendar").rglob("*.ics")):
        data = path.read_bytes()
        name = str(path.relative_to(root))
        kind = "meetup (feed)" if path.name.startswith("meetup_") else "ics"
        try:
            events = ics.parse(data, "https://example.org/cal.ics", ctx=context())
        except SourceError as exc:
            yield Row(kind, name, -1, 0, 0, f"refused: {exc}")
            continue
        expected, note = ical_reference(data)
        ours = Counter(ics_peers.instant(e.start) for e in events)
        if expected is None:
            yield Row(kind, name, -1, len(events), 0, note)
            continue
        yield Row(kind, name, sum(expected.values()), len(events), matched(expected, ours), note)


# -- schedules -------------------------------------------------------------------------------
def fosdem_held(data: bytes) -> Counter:
    """Each <event>'s start, from the file alone."""
    root = etree.fromstring(data)
    starts = Counter()
    for day in root.iter("day"):
        for event in day.iter("event"):
            own = event.findtext("date")
            if own:
                starts[key(datetime.fromisoformat(own))] += 1
                continue
            hour, minute = map(int, event.findtext("start").split(":")[:2])
            wall = datetime.combine(date.fromisoformat(day.get("date")), datetime.min.time()).replace(
                hour=hour, minute=minute)
            starts[key(wall.replace(tzinfo=BRUSSELS))] += 1
    return starts


def schedule_rows(root: Path, paths: list[Path] | None = None):
    for path in paths if paths is not None else sorted((root / "fosdem").glob("*.xml")):
        data = path.read_bytes()
        warnings: list[str] = []
        events = schedule.parse(data, "https://fosdem.org/schedule/xml", ctx=context(ZoneInfo("America/Los_Angeles"),
                                                                                     warnings))
        held = fosdem_held(data)
        note = f"{len(warnings)} warnings, first: {warnings[0]}" if warnings else ""
        yield Row("schedule", str(path.relative_to(root)), sum(held.values()), len(events),
                  matched(held, our_keys(events)), note)


def sessionize_rows(root: Path):
    for path in sorted((root / "sessionize").glob("*.json")):
        data = path.read_bytes()
        sessions = json.loads(data)["sessions"]
        held = Counter(key(datetime.fromisoformat(s["startsAt"]).replace(tzinfo=VIENNA)) for s in sessions
                       if not s.get("isServiceSession") and s.get("startsAt"))
        events = sessionize.parse(data, "", ctx=context(), timezone="Europe/Vienna")
        yield Row("sessionize", str(path.relative_to(root)), sum(held.values()), len(events),
                  matched(held, our_keys(events)))


# -- pages -----------------------------------------------------------------------------------
def golden_events(node, found: list) -> list:
    """Every dict typed as some kind of Event in an extruct extraction, at any depth."""
    if isinstance(node, list):
        for item in node:
            golden_events(item, found)
    elif isinstance(node, dict):
        types = node.get("@type") or node.get("type") or []
        if any(isinstance(t, str) and t.rsplit("/", 1)[-1].endswith("Event") for t in
               (types if isinstance(types, list) else [types])):
            found.append(node)
        for value in node.values():
            golden_events(value, found)
    return found


def golden_start(value: str):
    value = value.strip()
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)


def page_rows(root: Path, paths: list[Path] | None = None):
    for page in paths if paths is not None else sorted((root / "extruct-songkick").glob("*.html")):
        golden = next((p for p in (page.with_suffix(".jsonld"), page.with_suffix(".json")) if p.exists()), None)
        if golden is None:
            continue
        extraction = json.loads(golden.read_text(encoding="utf-8"))
        if isinstance(extraction, dict):  # {"items": [...]} or every syntax: {"json-ld": [...], "microdata": ...}
            extraction = extraction.get("items", extraction.get("json-ld", []))
        held_events = golden_events(extraction, [])
        held = Counter(key(golden_start(e["startDate"])) for e in held_events if isinstance(e.get("startDate"), str))
        events = jsonld.parse(page.read_bytes(), "https://www.songkick.com/", ctx=context())
        yield Row("jsonld", str(page.relative_to(root)), len(held_events), len(events),
                  matched(held, our_keys(events)))


def rows(root: Path, *, ical: bool = True):
    yield from schedule_rows(root)
    yield from sessionize_rows(root)
    yield from page_rows(root)
    if ical:
        yield from ical_rows(root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"))
    parser.add_argument("--list", action="store_true", help="every file, not only those that differ")
    args = parser.parse_args()
    root = Path(args.shared) / "corpus" / "real-sources"
    if not root.is_dir():
        sys.exit(f"no corpus at {root}")
    totals: dict[str, Counter] = {}
    print(f"{'kind':<14} {'held':>6} {'read':>6} {'same start':>10}  file")
    for row in rows(root):
        total = totals.setdefault(row.kind, Counter())
        total["files"] += 1
        total["held"] += max(row.held, 0)
        total["read"] += row.read
        total["matched"] += row.matched
        total["differ"] += not row.ok
        if args.list or not row.ok:
            print(f"{row.kind:<14} {row.held:>6} {row.read:>6} {row.matched:>10}  {row.file}"
                  + (f"  ({row.note})" if row.note else ""))
    print()
    print(f"{'kind':<14} {'files':>5} {'held':>7} {'read':>7} {'same start':>10} {'differ':>6}")
    for kind, total in totals.items():
        print(f"{kind:<14} {total['files']:>5} {total['held']:>7} {total['read']:>7} {total['matched']:>10} "
              f"{total['differ']:>6}")


if __name__ == "__main__":
    main()
