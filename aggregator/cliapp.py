"""What every command needs: the settings, the store and the clock, loaded lazily; and the one
place where user mistakes become a clear line and an exit code instead of a traceback."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from aggregator.errors import AggregatorError
from aggregator.text import safe_text

if TYPE_CHECKING:
    from rich.console import Console

    from aggregator.store import Store

# Commands import what only they need (HTTP, feeds, the scheduler) inside their bodies, and so does this
# module (the config, the store, rich): `--help` and `upcoming` start fast.
NOW_ENV = "AGGREGATOR_NOW"  # pins "now" (ISO 8601) for tests and reproducible demos


class App:
    """What every command needs: the settings, the store and the clock, loaded lazily."""

    def __init__(self, config_path: str | None, verbose: bool):
        self.config_path = config_path
        self.verbose = verbose
        self._settings = None
        self._store = None
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            self._out = Console(soft_wrap=True, highlight=False)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)  # a message is never hard-split
        return self._err

    @property
    def settings(self):
        from aggregator import config as config_module

        if self._settings is None:
            try:
                self._settings = config_module.load(self.config_path)
            except config_module.ConfigProblems as exc:
                self.warn(exc.warnings)  # an unknown key may be the cause of an error: show both
                raise
            self.warn(self._settings.warnings)
        return self._settings

    def warn(self, warnings) -> None:
        for warning in warnings:
            self.err.print(f"warning: {safe_text(warning, one_line=True)}", markup=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            from aggregator.store import Store

            self._store = Store(self.settings.database)
        return self._store

    def now(self) -> datetime:
        return clock(lambda: self.settings.timezone)

    def damage_seen(self, exc: Exception) -> AggregatorError | None:
        """The one-line error for a corruption error met while reading the database (and a mark,
        so every later command says so too); None for any other error."""
        from aggregator.backup import damage_seen

        return None if self._settings is None else damage_seen(self._settings.database, exc)


def clock(zone=lambda: ZoneInfo("UTC")) -> datetime:
    """Now: $AGGREGATOR_NOW when set (a time without a zone is read in `zone()`), else the system clock.
    The one place the CLI reads the clock; everything below it is handed `now`."""
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        try:
            moment = datetime.fromisoformat(pinned)
        except ValueError:
            raise click.UsageError(f"${NOW_ENV}={pinned!r} is not an ISO 8601 time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=zone())
    return datetime.now(timezone.utc)


def handle_errors(command):
    """User mistakes become one clear line and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        app: App = click.get_current_context().obj
        try:
            return command(*args, **kwargs)
        except AggregatorError as exc:
            for line in safe_text(exc).splitlines():  # an invalid config: a line per problem
                app.err.print(f"error: {line}", markup=False)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            damaged = app.damage_seen(exc)  # a damaged page a query read: say so, and remember it
            if damaged is not None:
                app.err.print(f"error: {safe_text(damaged, one_line=True)}", markup=False)
                sys.exit(damaged.exit_code)
            if app.verbose:
                traceback.print_exc()
            else:
                app.err.print(f"error: {exc.__class__.__name__}: {safe_text(exc, one_line=True)} "
                              "(run with -v for details)", markup=False)
            sys.exit(1)

    return wrapper
