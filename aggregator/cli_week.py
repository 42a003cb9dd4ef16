"""The weekly surfaces: publish (a static site), digest (the coming week), plan (evenings that reach overdue contacts).

Each command is registered on the main group (and the `contacts` group) by `register`; cli.py calls it.
Thin like cli.py: parse options, call one core function, print.
"""

from __future__ import annotations

import json

import click

from aggregator.cliapp import App, handle_errors


def register(main: click.Group, contacts: click.Group) -> None:
    """Attach this module's commands to the CLI."""
    main.add_command(publish_command)
    main.add_command(digest_command)
    main.add_command(plan_command)


@click.command("publish")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, writable=True))
@click.option("--public", is_flag=True, help="Leave people out: no contact's name, no reason about them.")
@click.option("--force", is_flag=True, help="Publish although feed.token is set (a static site checks no token), "
              "or over files a previous publish did not write.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.pass_obj
@handle_errors
def publish_command(app: App, folder: str, public: bool, force: bool, as_json: bool) -> None:
    """Write the page and the feeds to DIR as a static site any web host or CDN serves.

    DIR gets index.html (the page), feed.ics, topics/<topic>.ics and .html for
    each profile topic, and events/<id>.ics for each listed event. Links are
    relative; subscribe links are absolute under feed.public_url when set.
    Unchanged files keep their bytes; each file is replaced atomically.
    The site shows your contacts' names (who is likely where) unless --public.

    \b
    Example:
      aggregator publish ~/site
      aggregator publish ~/site --public && rsync -a --delete ~/site/ host:/var/www/events/
    """
    from pathlib import Path

    from aggregator import publish

    site = publish.publish(app.store, app.settings, Path(folder), now=app.now(), public=public, force=force)
    for warning in site.warnings:
        app.warn([warning])
    if as_json:
        click.echo(json.dumps({"folder": str(site.folder), "events": site.events, "topics": site.topics,
                               "people": site.people, "changed": site.changed, "unchanged": site.unchanged,
                               "removed": site.removed}, indent=2))
        return
    out = app.out
    out.print(f"Published {site.events} events to {site.folder}: index.html, feed.ics, {len(site.topics)} topic "
              f"feeds and pages (topics/), {site.events} event calendars (events/)", markup=False)
    out.print(f"{len(site.changed)} files changed, {site.unchanged} unchanged, {len(site.removed)} removed",
              markup=False)
    if app.settings.feed.public_url:
        out.print(f"Subscribe: {app.settings.feed.public_url}feed.ics", markup=False)
    else:
        out.print("Set feed.public_url to the address the site will have, so its page shows full subscribe "
                  "addresses even without JavaScript", markup=False)
    if site.people and app.store.people.contacts():  # with no contacts there are no names to warn of
        out.print("Note: the published site shows your contacts' names (who is likely at each event) to anyone "
                  "who can open it; --public leaves people out", markup=False)


@click.command("digest")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366), help="How far ahead to look.")
@click.option("--format", "fmt", type=click.Choice(["text", "html", "markdown"]), default="text", show_default=True,
              help="Plain text, an email-safe HTML document, or Markdown for chat.")
@click.pass_obj
@handle_errors
def digest_command(app: App, days: int, fmt: str) -> None:
    """The coming days in a few lines, for mail or chat: the best events and who is likely there,
    overdue contacts you could meet (and where), and what changed since last week.

    \b
    Example:
      aggregator digest
      aggregator digest --days 14 --format markdown
      aggregator digest --format html | mail -a 'Content-Type: text/html' -s 'This week' me@example.org
    """
    from aggregator import digest

    week = digest.build(app.store, app.settings, now=app.now(), days=days)
    click.echo(digest.render(week, fmt, app.settings.timezone), nl=False)


@click.command("plan")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 366), help="How far ahead to plan.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
@handle_errors
def plan_command(app: App, days: int, as_json: bool) -> None:
    """The fewest evenings in the coming days that see the most of your overdue contacts.

    Picks one event per evening, greedily, by the overdue contacts it adds
    (with the chances `upcoming` shows); ties go to the better topic fit, then
    the nearer venue. Stops when another evening would add under a quarter of
    an expected contact.

    \b
    Example:
      aggregator plan
      aggregator plan --days 14 --json
    """
    from aggregator import plan

    made = plan.make_plan(app.store, app.settings, now=app.now(), days=days)
    if as_json:
        click.echo(json.dumps(plan.as_dict(made, app.settings.timezone), indent=2, ensure_ascii=False))
        return
    if not made.overdue and not app.store.people.contacts():  # no one to plan for: say how to add them
        from aggregator.agenda import nobody_overdue

        app.out.print(nobody_overdue(False, app.settings.profile.reconnect_after_days), markup=False)
        return
    for line in plan.lines(made, app.settings.timezone):
        app.out.print(line, markup=False)
