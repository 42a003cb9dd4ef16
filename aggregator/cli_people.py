"""Commands about your people and your own past: contacts duplicates/merge/remove, past.

Each command is registered on the main group (and the `contacts` group) by `register`; cli.py calls it.
Thin like cli.py: parse options, call one core function, print.
"""

from __future__ import annotations

import json

import click

from aggregator.cliapp import App, handle_errors
from aggregator.text import safe_text


def register(main: click.Group, contacts: click.Group) -> None:
    """Attach this module's commands to the CLI."""
    main.add_command(past)
    contacts.add_command(contacts_duplicates)
    contacts.add_command(contacts_merge)
    contacts.add_command(contacts_remove)


def _refresh(app: App) -> None:
    """Attendance matched again and the ranking's sums redone after contacts changed."""
    from aggregator import ranking
    from aggregator.contacts import refresh_social

    refresh_social(app.store, app.now(), ranking.HALF_LIFE_DAYS, app.settings.timezone)


@click.command()
@click.option("--days", default=30, show_default=True, type=click.IntRange(1), help="How far back to look.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, in `upcoming --json`'s shape.")
@click.pass_obj
@handle_errors
def past(app: App, days: int, as_json: bool) -> None:
    """Events of the last days, most recent first, with their ids for `attended`.

    \b
    Example:
      aggregator past --days 7
      aggregator attended 3f2a9c1e --with "Dana Lee"
    """
    from aggregator import ranking
    from aggregator.present import days_words

    items = ranking.past(app.store, app.settings, now=app.now(), days=days)
    if as_json:
        click.echo(ranking.dumps(items, app.settings.timezone))
        return
    from aggregator import agenda  # rich: the terminal's, not --json's

    if not items:
        hint = "" if app.store.events.count() else " Run `aggregator fetch` first."
        app.out.print(f"No events in the last {days_words(days)}.{hint}", markup=False)
        return
    agenda.print_upcoming(app.out, items, app.settings.timezone, now=app.now(),
                          window=agenda.window_words(len(items), days, app.settings.timezone, past=True),
                          latest_first=True)


@click.command("duplicates")
@click.option("--json", "as_json", is_flag=True, help='Print a JSON array of {"ids", "names", "why"}.')
@click.pass_obj
@handle_errors
def contacts_duplicates(app: App, as_json: bool) -> None:
    """Contacts that may be one person, and why; merge them with `contacts merge`.

    Offered: a name variant (a nickname such as Mike/Michael, a middle name or
    initial, "Last, First", an accent) at the same company or with addresses at
    the same organisation's domain, and the same name when no company tells the
    two apart. A shared address or profile URL is joined on import already.

    \b
    Example:
      aggregator contacts duplicates
      aggregator contacts merge 12 40
    """
    from aggregator import sameperson

    found = sameperson.duplicates(app.store)
    if as_json:
        click.echo(json.dumps([d.as_json() for d in found], indent=2, ensure_ascii=False))
        return
    if not found:
        app.out.print("No contacts look like one person." if app.store.people.contacts()
                      else "No contacts yet: aggregator contacts import PATH", markup=False)
        return
    for offer in found:
        ids = " ".join(str(i) for i in offer.ids)
        app.out.print(safe_text(f"{offer.why}; to merge: aggregator contacts merge {ids}", one_line=True),
                      markup=False)


@click.command("merge")
@click.argument("ids", nargs=-1, required=True, metavar="ID ID [ID]...")
@click.pass_obj
@handle_errors
def contacts_merge(app: App, ids: tuple[str, ...]) -> None:
    """Join contacts into one: the first id stays, with every name, address, URL, catch-up and evening.

    The highest weight and the shortest catch-up cadence of them stay; the
    latest catch-up counts. Later imports keep them one.

    \b
    Example:
      aggregator contacts merge 12 40
    """
    from aggregator import sameperson

    merged = sameperson.merge(app.store, list(ids), now=app.now())
    _refresh(app)
    names = ", ".join(merged.aliases)
    app.out.print(safe_text(f"merged into {merged.name} (id {merged.id})" + (f"; also known as {names}" if names
                                                                               else ""), one_line=True),
                  markup=False)


@click.command("remove")
@click.argument("contact_id")
@click.pass_obj
@handle_errors
def contacts_remove(app: App, contact_id: str) -> None:
    """Forget a contact and your catch-ups with them (their attendance stays, anonymous).

    Their addresses and URLs are remembered so that a later import leaves them
    out (and says so); `contacts import --include-removed` brings them back.

    \b
    Example:
      aggregator contacts remove 40
    """
    from aggregator import sameperson

    gone = sameperson.remove(app.store, contact_id, now=app.now())
    _refresh(app)
    app.out.print(safe_text(f"removed {gone.name} (id {gone.id}); a later import leaves them out", one_line=True),
                  markup=False)
