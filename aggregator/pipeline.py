"""One fetch run: every source collected in parallel, each stored in its own transaction.

A source that fails (network, HTTP status, a body of the wrong format, even a
bug in its plugin) records its error and keeps every stored event; the rest of
the run goes on. The run is recorded in fetch_runs.
"""

from __future__ import annotations

import heapq
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from urllib.parse import urlsplit

from aggregator import dedup
from aggregator.address_books import import_configured
from aggregator.backup import after_fetch
from aggregator.config import Settings
from aggregator.contacts import refresh_social
from aggregator.errors import SourceError
from aggregator.http import Http
from aggregator.locks import fetch_lock, lock_path
from aggregator.model import Event
from aggregator.normalise import normalise
from aggregator.personal import read_personal_calendars
from aggregator.ranking import HALF_LIFE_DAYS
from aggregator.registry import load_source
from aggregator.source import Context, SourceSpec
from aggregator.store import Store, event_id
from aggregator.store.http_cache import HttpCacheRepository
from aggregator.text import safe_text

MAX_WARNINGS = 20
MAX_EVENTS_PER_SOURCE = 20_000  # occurrences kept per source and run, nearest to now first


@dataclass
class SourceReport:
    name: str
    kind: str
    url: str
    error: str | None = None
    events: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    suspect: str | None = None  # why nothing was removed although events vanished
    shortfall: str | None = None  # why the kind read far fewer events than its input held
    full_snapshot: bool = False
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RunReport:
    run_id: int
    started: datetime
    finished: datetime | None = None
    sources: list[SourceReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # contacts imported, problems outside any one source
    problems: list[str] = field(default_factory=list)  # of those, the ones that make the run fail (exit 1)

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if not s.ok]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.problems else 0

    def total(self, attribute: str) -> int:
        return sum(getattr(s, attribute) for s in self.sources)


def fetch_window(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    return (now - timedelta(days=settings.fetch.history_days), now + timedelta(days=settings.fetch.horizon_days))


def run_fetch(
    settings: Settings,
    store: Store,
    *,
    sources: Sequence[str] = (),
    http: Http | None = None,
    now: Callable[[], datetime],
    on_start: Callable[[list[SourceSpec]], None] | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """Fetch all sources (or the named ones) once and store what they yield.

    `now` is the clock (the CLI's, which AGGREGATOR_NOW pins): nothing here reads another.
    """
    specs = [settings.source(name) for name in sources] if sources else list(settings.sources)
    started = now()
    with fetch_lock(lock_path(settings), started):
        report = RunReport(run_id=store.runs.start(started, len(specs)), started=started)
        notes, problems = import_configured(settings, store, started)
        report.notes += notes
        report.problems += problems
        own_http = http is None
        http = http or Http(settings.fetch, cache=HttpCacheRepository(store.database, now))
        if on_start:
            on_start(specs)
        try:
            profiles = _contact_profiles(store, specs)
            for source_report, events in _collect_by_host(specs, http, settings, started, profiles):
                _store(store, settings, source_report, events, now())
                report.sources.append(source_report)
                if on_done:
                    on_done(source_report)
            merge_duplicates(settings, store, now())
            # the same session's settings and hooks, without the validator cache: the http_cache table
            # would otherwise keep the secret address
            personal_http = Http(http.settings, backoff=http.backoff, sleep=http.sleep, clock=http.clock,
                                 resolver=http.resolver)
            try:
                if sources and settings.profile.calendars:  # `fetch --source`: only what was named
                    report.notes.append("your calendars: not read (only the named sources were fetched)")
                else:
                    when = now()
                    notes, problems = read_personal_calendars(settings, store, personal_http, when,
                                                              fetch_window(settings, when))
                    report.notes += notes
                    report.problems += problems
            finally:
                personal_http.close()
        finally:
            if own_http:
                http.close()
        refresh_social(store, now(), HALF_LIFE_DAYS, settings.timezone)
        report.finished = now()
        order = {spec.name: i for i, spec in enumerate(specs)}
        report.sources.sort(key=lambda s: order[s.name])
        store.runs.finish(
            report.run_id, now=report.finished, new=report.total("new"), updated=report.total("updated"),
            unchanged=report.total("unchanged"), removed=report.total("removed"), failed=len(report.failed),
            errors={s.name: s.error for s in report.failed},
        )
        after_fetch(settings, store, report)  # a checked copy of the database, or a check of it
    return report


def _contact_profiles(store: Store, specs: list[SourceSpec]) -> tuple[str, ...]:
    """The contacts' profile URLs, read (on this thread) only when a kind that reads contacts is configured."""
    def reads_contacts(kind: str) -> bool:
        try:
            return bool(getattr(load_source(kind), "reads_contacts", False))
        except Exception:  # a kind that cannot load fails its own source in _collect, with its message
            return False

    if not any(reads_contacts(spec.kind) for spec in specs):
        return ()
    return tuple(dict.fromkeys(url for contact in store.people.contacts() for url in contact.urls))


def _collect_by_host(specs: list[SourceSpec], http: Http, settings: Settings, now: datetime,
                     profiles: tuple[str, ...] = ()):
    """Yield (report, events) per source as each finishes.

    Sources are grouped by host: a worker takes a host and fetches its sources
    one after another (the host sees one request at a time), while up to
    `fetch.concurrency` hosts are fetched at once. Storing stays on this thread.
    """
    by_host: dict[str, list[SourceSpec]] = {}
    for spec in specs:
        by_host.setdefault(urlsplit(spec.url).netloc.lower() or spec.url, []).append(spec)
    results: queue.Queue = queue.Queue()

    def work(host_specs: list[SourceSpec]) -> None:
        for spec in host_specs:
            try:
                results.put(_collect(spec, http, settings, now, profiles))
            except BaseException as exc:  # never leave the consumer waiting
                report = SourceReport(name=spec.name, kind=spec.kind, url=spec.url, error=f"internal error: {exc!r}")
                results.put((report, []))

    workers = max(1, min(settings.fetch.concurrency, len(by_host)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="host") as pool:
        for host_specs in by_host.values():
            pool.submit(work, host_specs)
        for _ in specs:
            yield results.get()


def _collect(spec: SourceSpec, http: Http, settings: Settings, now: datetime,
             profiles: tuple[str, ...] = ()) -> tuple[SourceReport, list[Event]]:
    """Fetch and parse one source within its time budget (fetch.deadline covers both), each
    event normalised, at most MAX_EVENTS_PER_SOURCE kept (those nearest to now)."""
    report = SourceReport(name=spec.name, kind=spec.kind, url=spec.url)

    def warn(message: str) -> None:
        report.warning_count += 1
        if len(report.warnings) < MAX_WARNINGS:
            report.warnings.append(safe_text(message, one_line=True))

    began = time.monotonic()
    budget = settings.fetch.deadline
    ctx = Context(timezone=settings.timezone, window=fetch_window(settings, now), now=now, warn=warn,
                  deadline=began + budget)
    nearest = NearestEvents(MAX_EVENTS_PER_SOURCE, now, settings.timezone)
    dropped = 0
    try:
        source = load_source(spec.kind)
        if getattr(source, "reads_contacts", False):  # only a kind that reads contacts' public records sees them
            ctx.contact_profiles = profiles
        report.full_snapshot = bool(getattr(source, "full_snapshot", False))
        for event in source.collect(spec, http, ctx):
            ctx.check_deadline()
            kept = normalise(event, spec, ctx.warn)  # ctx.warn: a value outside evidence.py's tables
            if kept is None:
                dropped += 1
                continue
            nearest.add(kept)
        ctx.check_deadline()  # a kind that parsed everything before yielding is held to the budget too
    except SourceError as exc:
        over = time.monotonic() > ctx.deadline
        report.error = (f"took longer than {budget:g} s to fetch and parse (fetch.deadline); its stored events "
                        f"are kept" if over else str(exc))
    except Exception as exc:  # a bug in a plugin fails its source, not the run
        report.error = f"internal error in the {spec.kind!r} source: {exc.__class__.__name__}: {exc}"
    report.seconds = time.monotonic() - began
    if report.error:
        return report, []
    if dropped:
        warn(f"{dropped} events without a usable start date were skipped")
    if nearest.seen > nearest.limit:
        warn(f"{nearest.seen:,} occurrences; only the {nearest.limit:,} nearest to now were kept "
             f"(a series without an end?)")
    short = ctx.shortfall()  # the input held items the kind could not read: not healthy, though not failed
    if short:
        report.shortfall = short + (f" (first warning: {report.warnings[0]})" if report.warnings else "")
    events = nearest.events()
    report.events = len(events)
    return report, events


class NearestEvents:
    """The `limit` events starting nearest to `now`, in bounded memory (a heap of the kept ones).

    A 250-byte feed with an endless RRULE expands to half a million occurrences;
    the store keeps a bounded, useful part of them.
    """

    def __init__(self, limit: int, now: datetime, tz):
        self.limit, self.now, self.tz = limit, now, tz
        self.seen = 0
        self._heap: list[tuple[float, int, Event]] = []

    def add(self, event: Event) -> None:
        self.seen += 1
        item = (-self._distance(event), -self.seen, event)  # farthest on top; on ties the later one goes
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def _distance(self, event: Event) -> float:
        start = event.start
        if not isinstance(start, datetime):
            start = datetime.combine(start, dtime(0), tzinfo=self.tz)
        return abs((start - self.now).total_seconds())

    def events(self) -> list[Event]:
        """In the order the source gave them."""
        return [e for _, _, e in sorted(self._heap, key=lambda item: -item[1])]


def _store(store: Store, settings: Settings, report: SourceReport, events: list[Event], now: datetime) -> None:
    """The source's whole store step, one transaction: its events, their attendees, vanish
    marks and its health row land together, or (on any error) none of them do."""
    try:
        with store.database.transaction():
            if report.ok:
                _save(store, settings, report, events, now)
            _record(store, report, now)
    except Exception as exc:
        report.error = f"could not store its events: {exc}"
        report.new = report.updated = report.unchanged = report.removed = 0
        _record(store, report, now)


def _save(store: Store, settings: Settings, report: SourceReport, events: list[Event], now: datetime) -> None:
    counts = store.events.save(report.name, events, now=now, tz=settings.timezone)
    report.new, report.updated, report.unchanged = counts.new, counts.updated, counts.unchanged
    if report.full_snapshot:
        present = {event_id(report.name, e.source_uid) for e in events}
        until = now + timedelta(days=settings.fetch.horizon_days)
        report.removed, report.suspect = store.events.mark_vanished(report.name, present, now=now, until=until)
    if not events and report.warning_count and not report.shortfall:
        first = report.warnings[0] if report.warnings else ""
        report.suspect = (f"no events stored: every page it followed failed ({report.warning_count} "
                          f"warnings; first: {first})")
    report.suspect = "; ".join(filter(None, (report.shortfall, report.suspect))) or None


def _record(store: Store, report: SourceReport, now: datetime) -> None:
    store.runs.record_source(
        name=report.name, kind=report.kind, url=report.url, now=now, error=report.error,
        new=report.new, seen=report.events, warning=report.suspect,
    )


DEDUP_BACK = timedelta(days=2)


def merge_duplicates(settings: Settings, store: Store, now: datetime) -> int:
    """The cross-source merge over recent and upcoming events; returns rows changed."""
    start, end = now - DEDUP_BACK, now + timedelta(days=settings.fetch.horizon_days)
    priorities = {s.name: s.priority for s in settings.sources}
    listings = store.merges.candidates(start=start, end=end, priorities=priorities)
    return store.merges.apply_canonical(dedup.assignments(listings), start=start, end=end)


