"""Your own data, kept safe: backup, restore, export.

Each command is registered on the main group (and the `contacts` group) by `register`; cli.py calls it.
Thin like cli.py: parse options, call one core function (aggregator.backup), print.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from aggregator.cliapp import App, clock, handle_errors
from aggregator.text import safe_text


def register(main: click.Group, contacts: click.Group) -> None:
    """Attach this module's commands to the CLI."""
    main.add_command(backup_command)
    main.add_command(restore_command)
    main.add_command(export_command)


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=True))
@click.pass_obj
@handle_errors
def backup_command(app: App, path: str | None) -> None:
    """Make a consistent copy of the database now, and print where it is.

    Without PATH the copy goes into the backups folder beside the database
    (events.db.backups/), which keeps the newest `backups` (config, default 7);
    a fetch run leaves one there too. PATH is a new file, or a folder to put
    the copy in. The copy is checked before it gets its name; a damaged
    database is refused, so it never joins the good backups.

    \b
    Example:
      aggregator backup
      aggregator backup /media/usb/aggregator/
    """
    from aggregator import backup

    settings = app.settings
    made = backup.backup_now(settings.database, Path(path) if path else None, keep=settings.backups)
    app.out.print(safe_text(made, one_line=True), markup=False)


@click.command("restore")
@click.argument("backup_path", metavar="[BACKUP]", required=False, type=click.Path(dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Do not ask on a terminal (never asked when not on one).")
@click.pass_obj
@handle_errors
def restore_command(app: App, backup_path: str | None, yes: bool) -> None:
    """Replace the database by a backup, keeping the replaced file aside.

    BACKUP defaults to the newest backup in the backups folder that passes
    SQLite's integrity check; a name in that folder is enough. The replaced
    file (and its -wal and -shm) is renamed events.db.replaced-<time>, never
    deleted. Refused while a fetch runs or a server has the database open.
    On a terminal it asks first (--yes does not).

    \b
    Example:
      aggregator restore
      aggregator restore events-20261206T041502.113Z.db --yes
    """
    from aggregator import backup
    from aggregator.store.backup import backups_folder, taken_at

    settings = app.settings
    chosen = Path(backup_path) if backup_path else None
    if chosen is not None and not chosen.exists() and (backups_folder(settings.database) / chosen).is_file():
        chosen = backups_folder(settings.database) / chosen
    ask = not yes and sys.stdin.isatty() and sys.stdout.isatty()

    def confirm(database: Path, found: Path) -> bool:
        return not ask or click.confirm(f"Replace {database} by {found}? (the current file is kept aside)")

    done = backup.restore(settings, chosen, confirm=confirm)
    if done is None:
        app.err.print("nothing changed", markup=False)
        sys.exit(1)
    for skipped, why in done.skipped:
        app.err.print(safe_text(f"warning: skipped {skipped}: {why}", one_line=True), markup=False)
    made = taken_at(done.backup)
    when = f" (made {made:%Y-%m-%d %H:%M} UTC)" if made else ""
    lines = [f"restored {done.database} from {done.backup}{when}"]
    if done.kept_aside:
        lines.append(f"the replaced file is kept as {done.kept_aside[0]}"
                     + (f" (with {', '.join(p.name for p in done.kept_aside[1:])})" if done.kept_aside[1:] else ""))
        lines.append(f"what you logged after the backup was made: aggregator export --from {done.kept_aside[0]}")
    else:
        lines.append("there was no database file to keep aside")
    lines.append("next: aggregator fetch (brings events up to date)")
    for line in lines:
        app.out.print(safe_text(line, one_line=True), markup=False)


@click.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@click.option("--from", "source", type=click.Path(dir_okay=False, exists=True),
              help="Read this database file (a backup, a file restore kept aside) instead of the configured one.")
@click.pass_obj
@handle_errors
def export_command(app: App, output: str | None, source: str | None) -> None:
    """Your own data as JSON: what a re-fetch cannot bring back.

    Contacts (every column: names, addresses, profile URLs, weights, cadences,
    merges), catch-ups, evenings attended and whom you met there, your
    calendar's log, and the events they name. The shape is in the README
    ("format": 1). A damaged database gives what can still be read, names
    what could not on stderr and exits 1. Nothing leaves this machine.

    \b
    Example:
      aggregator export -o my-data.json
      aggregator export --from events.db.replaced-20261206T224912Z | jq '.tables.touches'
    """
    from aggregator import backup

    database = Path(source) if source else app.settings.database
    now = app.now() if not source else clock()
    document, problems = backup.export(database, now=now)
    if output:
        backup.write_export(document, Path(output))
        counts = ", ".join(f"{len(rows)} {table}" for table, rows in document["tables"].items())
        app.err.print(safe_text(f"wrote {output}: {counts}", one_line=True), markup=False)
    else:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    for problem in problems:
        app.err.print(safe_text(f"error: {problem}", one_line=True), markup=False)
    if problems:
        sys.exit(1)
