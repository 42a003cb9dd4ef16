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

The contract has a version, `API_VERSION`. A kind declares the version it was
written for as `api_version` (default 1); the registry refuses a kind written for
a newer contract than this aggregator knows. Besides `kind` and `collect`, a kind
may declare:

- ``api_version: int`` (default 1): the `API_VERSION` the kind was written against.
- ``full_snapshot: bool`` (default False): each good fetch lists every upcoming
  event, so a future event missing from it has vanished (it is then published as
  cancelled). Leave it False for sources that show only a page of events.
- ``reads_contacts: bool`` (default False): the kind reads public records of the user's
  contacts (their public RSVPs); the pipeline then hands it their profile URLs in
  `Context.contact_profiles`. Other kinds never see the user's contacts.
- ``options: dict[str, type | tuple[type, ...]]``: the kind-specific keys a
  `sources:` entry may carry and their types, e.g. ``{"timezone": str,
  "max_pages": int}``. Config validation checks entries against it
  (`check_options`); a kind without `options` is not checked.

Plugins are typed against `HttpClient` and `HttpResponse` below, never against
the concrete session class, so a plugin (and this module) depends on nothing
but the contract.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from aggregator.errors import SourceError
from aggregator.model import Event

API_VERSION = 1
"""The version of this plugin contract. Raised only when a change would break existing kinds."""

OptionTypes = dict[str, type | tuple[type, ...]]
"""The type of a kind's `options`: option name -> accepted type(s)."""


class HttpResponse(Protocol):
    """One answer of `HttpClient.get`: the final URL (after redirects), its status, body and headers.

    `headers` keys are lower case. `content_type` is the media type without parameters
    (``"text/html"``); `charset` the charset parameter of Content-Type, if any.
    `not_modified`: the server answered 304 and `content` is the stored body of the last good answer.
    """

    url: str
    status: int
    content: bytes
    headers: dict[str, str]
    not_modified: bool

    @property
    def content_type(self) -> str: ...

    @property
    def charset(self) -> str | None: ...


class HttpClient(Protocol):
    """The polite HTTP session a kind fetches through (and only through).

    It sets the User-Agent, honours robots.txt, waits between requests to one host,
    retries, caps the body size and sends conditional requests. Any failure (network,
    an HTTP error status, robots.txt refusal, a body over the cap) is raised as a
    `SourceError` whose message a person can act on, so `collect` need not catch it.
    """

    def get(self, url: str, *, accept: str | None = None) -> HttpResponse:
        """GET `url` (http(s), or a file: URL the user wrote), asking for `accept` media types."""
        ...


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
    contact_profiles: the public profile URLs of the user's contacts, handed only to a kind
    that declares ``reads_contacts = True`` (one that reads public per-person records, such
    as RSVPs); empty for every other kind. Private: never sent anywhere but to read that
    person's own public records.
    counts: what `count_input` was told, per kind of item: [held, read].
    """

    timezone: ZoneInfo
    window: tuple[datetime, datetime]
    now: datetime
    warn: Callable[[str], None] = lambda message: None
    deadline: float | None = None
    contact_profiles: tuple[str, ...] = ()
    counts: dict[str, list[int]] = field(default_factory=dict)

    def count_input(self, held: int, read: int, what: str = "events") -> None:
        """Say that an input (a file, a page) held `held` items of `what` ("talks", "events") and
        `read` of them became events. Calls add up (a kind reading several pages calls it per page).
        A source whose inputs held items and yielded none, or far fewer, is then not healthy:
        `shortfall` says why, and `sources` shows it as the source's warning."""
        tally = self.counts.setdefault(what, [0, 0])
        tally[0] += max(0, held)
        tally[1] += max(0, read)

    def shortfall(self) -> str | None:
        """Why what was read falls short of what the input held ("the input held 215 talks; none
        was read"), or None when it does not: less than half read counts as short."""
        for what, (held, read) in self.counts.items():
            if held and read == 0:
                return f"the input held {held:,} {what}; none was read"
            if held and read * 2 < held:
                return f"the input held {held:,} {what}; only {read:,} {'was' if read == 1 else 'were'} read"
        return None

    def check_deadline(self) -> None:
        """Raise SourceError once the source's time budget (fetch.deadline) is spent."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SourceError("took longer than its time budget (fetch.deadline) to fetch and parse; "
                              "its stored events are kept")


@runtime_checkable
class Source(Protocol):
    """A kind of source: `kind` (the `kind:` of config.yaml, equal to its entry-point name)
    and `collect`. The optional attributes `api_version`, `full_snapshot` and `options` are
    described in the module docstring; they are read with their defaults when absent."""

    kind: str

    def collect(self, spec: SourceSpec, http: HttpClient, ctx: Context) -> Iterable[Event]:
        """Yield the source's events. Fetch only through `http`.

        Raise `aggregator.errors.SourceError` when the source cannot be read at
        all (network, HTTP status, a body that is not this kind's format); call
        `ctx.warn` and go on when one event among good ones is broken.
        """
        ...


def _type_names(expected: type | tuple[type, ...]) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(getattr(k, "__name__", str(k)) for k in kinds)


def option_accepts(expected: type | tuple[type, ...], value: Any) -> bool:
    """Whether `value` is of a declared option type: a bool is not taken for an int (YAML `yes`
    for `max_pages` is a mistake), an int is taken for a float, and a float must be finite."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, kinds) or (isinstance(value, int) and float in kinds)


def check_options(source: object, options: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Check a `sources:` entry's kind-specific options against the kind's declared `options`.

    Returns (warnings, errors): an unknown option is a warning naming the valid ones (a
    typo should not stop a fetch); a value of the wrong type is an error naming the
    expected type. A kind that declares no `options` accepts anything. A bool is not taken
    for an int (YAML `yes` for `max_pages` is a mistake), though an int is taken for a float.
    """
    declared = getattr(source, "options", None)
    if not isinstance(declared, dict):
        return [], []
    warnings: list[str] = []
    errors: list[str] = []
    valid = ", ".join(sorted(declared)) or "none"
    for key, value in options.items():
        if key not in declared:
            warnings.append(f"unknown option {key!r} for kind {getattr(source, 'kind', '?')!r}; "
                            f"valid options: {valid}")
            continue
        expected = declared[key]
        if not option_accepts(expected, value):
            errors.append(f"option {key!r} must be {_type_names(expected)}, not {type(value).__name__} "
                          f"({value!r:.40})")
    return warnings, errors
