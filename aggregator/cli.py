"""The `aggregator` command. Thin: parse options, call one core function, print.

Exit codes: 0 success; 1 the run finished but something failed; 2 bad usage
or invalid config. Warnings go to stderr; --json output goes alone to stdout.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime
from pathlib import Path

import click

from aggregator.cliapp import App, clock, handle_errors
from aggregator.errors import AggregatorError
from aggregator.text import safe_text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar="AGGREGATOR_CONFIG",
              help="Config file (default: $AGGREGATOR_CONFIG, else ./config.yaml, "
                   "else $XDG_CONFIG_HOME/aggregator/config.yaml).")
@click.option("-v", "--verbose", is_flag=True, help="Show every warning, and tracebacks of internal errors.")
@click.version_option(package_name="aggregator")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Find the meetups and professional events where your people will be.

    \b
    Example:
      aggregator init
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
    from aggregator import agenda, fetch_report, pipeline

    settings, store = app.settings, app.store
    for name in sources:
        settings.source(name)  # an unknown name is bad usage (exit 2), before anything is fetched
    progress = fetch_report.FetchProgress(app.err, enabled=app.err.is_terminal and not as_json)
    with progress:
        report = pipeline.run_fetch(settings, store, sources=sources, now=app.now,
                                    on_start=progress.start, on_done=progress.done)
    if as_json:
        click.echo(json.dumps(fetch_report.run_json(report), indent=2))
    else:
        fetch_report.print_run(app.out, app.err, report, verbose=app.verbose)
        if not settings.sources:  # "0 sources: 0 ok" said nothing of what to do
            app.out.print(agenda.no_sources(str(settings.path)), markup=False)
    sys.exit(report.exit_code)


@main.command()
@click.option("--days", default=30, show_default=True, type=click.IntRange(1), help="How far ahead to look.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0), help="How many events; 0 means all.")
@click.option("--topic", metavar="T", help="Only events about this topic (a word or phrase).")
@click.option("--sort", type=click.Choice(["score", "start"]), default="score", show_default=True,
              help="Best first, or soonest first.")
@click.option("--include-cancelled", is_flag=True, help="Also list cancelled events.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (fields in the README) instead of the agenda.")
@click.pass_obj
@handle_errors
def upcoming(app: App, days: int, limit: int, topic: str | None, sort: str, include_cancelled: bool,
             as_json: bool) -> None:
    """Upcoming events, best first, with the reasons for each.

    On a terminal: an agenda by day, two lines an event (time, title, group,
    place, a rating against the listing's best, the short id; then topics and
    likely people). Piped: one line an event, best first. --json: every field.

    \b
    Example:
      aggregator upcoming --days 7
      aggregator upcoming --topic "machine learning" --sort start --json
    """
    from aggregator import ranking

    settings = app.settings
    items = ranking.upcoming(app.store, settings, now=app.now(), days=days, limit=limit, topic=topic,
                          sort=sort, include_cancelled=include_cancelled)
    if as_json:
        click.echo(ranking.dumps(items, settings.timezone))
        return
    from aggregator import agenda  # rich: the terminal's, not --json's

    if not items:
        app.out.print(agenda.nothing_upcoming(days, topic, fetched=app.store.events.count() > 0,
                                              config=None if settings.sources else str(settings.path)), markup=False)
        return
    agenda.print_upcoming(app.out, items, settings.timezone, now=app.now(),
                          window=agenda.window_words(len(items), days, settings.timezone, limit=limit))


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of the list.")
@click.pass_obj
@handle_errors
def sources_command(app: App, as_json: bool) -> None:
    """Each source's health: last run, last success, events stored, last error.

    \b
    Example:
      aggregator sources
      aggregator sources --json
    """
    from aggregator.health import source_health

    health = source_health(app.settings, app.store, app.now())
    if as_json:
        click.echo(json.dumps(health, indent=2))
        return
    from aggregator import agenda  # rich: the terminal's, not --json's

    if not health:
        app.out.print(agenda.no_sources(str(app.settings.path)), markup=False)
        return
    agenda.print_sources(app.out, health, app.settings.timezone)


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
    from aggregator import ranking

    detail = ranking.why(app.store, app.settings, event_id, now=app.now())
    if as_json:
        click.echo(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    from aggregator import agenda  # rich: the terminal's, not --json's

    agenda.print_lines(app.out, agenda.why_lines(detail, has_home=app.settings.profile.home is not None))


@main.group()
def contacts() -> None:
    """Your contacts: import exports, list them with how often they were seen at events.

    \b
    Example:
      aggregator contacts import ~/Downloads/Connections.csv
      aggregator contacts list --json
    """


@contacts.command("import")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["auto", "linkedin", "google", "vcard"]), default="auto",
              show_default=True, help="The export's format; auto looks at the file.")
@click.option("--include-removed", is_flag=True, help="Bring back contacts you removed with `contacts remove`.")
@click.pass_obj
@handle_errors
def contacts_import(app: App, path: str, fmt: str, include_removed: bool) -> None:
    """Import or update contacts from a LinkedIn, Google Contacts or vCard export.

    PATH `-` reads the export from standard input. Importing again updates
    contacts (matched by profile URL or email, whatever the spelling of the
    name; an entry with neither, by its name in the same kind of export) and
    never duplicates them; a name alone never joins two people. Contacts you
    removed stay out. Contacts never leave this machine.

    \b
    Example:
      aggregator contacts import Connections.csv
      aggregator contacts import contacts.vcf --format vcard
      cat contacts.csv | aggregator contacts import - --format google
    """
    from aggregator import contacts as contacts_module
    from aggregator import ranking

    now = app.now()
    report = contacts_module.import_path(app.store, path, fmt, now=now, stdin=click.get_binary_stream("stdin"),
                                         include_removed=include_removed)
    contacts_module.refresh_social(app.store, now, ranking.HALF_LIFE_DAYS, app.settings.timezone)
    app.out.print(safe_text(report.summary(), one_line=True), markup=False)


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

    rows = journal.contact_list(app.store, now=app.now())
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from aggregator import agenda  # rich: the terminal's, not --json's

    if not rows:
        app.out.print("No contacts yet: aggregator contacts import PATH", markup=False)
        return
    agenda.print_lines(app.out, agenda.contact_lines(rows))


@main.command()
@click.argument("event_id")
@click.option("--with", "names", multiple=True, metavar="NAME", help="Someone you met there (repeatable).")
@click.pass_obj
@handle_errors
def attended(app: App, event_id: str, names: tuple[str, ...]) -> None:
    """Log that you went to an event, and whom you met there.

    Whom you met counts as a catch-up with them and as evidence of where they go.
    EVENT_ID is the id (or a unique start of it) that `upcoming` or `past` shows;
    an event that has not started yet is refused.

    \b
    Example:
      aggregator past --days 2
      aggregator attended 3f2a9c1e --with "Dana Lee" --with "Sam Ortiz"
    """
    from aggregator import journal

    result = journal.log_attended(app.store, app.settings, event_id, list(names), now=app.now())
    met = f"; met {', '.join(result['met'])}" if result["met"] else ""
    app.out.print(safe_text(f"logged: you went to {result['event']['title']}{met}", one_line=True), markup=False)


@main.command()
@click.argument("name")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="When (default: today; not a future date).")
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
    app.out.print(safe_text(f"logged: caught up with {result['name']} on {result['on']}", one_line=True),
                  markup=False)


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
    from aggregator import agenda  # rich: the terminal's, not --json's

    if not entries:
        app.out.print(agenda.nobody_overdue(bool(app.store.people.contacts()),
                                            app.settings.profile.reconnect_after_days), markup=False)
        return
    agenda.print_lines(app.out, agenda.reconnect_lines(entries, journal.describe_overdue, app.settings.timezone,
                                                       app.out.width, app.out.is_terminal))


@main.command()
@click.option("--force", is_flag=True, help="Replace an existing config file.")
@click.pass_obj
@handle_errors
def init(app: App, force: bool) -> None:
    """Write a commented starter config, then print its path and the next steps.

    Writes to --config (or $AGGREGATOR_CONFIG) when given, else to
    $XDG_CONFIG_HOME/aggregator/config.yaml (~/.config/aggregator/config.yaml),
    where every command finds it. The time zone is guessed from this machine.
    An existing file is kept unless --force.

    \b
    Example:
      aggregator init
      aggregator --config ~/events/config.yaml init --force
    """
    from aggregator import config as config_module
    from aggregator import starter

    chosen = Path(app.config_path) if app.config_path else config_module.xdg_config_path()
    path = starter.write_starter(chosen, force=force)
    found_by_default = not app.config_path and not Path(config_module.DEFAULT_CONFIG).exists()
    for line in starter.next_steps(path, default_location=found_by_default):
        app.out.print(line, markup=False)


@main.command()
@click.argument("folder", default="aggregator-demo", type=click.Path(file_okay=False))
@click.pass_obj
@handle_errors
def demo(app: App, folder: str) -> None:
    """Try it offline: write a small example city to FOLDER and fetch it.

    Four groups' calendars with their attendance history, a contacts export and a
    config.yaml using them; nothing leaves this machine. Dates follow today's, so
    the demo never goes stale. Then try the commands it prints.

    \b
    Example:
      aggregator demo
      aggregator --config aggregator-demo/config.yaml upcoming
    """
    from aggregator import fetch_report, pipeline
    from aggregator.demo import write_demo

    config_path = write_demo(Path(folder), now=clock())
    city = App(str(config_path), app.verbose)
    report = pipeline.run_fetch(city.settings, city.store, now=city.now)
    fetch_report.print_run(app.out, app.err, report, verbose=app.verbose)
    for line in fetch_report.demo_next_steps(config_path):
        app.out.print(line, markup=False)
    sys.exit(report.exit_code)


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
    for skipped in built.skipped:
        app.err.print(f"warning: event left out of the feed: {safe_text(skipped, one_line=True)}", markup=False)
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
    The page's subscribe links use feed.public_url when set, else the address
    it was requested at; --host 0.0.0.0 prints this machine's LAN address.

    \b
    Example:
      aggregator serve --schedule
      aggregator serve --host 0.0.0.0 --port 8080
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    from aggregator import foreground
    from aggregator.scheduler import NightlyJob
    from aggregator.server import FeedService, make_server
    from aggregator.server_addresses import address_text, lan_address

    settings = app.settings
    service = FeedService(settings, app.store, now=app.now)
    try:
        httpd = make_server(service, host, port)
    except OSError as exc:
        raise AggregatorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    token = f"?token={settings.feed.token}" if settings.feed.token else ""
    say = foreground.sayer(app.out)
    shown = lan_address(host)  # never 0.0.0.0: nothing opens that
    opened = address_text(shown, httpd.server_address[1])
    say(f"Serving on http://{opened}/" + ("" if shown == host else f" (listening on every interface, {host})"))
    subscribe = settings.feed.public_url or f"http://{opened}/"
    say(f"Subscribe: webcal://{subscribe.split('://', 1)[1]}feed.ics{token}")
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.feed.token:
        app.err.print("warning: listening beyond this machine with no feed.token: anyone who can reach it "
                      "sees your contacts' names in the feed", markup=False)
    threading.Thread(target=httpd.serve_forever, name="http", daemon=True).start()
    scheduler = None
    if with_schedule:
        scheduler = BackgroundScheduler(timezone=settings.timezone)
        job = NightlyJob(settings, on_done=lambda report: service.invalidate(), now=app.now, say=say)
        foreground.start_schedule(scheduler, settings, job, say)
    stop = threading.Event()
    foreground.on_signals(lambda: stop.set())
    while not stop.wait(0.5):
        pass
    httpd.shutdown()
    httpd.server_close()
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    say("stopped")
    foreground.exit_soon()


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

    from aggregator import foreground
    from aggregator.scheduler import NightlyJob

    settings = app.settings
    say = foreground.sayer(app.out)
    scheduler = BlockingScheduler(timezone=settings.timezone)
    job = NightlyJob(settings, now=app.now, say=say)
    foreground.start_schedule(scheduler, settings, job, say, blocking=True)
    say("stopped")
    foreground.exit_soon()


# Commands that live in their own modules (one module per area, so cli.py stays a table of contents).
from aggregator import cli_data, cli_people, cli_week  # noqa: E402

for _module in (cli_people, cli_week, cli_data):
    _module.register(main, contacts)

if __name__ == "__main__":
    main()
