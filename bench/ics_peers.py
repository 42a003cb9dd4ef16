"""How the ics kind reads other calendar projects' test calendars, against the reference
reading (icalendar + recurring-ical-events, X-WR-TIMEZONE applied as Google's clients do),
and whether a file's result depends on the feed read before it in the same process.

    python bench/ics_peers.py [--shared ../shared] [--list]

Prints: files read / refused (SourceError) / crashed (escaping exception) / mismatching the
reference / order-dependent. The window is wide (1990-2040) so RFC examples count; both
the reference keeps the SERIES_CAP occurrences of each UID nearest to NOW, as the ics kind does by design,
and, like the ics kind, every single event that starts after the window (issue 20).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from icalendar.timezone import tzp

try:  # applies X-WR-TIMEZONE as Google's clients do; optional (a test dependency, not the app's)
    import x_wr_timezone
except ImportError:  # pragma: no cover - then calendars with X-WR-TIMEZONE have no reference
    x_wr_timezone = None

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.errors import SourceError  # noqa: E402
from aggregator.source import Context  # noqa: E402
from sources import ics, ics_expand  # noqa: E402

UTC = timezone.utc
WINDOW = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FAR = datetime(9000, 1, 1, tzinfo=UTC)


def corpus_files(shared: Path) -> list[Path]:
    files = sorted((shared / "corpus" / "ics-peers").rglob("*.ics"))
    files += sorted((shared / "corpus" / "ics").glob("*.ics"))
    return files


def instant(value) -> str:
    """A comparable key for an occurrence start: UTC for times (floating read as UTC), else the date."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


def ours(data: bytes) -> Counter:
    """Our occurrence starts; raises SourceError when the source refuses the file."""
    ctx = Context(timezone=ZoneInfo("UTC"), window=WINDOW, now=NOW)
    return Counter(instant(e.start) for e in ics.parse(data, "https://example.org/cal.ics", ctx=ctx))


def reference(data: bytes, standardize: bool = True) -> Counter | None:
    """icalendar + recurring-ical-events (X-WR-TIMEZONE applied unless `standardize` is
    False); None where they cannot read it."""
    if standardize and x_wr_timezone is None and b"X-WR-TIMEZONE" in data.upper():
        return None
    tzp.use_zoneinfo()  # the reference reads each file alone too
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calendar = icalendar.Calendar.from_ical(data)
            if standardize and x_wr_timezone is not None:
                calendar = x_wr_timezone.to_standard(calendar)
            found = sorted(recurring_ical_events.of(calendar).between(*WINDOW) + singles_beyond(calendar),
                           key=lambda c: ics_expand._sort_key(c.get("DTSTART").dt))
            per_series: dict[tuple[str, str], list] = {}
            for component in found:
                start = component.get("DTSTART")
                if start is None:
                    continue
                uid = component.get("UID")
                series = (str(uid), "") if uid else ("", str(component.get("SUMMARY")))  # files without UIDs
                per_series.setdefault(series, []).append(start.dt)
            # Our cap is deliberate (see sources/ics_expand.py): compare what it keeps of each series.
            return Counter(instant(dt) for starts in per_series.values() for dt in nearest(starts))
    except Exception:
        return None


def nearest(starts: list) -> list:
    """What the ics kind keeps of a series' sorted starts: all, or the SERIES_CAP nearest to NOW,
    upcoming first (the most recent past for 1 in PAST_SHARE of the cap, more when fewer are upcoming)."""
    cap = ics_expand.SERIES_CAP
    if len(starts) <= cap:
        return starts
    past = [dt for dt in starts if ics_expand._sort_key(dt) < NOW]
    upcoming = starts[len(past):]
    behind = min(len(past), max(cap // ics_expand.PAST_SHARE, cap - len(upcoming)))
    return past[len(past) - behind:] + upcoming[:cap - behind]


def singles_beyond(calendar) -> list:
    """Single events starting at or after the window's end: the window bounds the expansion of
    series only, and the ics kind keeps a single event however far ahead (issue 20)."""
    events = calendar.walk("VEVENT")
    copies = Counter(str(c.get("UID")) for c in events)
    found = []
    for component in events:
        if copies[str(component.get("UID"))] > 1 or not ics_expand.is_single([component]):
            continue
        for occurrence in recurring_ical_events.of(_alone(component)).between(WINDOW[1], FAR):
            if ics_expand._sort_key(occurrence.get("DTSTART").dt) >= WINDOW[1]:
                found.append(occurrence)
    return found


def _alone(component):
    calendar = icalendar.Calendar()
    calendar.add_component(component)
    return calendar


def poison_for(data: bytes) -> bytes | None:
    """A feed defining every custom TZID of `data` with other rules (UTC+05:37), or None."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception:
        return None
    tzids = sorted({str(tz.get("TZID")) for tz in calendar.walk("VTIMEZONE") if tz.get("TZID")})
    if not tzids:
        return None
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//poison//EN"]
    for n, tzid in enumerate(tzids):
        quoted = f'"{tzid}"' if any(c in tzid for c in ",;:") else tzid
        lines += ["BEGIN:VTIMEZONE", f"TZID:{tzid}", "BEGIN:STANDARD", "DTSTART:19700101T000000",
                  "TZOFFSETFROM:+0537", "TZOFFSETTO:+0537", "END:STANDARD", "END:VTIMEZONE",
                  "BEGIN:VEVENT", f"UID:poison-{n}", f"DTSTART;TZID={quoted}:20260101T100000",
                  "SUMMARY:poison", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode()


def outcome(data: bytes) -> tuple[str, Counter | None]:
    try:
        return "read", ours(data)
    except SourceError:
        return "refused", None
    except Exception as exc:  # an escaping exception is a bug
        return f"crashed: {exc.__class__.__name__}: {str(exc)[:80]}", None


def run(shared: Path, show: bool) -> dict[str, int]:
    counts = Counter()
    for path in corpus_files(shared):
        data = path.read_bytes()
        name = path.relative_to(shared / "corpus")
        tzp.use_zoneinfo()  # empty icalendar's per-process zone cache: the file read alone
        state, alone = outcome(data)
        counts["files"] += 1
        counts[state.split(":")[0]] += 1
        if state.startswith("crashed") and show:
            print(f"CRASH {name}: {state}")
        poison = poison_for(data)
        if poison is not None and state == "read":
            tzp.use_zoneinfo()
            outcome(poison)
            _, after = outcome(data)
            if after != alone:
                counts["order-dependent"] += 1
                if show:
                    print(f"ORDER {name}")
        if state != "read":
            if show and state == "refused":
                print(f"REFUSED {name}")
            continue
        expected = reference(data)
        if expected is None:
            counts["reference cannot read"] += 1
            continue
        if expected != alone:
            counts["mismatching"] += 1
            if show:
                missing = expected - alone
                extra = alone - expected
                print(f"MISMATCH {name}: missing {sum(missing.values())} {list(missing)[:3]}"
                      f" extra {sum(extra.values())} {list(extra)[:3]}")
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"))
    parser.add_argument("--list", action="store_true", help="name each refused, crashed, mismatching file")
    args = parser.parse_args()
    shared = Path(args.shared)
    if not (shared / "corpus" / "ics-peers").is_dir():
        sys.exit(f"no corpus at {shared}/corpus/ics-peers")
    counts = run(shared, args.list)
    for key in ("files", "read", "refused", "crashed", "reference cannot read", "mismatching", "order-dependent"):
        print(f"{key:>22}: {counts.get(key, 0)}")


if __name__ == "__main__":
    main()
