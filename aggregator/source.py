"""The source plugin contract. Logic-free: the terms live in the docstrings.

A *source* is one configured entry of `sources:` in config.yaml: a name, a
kind and a URL. A *kind* is a plugin (an object satisfying `Source`) registered
under the entry-point group ``aggregator.sources``; built-in kinds live in the
top-level ``sources`` package and register the same way.

An *event* is one occurrence (`aggregator.model.Event`). A recurring series is
expanded by the source into occurrences inside `Context.window`; each carries a
*source uid* that stays the same run after run (ICS UID plus RECURRENCE-ID,
a schema.org @id or URL, an API id). An *attendee* is a Person the source shows
as going to or having attended an occurrence: that history is what the ranking
learns from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from aggregator.errors import SourceError
from aggregator.model import Event

if TYPE_CHECKING:
    from aggregator.http import Http


@dataclass(frozen=True)
class SourceSpec:
    """One `sources:` entry of config.yaml, checked."""

    name: str
    kind: str
    url: str
    group: str | None = None
    priority: int = 0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What a source needs besides its spec and the HTTP session.

    timezone: the zone in which times written without one are read.
    window: occurrences of recurring series are expanded between these instants.
    warn: report a problem that does not fail the source (a skipped event).
    deadline: a `time.monotonic()` instant by which the source must be done (fetch and
    parse); None for no limit. Long loops call `check_deadline()` now and then.
    """

    timezone: ZoneInfo
    window: tuple[datetime, datetime]
    now: datetime
    warn: Callable[[str], None] = lambda message: None
    deadline: float | None = None

    def check_deadline(self) -> None:
        """Raise SourceError once the source's time budget (fetch.deadline) is spent."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SourceError("took longer than its time budget (fetch.deadline) to fetch and parse; "
                              "its stored events are kept")


@runtime_checkable
class Source(Protocol):
    """A kind of source. Optional attribute `full_snapshot = True`: each good fetch lists
    every upcoming event, so a future event missing from it has vanished (it is then
    published as cancelled). Leave it out for sources that show only a page of events."""

    kind: str

    def collect(self, spec: SourceSpec, http: "Http", ctx: Context) -> Iterable[Event]:
        """Yield the source's events. Fetch only through `http`.

        Raise `aggregator.errors.SourceError` when the source cannot be read at
        all (network, HTTP status, a body that is not this kind's format); call
        `ctx.warn` and go on when one event among good ones is broken.
        """
        ...
