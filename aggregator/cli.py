"""The `aggregator` command. Thin: parse options, call one core function, print.

Exit codes: 0 success; 1 the run finished but something failed; 2 bad usage
or invalid config. Warnings go to stderr; --json output goes alone to stdout.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from aggregator import config as config_module
from aggregator import rank
from aggregator.errors import AggregatorError
from aggregator.store import Store

# Commands import what only they need (HTTP, feeds, the scheduler) inside their
# bodies, so `upcoming` and friends start fast.

NOW_ENV = "AGGREGATOR_NOW"  # pins "now" (ISO 8601) for tests and reproducible demos


class App:
    """What every command needs: the settings, the store and the clock, loaded lazily."""

    def __init__(self, config_path: str | None, verbose: bool):
        self.config_path = config_path
        self.verbose = verbose
        self._settings = None
        self._store = None
        self.out = Console(soft_wrap=True, highlight=False)
        self.err = Console(stderr=True, highlight=False)

    @property
    def settings(self):
        if self._settings is None:
            self._settings = config_module.load(self.config_path)
            for warning in self._settings.warnings:
                self.err.print(f"warning: {warning}", markup=False)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.database)
        return self._store

    def now(self) -> datetime:
        pinned = os.environ.get(NOW_ENV)
        if pinned:
            try:
                moment = datetime.fromisoformat(pinned)
            except ValueError:
                raise click.UsageError(f"${NOW_ENV}={pinned!r} is not an ISO 8601 time") from None
            return moment if moment.tzinfo else moment.replace(tzinfo=self.settings.timezone)
        return datetime.now(timezone.utc)


def handle_errors(command):
    """User mistakes become one clear line and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        app: App = click.get_current_context().obj
        try:
            return command(*args, **kwargs)
        except AggregatorError as exc:
            app.err.print(f"error: {exc}", markup=False)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if app.verbose:
                traceback.print_exc()
            else:
                app.err.print(f"error: {exc.__class__.__name__}: {exc} (run with -v for details)", markup=False)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar="AGGREGATOR_CONFIG",
              help="Config file (default: $AGGREGATOR_CONFIG, else ./config.yaml).")
@click.option("-v", "--verbose", is_flag=True, help="Show every warning, and tracebacks of internal errors.")
@click.version_option(package_name="aggregator")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Find the meetups and professional events where your people will be.

    \b
    Example:
      aggregator fetch
      aggregator upcoming --days 14 --topic python
    """
    ctx.obj = App(config_path, verbose)


@main.command()
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Fetch only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON.")
@click.pass_obj
@handle_errors
def fetch(app: App, sources: tuple[str, ...], as_json: bool) -> None:
    """Fetch every source now and store its events.

    Prints a line per source; a source that fails keeps its stored events and
    makes the command exit 1.

    \b
    Example:
      aggregator fetch
      aggregator fetch --source pdx-python --source calagator
    """
    from aggregator import pipeline

    settings, store = app.settings, app.store
    show_progress = app.err.is_terminal and not as_json
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=app.err, transient=True, disable=not show_progress)
    task = None

    def on_start(specs):
        nonlocal task
        task = progress.add_task("fetching", total=len(specs))

    def on_done(report):
        progress.update(task, advance=1, description=f"fetched {report.name}")

    with progress:
        report = pipeline.run_fetch(settings, store, sources=sources, now=app.now,
                                    on_start=on_start, on_done=on_done)
    if as_json:
        click.echo(json.dumps(_run_json(report), indent=2))
    else:
        _print_run(app, report)
    sys.exit(report.exit_code)


def _run_json(report) -> dict:
    return {
        "run_id": report.run_id,
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat() if report.finished else None,
        "sources": [
            {"name": s.name, "kind": s.kind, "ok": s.ok, "error": s.error, "events": s.events, "new": s.new,
             "updated": s.updated, "unchanged": s.unchanged, "removed": s.removed, "suspect": s.suspect,
             "warnings": s.warning_count,
             "seconds": round(s.seconds, 3)}
            for s in report.sources
        ],
    }


def _print_run(app: App, report) -> None:
    width = max((len(s.name) for s in report.sources), default=0)
    for s in report.sources:
        if s.ok:
            removed = f", {s.removed} gone" if s.removed else ""
            app.out.print(f"ok      {s.name:<{width}}  {s.events} events ({s.new} new, {s.updated} updated{removed}) "
                          f"in {s.seconds:.1f}s", markup=False)
            if s.suspect:
                app.err.print(f"warning: {s.name}: {s.suspect}", markup=False)
        else:
            app.out.print(f"FAILED  {s.name:<{width}}  {s.error}", markup=False)
        shown = s.warnings if app.verbose else s.warnings[:3]
        for warning in shown:
            app.err.print(f"warning: {s.name}: {warning}", markup=False)
        if s.warning_count > len(shown):
            app.err.print(f"warning: {s.name}: {s.warning_count - len(shown)} more (run with -v to see them)",
                          markup=False)
    for note in report.notes:
        app.err.print(note, markup=False)
    failed = len(report.failed)
    app.out.print(
        f"{len(report.sources)} sources: {len(report.sources) - failed} ok, {failed} failed; "
        f"{report.total('new')} new and {report.total('updated')} updated events.", markup=False)


@main.command()
@click.option("--days", default=30, show_default=True, type=click.IntRange(1), help="How far ahead to look.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0), help="How many events; 0 means all.")
@click.option("--topic", metavar="T", help="Only events about this topic (a word or phrase).")
@click.option("--sort", type=click.Choice(["score", "start"]), default="score", show_default=True,
              help="Best first, or soonest first.")
@click.option("--include-cancelled", is_flag=True, help="Also list cancelled events.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (fields in the README) instead of a table.")
@click.pass_obj
@handle_errors
def upcoming(app: App, days: int, limit: int, topic: str | None, sort: str, include_cancelled: bool,
             as_json: bool) -> None:
    """Upcoming events, best first, with the reasons for each.

    \b
    Example:
      aggregator upcoming --days 7
      aggregator upcoming --topic "machine learning" --sort start --json
    """
    settings = app.settings
    items = rank.upcoming(app.store, settings, now=app.now(), days=days, limit=limit, topic=topic,
                          sort=sort, include_cancelled=include_cancelled)
    if as_json:
        click.echo(rank.dumps(items, settings.timezone))
        return
    if not items:
        hint = " Run `aggregator fetch` first." if app.store.event_count() == 0 else ""
        app.out.print(f"No upcoming events in the next {days} days{' about ' + topic if topic else ''}.{hint}",
                      markup=False)
        return
    if app.out.is_terminal:
        table = Table("when", "event", "where", "score", "why", "id", show_lines=False)
        table.columns[-1].no_wrap = True
        for item in items:
            data = rank.as_json(item, settings.timezone)
            table.add_row(_when(item, settings.timezone), _title(item), data["location"] or "",
                          f"{item.score:g}", "; ".join(item.reasons), short_id(item.id))
        app.out.print(table)
    else:
        for item in items:
            data = rank.as_json(item, settings.timezone)
            why = f"  ({'; '.join(item.reasons)})" if item.reasons else ""
            where = f" @ {data['location']}" if data["location"] else ""
            app.out.print(f"{_when(item, settings.timezone)}  {_title(item)}{where}  score {item.score:g}"
                          f"{why}  [{short_id(item.id)}]", markup=False)


def short_id(event_id: str) -> str:
    """Ten characters: enough to be unique, and accepted by why/attended as a prefix."""
    return event_id[:10]


def _when(item: rank.Ranked, tz) -> str:
    start = rank.local_time(item.event.start, item.event.timezone, tz)
    if item.event.all_day:
        return start.strftime("%a %Y-%m-%d (all day)")
    return start.strftime("%a %Y-%m-%d %H:%M")


def _title(item: rank.Ranked) -> str:
    title = item.event.title
    if item.event.group and item.event.group.lower() not in title.lower():
        title = f"{title} [{item.event.group}]"
    return ("CANCELLED: " + title) if item.event.status == "cancelled" else title


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.pass_obj
@handle_errors
def sources_command(app: App, as_json: bool) -> None:
    """Each source's health: last run, last success, events stored, last error.

    \b
    Example:
      aggregator sources
      aggregator sources --json
    """
    from aggregator import pipeline

    health = pipeline.source_health(app.settings, app.store, app.now())
    if as_json:
        click.echo(json.dumps(health, indent=2))
        return
    if app.out.is_terminal:
        table = Table("name", "kind", "state", "last ok", "events", "upcoming", "problem")
        for h in health:
            table.add_row(h["name"], h["kind"], _state(h), h["last_ok_at"] or "never", str(h["events"]),
                          str(h["upcoming"]), h["last_error"] or h["warning"] or "")
        app.out.print(table)
    else:
        for h in health:
            problem = h["last_error"] or h["warning"]
            app.out.print(f"{h['name']}  {h['kind']}  {h['events']} events, {h['upcoming']} upcoming; "
                          f"last ok {h['last_ok_at'] or 'never'}; {_state(h)}"
                          + (f" ({problem})" if problem else ""), markup=False)


def _state(health: dict) -> str:
    if health["last_error"]:
        return f"FAILED x{health['consecutive_failures']}" if health["consecutive_failures"] > 1 else "FAILED"
    if not health["last_ok_at"]:
        return "never fetched"
    if health["stale"]:
        return "stale: nothing new for 30 days"
    return "suspect" if health["warning"] else "ok"


@main.command()
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print the breakdown as JSON.")
@click.pass_obj
@handle_errors
def why(app: App, event_id: str, as_json: bool) -> None:
    """Explain one event's score: topics, who is likely there and why, distance.

    EVENT_ID is the id shown by `upcoming` (a unique prefix is enough).

    \b
    Example:
      aggregator why 3f2a9c1e
    """
    row = app.store.find_event(event_id)
    detail = rank.explain(app.store, app.settings, row, now=app.now())
    if as_json:
        click.echo(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    say = lambda text: app.out.print(text, markup=False)  # noqa: E731
    say(f"{detail['title']}  [{detail['id']}]")
    say(f"score {detail['score']:g} = {detail.get('formula', '')}")
    if detail.get("dropped"):
        say(detail["reasons"][0])
        return
    topic = detail["topic_part"]
    matched = ", ".join(f"{t} (weight {w:g})" for t, w in topic["topics"].items()) or "no profile topic"
    say(f"  topic part     {topic['value']:g}  = base {topic['base']:g} + {matched}")
    social = detail["social_part"]
    say(f"  social part    {social['value']:g}  = 1 + sum of weight x probability")
    for c in social["contacts"]:
        recent = f"; came to {c['recent']['attended']} of the group's last {c['recent']['of']}" if c["recent"]["of"] else ""
        late = "; overdue for a catch-up" if c["overdue"] else ""
        say(f"      {c['name']}: {c['probability']:.0%} ({c['evidence']}), weight {c['weight']:g}{recent}{late}")
    distance = detail["distance_factor"]
    where = (f"{distance['km_from_home']:g} km from home" if distance["km_from_home"] is not None
             else "online" if distance["online"]
             else "no profile.home set" if app.settings.profile.home is None else "the event gives no coordinates")
    say(f"  distance       {distance['value']:g}  ({where})")
    for reason in detail["reasons"]:
        say(f"  - {reason}")


@main.group()
def contacts() -> None:
    """Your contacts: import exports, list them with how often they were seen at events.

    \b
    Example:
      aggregator contacts import ~/Downloads/Connections.csv
      aggregator contacts list --json
    """


@contacts.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["auto", "linkedin", "google", "vcard"]), default="auto",
              show_default=True, help="The export's format; auto looks at the file.")
@click.pass_obj
@handle_errors
def contacts_import(app: App, path: str, fmt: str) -> None:
    """Import or update contacts from a LinkedIn, Google Contacts or vCard export.

    Importing again updates contacts (matched by profile URL, email or name)
    and never duplicates them. Contacts never leave this machine.

    \b
    Example:
      aggregator contacts import Connections.csv
      aggregator contacts import contacts.vcf --format vcard
    """
    from aggregator import contacts as contacts_module

    now = app.now()
    report = contacts_module.import_file(app.store, Path(path), fmt, now=now)
    contacts_module.refresh_social(app.store, now, rank.HALF_LIFE_DAYS)
    app.out.print(f"{report.path} ({report.format}): {report.added} added, {report.updated} updated, "
                  f"{report.unchanged} unchanged", markup=False)


@contacts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
@handle_errors
def contacts_list(app: App, as_json: bool) -> None:
    """List contacts with the number of events they were seen at.

    \b
    Example:
      aggregator contacts list
    """
    from aggregator import journal

    rows = journal.contact_list(app.store)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        app.out.print("No contacts yet: aggregator contacts import PATH", markup=False)
        return
    for r in sorted(rows, key=lambda r: (-r["events_matched"], r["name"])):
        company = f" ({r['company']})" if r["company"] else ""
        app.out.print(f"{r['id']:>5}  {r['name']}{company}  seen at {r['events_matched']} events; "
                      f"last catch-up {r['last_contacted'] or 'never logged'}", markup=False)


@main.command()
@click.argument("event_id")
@click.option("--with", "names", multiple=True, metavar="NAME", help="Someone you met there (repeatable).")
@click.pass_obj
@handle_errors
def attended(app: App, event_id: str, names: tuple[str, ...]) -> None:
    """Log that you went to an event, and whom you met there.

    Whom you met counts as a catch-up with them and as evidence of where they go.

    \b
    Example:
      aggregator attended 3f2a9c1e --with "Dana Lee" --with "Sam Ortiz"
    """
    from aggregator import journal

    result = journal.log_attended(app.store, app.settings, event_id, list(names), now=app.now())
    met = f"; met {', '.join(result['met'])}" if result["met"] else ""
    app.out.print(f"logged: you went to {result['event']['title']}{met}", markup=False)


@main.command()
@click.argument("name")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), help="When (default: today).")
@click.pass_obj
@handle_errors
def touched(app: App, name: str, on: datetime | None) -> None:
    """Log a catch-up with a contact (a coffee, a call, a message).

    \b
    Example:
      aggregator touched "Sam Ortiz"
      aggregator touched "Dana Lee" --on 2026-11-02
    """
    from aggregator import journal

    result = journal.log_touch(app.store, app.settings, name, on=on.date() if on else None, now=app.now())
    app.out.print(f"logged: caught up with {result['name']} on {result['on']}", markup=False)


@main.command()
@click.option("--days", default=60, show_default=True, type=click.IntRange(1),
              help="How far ahead to look for events.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0), help="How many contacts; 0 means all.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
@handle_errors
def reconnect(app: App, days: int, limit: int, as_json: bool) -> None:
    """Contacts overdue for a catch-up, with the upcoming events where they are likely to be.

    \b
    Example:
      aggregator reconnect
      aggregator reconnect --days 30 --json
    """
    from aggregator import journal

    entries = journal.reconnect(app.store, app.settings, now=app.now(), days=days)
    entries = entries[:limit] if limit else entries
    if as_json:
        click.echo(json.dumps(journal.reconnect_json(entries), indent=2, ensure_ascii=False))
        return
    if not entries:
        app.out.print("Nobody is overdue for a catch-up.", markup=False)
        return
    for entry in entries:
        app.out.print(f"{entry.contact['name']}: {journal.describe_overdue(entry)}", markup=False)
        for e in entry.events[:3]:
            app.out.print(f"    likely at {e['title']} ({e['start'][:16].replace('T', ' ')}, "
                          f"{e['probability']:.0%} {e['evidence']})  [{short_id(e['id'])}]", markup=False)


@main.command("feed")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here instead of stdout.")
@click.option("--topic", metavar="T", help="Only events about this topic.")
@click.pass_obj
@handle_errors
def feed_command(app: App, output: str | None, topic: str | None) -> None:
    """Write the ranked iCal feed (RFC 5545) to a file or stdout.

    \b
    Example:
      aggregator feed -o ~/public/events.ics
      aggregator feed --topic rust > rust.ics
    """
    from aggregator import feed as feed_module

    built = feed_module.build(app.store, app.settings, now=app.now(), topic=topic)
    if built.dropped:
        app.err.print(f"warning: {built.dropped} lower-ranked events left out to keep the feed under "
                      f"{feed_module.MAX_FEED_BYTES:,} bytes; raise feed.min_score or lower feed.limit_per_week",
                      markup=False)
    if output:
        Path(output).write_bytes(built.body)
        app.err.print(f"wrote {built.events} events ({len(built.body):,} bytes) to {output}", markup=False)
    else:
        sys.stdout.buffer.write(built.body)
        sys.stdout.flush()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--schedule", "with_schedule", is_flag=True, help="Also run the nightly fetch in this process.")
@click.pass_obj
@handle_errors
def serve(app: App, host: str, port: int, with_schedule: bool) -> None:
    """Serve the feed and a page of ranked events over HTTP until stopped.

    GET /feed.ics is the ranked feed, /feed.ics?topic=T one topic's, / a page
    with a subscribe link. With feed.token set, every path needs ?token=.

    \b
    Example:
      aggregator serve --schedule
      aggregator serve --host 0.0.0.0 --port 8080
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    from aggregator.scheduler import NightlyJob
    from aggregator.server import FeedService, make_server

    settings = app.settings
    service = FeedService(settings, app.store, now=app.now)
    try:
        httpd = make_server(service, host, port)
    except OSError as exc:
        raise AggregatorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_port = httpd.server_address[1]
    token = f"?token={settings.feed.token}" if settings.feed.token else ""
    say = _sayer(app)
    say(f"Serving on http://{host}:{bound_port}/")
    say(f"Subscribe: webcal://{host}:{bound_port}/feed.ics{token}")
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.feed.token:
        app.err.print("warning: listening beyond this machine with no feed.token: anyone who can reach it "
                      "sees your contacts' names in the feed", markup=False)
    threading.Thread(target=httpd.serve_forever, name="http", daemon=True).start()
    scheduler = None
    if with_schedule:
        scheduler = BackgroundScheduler(timezone=settings.timezone)
        job = NightlyJob(settings, on_done=lambda report: service.invalidate(), now=app.now, say=say)
        _start_schedule(scheduler, settings, job, app, say)
    stop = threading.Event()
    _on_signals(lambda: stop.set())
    while not stop.wait(0.5):
        pass
    httpd.shutdown()
    httpd.server_close()
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    say("stopped")
    _exit_soon()


@main.command("schedule")
@click.pass_obj
@handle_errors
def schedule_command(app: App) -> None:
    """Run the nightly fetch in the foreground until stopped (Ctrl-C or SIGTERM).

    Runs at schedule.cron in the config's time zone, and at once when the last
    good run is older than one period (the machine slept through it).

    \b
    Example:
      aggregator schedule
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    from aggregator.scheduler import NightlyJob

    settings = app.settings
    say = _sayer(app)
    scheduler = BlockingScheduler(timezone=settings.timezone)
    job = NightlyJob(settings, now=app.now, say=say)
    _start_schedule(scheduler, settings, job, app, say, blocking=True)
    say("stopped")
    _exit_soon()


def _sayer(app: App):
    def say(message: str) -> None:
        app.out.print(message, markup=False)
        sys.stdout.flush()

    return say


def _start_schedule(scheduler, settings, job, app: App, say, blocking: bool = False) -> None:
    from aggregator import scheduler as scheduler_module

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    catch_up = scheduler_module.configure(scheduler, settings, job, now=datetime.now(timezone.utc))
    trigger = scheduler_module.cron_trigger(settings)
    upcoming_run = trigger.get_next_fire_time(None, datetime.now(settings.timezone))
    say(f"Nightly fetch at '{settings.schedule.cron}' ({settings.timezone.key}); next {upcoming_run:%Y-%m-%d %H:%M}"
        + ("; catching up now (the last good run is older than one period)" if catch_up else ""))
    if blocking:
        _on_signals(lambda: scheduler.shutdown(wait=False))
    scheduler.start()


def _on_signals(stop) -> None:
    def handler(signum, frame):
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _exit_soon(grace: float = 3.0) -> None:
    """Exit now, giving a running fetch a few seconds: each source is its own transaction."""
    deadline = time.monotonic() + grace
    busy = lambda: [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]  # noqa
    while busy() and time.monotonic() < deadline:
        time.sleep(0.1)
    sys.stdout.flush()
    sys.stderr.flush()
    if busy():
        os._exit(0)


if __name__ == "__main__":
    main()
