"""Your own data, kept safe: backup, restore, export.

Each command is registered on the main group (and the `contacts` group) by `register`; cli.py calls it.
Thin like cli.py: parse options, call one core function, print.
"""

from __future__ import annotations

import click


def register(main: click.Group, contacts: click.Group) -> None:
    """Attach this module's commands to the CLI."""
