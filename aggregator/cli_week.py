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


@click.command("publish")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, writable=True))
@click.option("--public", is_flag=True, help="Leave people out: no contact's name, no reason about them.")
@click.option("--force", is_flag=True, help="Publish although feed.token is set (a static site checks no token).")
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
    if site.people:
        out.print("Note: the published site shows your contacts' names (who is likely at each event) to anyone "
                  "who can open it; --public leaves people out", markup=False)
