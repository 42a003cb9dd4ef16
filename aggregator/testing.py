"""The plugin kit: `SourceContract`, the contract tests every source kind passes.

A plugin's own test module subclasses it (the subclass name starts with ``Test``
so pytest collects it)::

    from aggregator.testing import SourceContract
    from my_plugin import JsonFeedSource

    class TestJsonFeedContract(SourceContract):
        kind = JsonFeedSource()
        samples = [(Path("tests/feed.json").read_bytes(), "https://example.org/feed.json")]

The kind's pure parse step is found by convention: the module-level function
``parse(data, url, ctx=...)`` of the module defining the kind's class, returning
a list of events. A kind whose parse step is named or shaped otherwise overrides
`SourceContract.parse`.

The inherited tests check: the kind keeps the declared contract (`kind`,
`api_version`, `full_snapshot`, `options`, what the registry checks); every
sample gives well-formed events (aware datetimes for timed events, dates for
all-day ones, a non-empty source uid and title, titles without HTML, a valid
status, well-formed attendees); source uids are the same on two parses and
unique; garbage (empty,
binary, truncated, the wrong format, deep nesting, NUL bytes, wrong encodings,
hostile strings) raises nothing but `SourceError`, and whatever it yields is
well formed; every parse finishes within `time_budget` CPU seconds, or stops with a
`SourceError` once its `Context.deadline` has passed.

Events are judged as the pipeline would store them: what its normalise step does for every
kind (control and escape characters out of every text, texts folded and bounded, URLs
checked, an end at or before the start dropped) is no fault of the kind. What normalise
cannot repair is: times without a zone (it cannot know which) and values outside the
shared vocabularies (an unknown status or role it replaces by a guess), so those are judged
as the kind yields them.

This module imports pytest; the `aggregator` package never imports it.
"""

from __future__ import annotations

import inspect
import random
import re
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from aggregator import evidence
from aggregator.errors import SourceError
from aggregator.model import STATUSES, Event, Person, Venue
from aggregator.normalise import normalise
from aggregator.registry import check_plugin
from aggregator.source import API_VERSION, Context, Source, SourceSpec
from aggregator.text import safe_text

PERSON_STATUSES = evidence.PERSON_STATUSES  # the shared vocabularies (aggregator/evidence.py)
PERSON_ROLES = evidence.PERSON_ROLES
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
# Strings that have broken parsers elsewhere: markup, escapes, format keywords out of place.
HOSTILE = [
    "\x1b[2J\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07", "<script>alert(1)</script>", "\u202e\u2066",
    "\x00", "\ufeff", "%s%n{0}", "END:VCALENDAR", "BEGIN:VEVENT", "]]>", "<![CDATA[", "\"}]}", "{{", "\\",
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "9" * 400, "-" * 64, "T" * 10_000,
    "&#0;&#x110000;&amp;&", "\r\r\n\n", "𝕿𝖎𝖙𝖑𝖊 🎉",
]


def _first(samples: list[bytes]) -> bytes:
    return samples[0] if samples else b""


def _with_every(sample: bytes, step: int, insert: bytes) -> bytes:
    return b"".join(sample[i:i + step] + insert for i in range(0, len(sample), step))


def _reencode(sample: bytes, encoding: str) -> bytes:
    return sample.decode("utf-8", errors="replace").encode(encoding, errors="replace")


# Each case turns the valid samples into one garbage input. Named, so a failure says which.
GARBAGE: dict[str, Callable[[list[bytes]], bytes]] = {
    "empty": lambda s: b"",
    "whitespace": lambda s: b" \r\n\t \n",
    "nul_bytes": lambda s: b"\x00" * 4096,
    "random_binary": lambda s: random.Random(9).randbytes(8192),
    "html_error_page": lambda s: b"<!doctype html><html><head><title>404 Not Found</title></head>"
                                 b"<body><h1>Not Found</h1><p>The page is gone.</p></body></html>",
    "json_error": lambda s: b'{"error": {"code": 429, "message": "Too many requests"}}',
    "xml_instead": lambda s: b'<?xml version="1.0"?><error><code>AccessDenied</code></error>',
    "deep_json_nesting": lambda s: b"[" * 100_000 + b"]" * 100_000,
    "deep_xml_nesting": lambda s: b"<a>" * 10_000 + b"</a>" * 10_000,
    # A page cut short many times over: a scan for each block's end must not restart at every block.
    "unclosed_blocks": lambda s: b'<script type="application/ld+json">{"@type": "Event", ' * 4000,
    "long_line": lambda s: b"A" * 2_000_000,
    "truncated_half": lambda s: _first(s)[: len(_first(s)) // 2],
    "truncated_tail": lambda s: _first(s)[:-9],
    "missing_head": lambda s: _first(s)[len(_first(s)) // 3:],
    "nul_inside": lambda s: _with_every(_first(s), 61, b"\x00"),
    "escapes_inside": lambda s: _with_every(_first(s), 47, b"\x1b[31m\x07"),
    "hostile_inside": lambda s: _with_every(_first(s), 97, random.Random(4).choice(HOSTILE).encode("utf-8", "replace")),
    "utf16": lambda s: _reencode(_first(s), "utf-16"),
    "cp1252": lambda s: _reencode(_first(s), "cp1252"),
    "mojibake": lambda s: _first(s).decode("utf-8", errors="replace").encode("utf-8").decode("latin-1").encode(),
    "bom_and_crlf": lambda s: b"\xef\xbb\xbf" + _first(s).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
    "all_samples_glued": lambda s: b"\n".join(s) * 2,
    "every_line_twice": lambda s: b"".join(line * 2 for line in _first(s).splitlines(keepends=True)),
}


def event_problems(event: object, spec: SourceSpec | None = None) -> list[str]:
    """What is wrong with one yielded event, in words (empty when it is well formed).

    Judged as the pipeline would store it (after `aggregator.normalise.normalise` with `spec`),
    but for its times' types and its vocabularies, judged as yielded (see the module doc).
    An event the pipeline drops (no start in range) has no problem left to report.
    """
    if not isinstance(event, Event):
        return [f"yielded {type(event).__name__}, not aggregator.model.Event"]
    problems = _time_problems(event) + _vocabulary_problems(event)
    try:
        stored = normalise(event, spec or SourceSpec("kit", "kit", "https://example.org/"))
    except Exception as exc:  # a value of the wrong type, most likely
        return problems + [f"the pipeline's normalise step fails on it: {type(exc).__name__}: {str(exc)[:120]}"]
    if stored is None:
        return problems
    if not isinstance(stored.source_uid, str) or not stored.source_uid.strip():
        problems.append(f"empty source_uid {stored.source_uid!r}")
    problems += _title_problems(stored.title)
    if not isinstance(stored.venue, Venue):
        problems.append("venue is not an aggregator.model.Venue")
    if not isinstance(stored.tags, tuple) or not all(isinstance(t, str) for t in stored.tags):
        problems.append(f"tags {stored.tags!r} are not a tuple of str")
    if not isinstance(stored.attendees, tuple):
        problems.append("attendees are not a tuple")
    else:
        for person in stored.attendees:
            problems += _person_problems(person)
    return problems


def _vocabulary_problems(event: Event) -> list[str]:
    problems = []
    if event.status not in STATUSES:
        problems.append(f"status {event.status!r} is not one of {STATUSES}")
    for person in event.attendees if isinstance(event.attendees, tuple) else ():
        if not isinstance(person, Person):
            continue  # said once the event is normalised
        if person.status not in evidence.STATUSES:
            problems.append(f"attendee status {person.status!r} is not one of {tuple(evidence.STATUSES)}")
        if person.role not in evidence.ROLES:
            problems.append(f"attendee role {person.role!r} is not one of {tuple(evidence.ROLES)}")
    return problems


def _title_problems(title: object) -> list[str]:
    if not isinstance(title, str) or not title.strip():
        return [f"empty title {title!r}"]
    problems = []
    if safe_text(title, one_line=True) != title:
        problems.append(f"title {title[:80]!r} holds control characters, line breaks or untrimmed spaces")
    if _TAG.search(title) or _ENTITY.search(title):
        problems.append(f"title {title[:80]!r} holds HTML")
    return problems


def _time_problems(event: Event) -> list[str]:
    """The types of the times as yielded (their order is normalise's to mend)."""
    start, end = event.start, event.end
    if event.all_day:
        if isinstance(start, datetime) or not isinstance(start, date):
            return [f"all-day event starts at {start!r}, not a date"]
        if end is not None and (isinstance(end, datetime) or not isinstance(end, date)):
            return [f"all-day event ends at {end!r}, not a date (end is exclusive)"]
        return []
    if not isinstance(start, datetime) or start.utcoffset() is None:
        return [f"timed event starts at {start!r}, not a timezone-aware datetime"]
    if end is not None and (not isinstance(end, datetime) or end.utcoffset() is None):
        return [f"timed event ends at {end!r}, not a timezone-aware datetime"]
    return []


def _person_problems(person: object) -> list[str]:
    if not isinstance(person, Person):
        return [f"attendee {person!r} is not an aggregator.model.Person"]
    problems = []
    for field_name in ("name", "url", "email"):
        value = getattr(person, field_name)
        if value is not None and (not isinstance(value, str) or safe_text(value, one_line=True) != value):
            problems.append(f"attendee {field_name} {value!r} is not clean one-line text")
    if not person.key():
        problems.append("attendee with no name, url or email")
    return problems


class SourceContract:
    """Base class of a kind's contract tests. Set `kind` and `samples` in the subclass.

    kind: an instance of the kind's Source class.
    samples: (data, url) pairs of valid input, each giving at least one event in `window`.
    known_bugs: garbage case name -> the bug it shows; such a case is not run (reported as
    xfail). For a project's own bookkeeping, with the reproducer kept where it fails once
    fixed: a plugin should fix its bugs instead.
    time_budget: CPU seconds one parse may take (the ctx deadline of the budget test).
    now, zone, window: the Context the samples are parsed with.
    """

    kind: ClassVar[Any] = None
    samples: ClassVar[list[tuple[bytes, str]]] = []
    known_bugs: ClassVar[dict[str, str]] = {}
    time_budget: ClassVar[float] = 10.0
    now: ClassVar[datetime] = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    zone: ClassVar[ZoneInfo] = ZoneInfo("America/Los_Angeles")
    window: ClassVar[tuple[datetime, datetime]] = (datetime(2025, 1, 1, tzinfo=timezone.utc),
                                                   datetime(2028, 1, 1, tzinfo=timezone.utc))

    # -- hooks a subclass may override ------------------------------------
    def parse(self, data: bytes, url: str, ctx: Context) -> list[Event]:
        """The kind's pure parse step: by default its module's `parse(data, url, ctx=ctx)`."""
        module = sys.modules.get(type(self.kind).__module__)
        parse = getattr(module, "parse", None)
        if not callable(parse) or "ctx" not in inspect.signature(parse).parameters:
            pytest.fail(f"{type(self.kind).__module__} has no parse(data, url, ctx=...) function; "
                        f"override {type(self).__name__}.parse(self, data, url, ctx) to call the kind's parse step")
        return parse(data, url, ctx=ctx)

    def make_ctx(self, warnings: list[str] | None = None, deadline: float | None = None) -> Context:
        sink = warnings if warnings is not None else []
        return Context(timezone=self.zone, window=self.window, now=self.now, warn=sink.append, deadline=deadline)

    def spec(self, url: str) -> SourceSpec:
        """The source entry the samples are read as (the normalise step's input)."""
        return SourceSpec("kit", getattr(self.kind, "kind", "kit"), url)

    # -- helpers -----------------------------------------------------------
    def _parse_checked(self, data: bytes, url: str, ctx: Context | None = None) -> list[Event]:
        events = self.parse(data, url, ctx or self.make_ctx())
        assert isinstance(events, list), f"parse returned {type(events).__name__}, not a list of events"
        return events

    def _garbage(self, case: str) -> bytes:
        return GARBAGE[case]([data for data, _ in self.samples])

    # -- the contract --------------------------------------------------------
    def test_kind_keeps_the_declared_contract(self):
        assert isinstance(self.kind, Source), "set `kind` to an instance of the kind's Source class"
        check_plugin(self.kind, self.kind.kind, where=type(self.kind).__module__)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", self.kind.kind), f"kind {self.kind.kind!r}: use lower_snake_case"
        assert isinstance(getattr(self.kind, "api_version", 1), int) and getattr(self.kind, "api_version", 1) <= API_VERSION
        assert isinstance(getattr(self.kind, "full_snapshot", False), bool), "full_snapshot must be a bool"
        options = getattr(self.kind, "options", {})
        assert isinstance(options, dict), "options must be a dict of option name -> type(s)"
        for name, expected in options.items():
            kinds = expected if isinstance(expected, tuple) else (expected,)
            assert isinstance(name, str) and kinds and all(isinstance(k, type) for k in kinds), \
                f"option {name!r}: declare a type or a tuple of types, not {expected!r}"

    def test_samples_give_well_formed_events(self):
        assert self.samples, "set `samples` to a list of (data: bytes, url: str) pairs of valid input"
        for index, (data, url) in enumerate(self.samples):
            assert isinstance(data, bytes) and isinstance(url, str), f"sample {index} is not (bytes, str)"
            events = self._parse_checked(data, url)
            assert events, f"sample {index} ({url}) gave no events inside {self.window}"
            problems = [f"{getattr(e, 'source_uid', e)!r}: {p}" for e in events for p in event_problems(e, self.spec(url))]
            assert not problems, f"sample {index} ({url}):\n" + "\n".join(problems[:20])

    def test_source_uids_are_stable_and_unique(self):
        for index, (data, url) in enumerate(self.samples):
            first = [e.source_uid for e in self._parse_checked(data, url)]
            second = [e.source_uid for e in self._parse_checked(data, url)]
            assert sorted(first) == sorted(second), f"sample {index}: source uids differ between two parses"
            duplicates = sorted({uid for uid in first if first.count(uid) > 1})
            assert not duplicates, f"sample {index}: source uids used twice: {duplicates[:5]}"

    @pytest.mark.parametrize("case", sorted(GARBAGE))
    def test_garbage_raises_only_source_error(self, case):
        if case in self.known_bugs:  # not run: a known slow case would cost the budget on every run
            pytest.xfail(f"known bug: {self.known_bugs[case]}")
        data = self._garbage(case)
        url = self.samples[0][1] if self.samples else "https://example.org/"
        problem = self._garbage_problem(data, url)
        assert problem is None, f"garbage case {case!r}: {problem}"

    def _garbage_problem(self, data: bytes, url: str) -> str | None:
        warnings: list[str] = []
        started = time.process_time()
        try:
            events = self._parse_checked(data, url, self.make_ctx(warnings, time.monotonic() + self.time_budget))
        except SourceError as exc:
            return None if str(exc).strip() else "SourceError without a message"
        except Exception as exc:  # the very thing this test looks for
            return f"raised {type(exc).__name__}: {str(exc)[:200]} (only SourceError may escape)"
        if time.process_time() - started > self.time_budget:
            return f"took {time.process_time() - started:.1f} CPU s (budget {self.time_budget} s)"
        problems = [p for e in events for p in event_problems(e, self.spec(url))]
        if not all(isinstance(w, str) for w in warnings):
            problems.append("ctx.warn was called with something other than a str")
        return "; ".join(problems[:5]) or None

    def test_parse_respects_the_time_budget(self):
        """Finishes within the budget, or stops with a SourceError soon after its deadline."""
        # CPU time, not wall time: a busy machine must not fail a kind that does its work in time.
        grace = max(1.0, self.time_budget / 2)
        for index, (data, url) in enumerate(self.samples):
            started = time.process_time()
            try:
                self._parse_checked(data, url, self.make_ctx(deadline=time.monotonic() + self.time_budget))
            except SourceError:
                pass
            elapsed = time.process_time() - started
            assert elapsed <= self.time_budget + grace, f"sample {index} took {elapsed:.1f} CPU s"
        # With the deadline already spent a parse may still finish a small input, but must not
        # run on: a kind that checks the deadline stops at once, one that does not is bounded anyway.
        data, url = self.samples[0]
        started = time.process_time()
        try:
            self._parse_checked(data * 3, url, self.make_ctx(deadline=time.monotonic() - 1))
        except SourceError as exc:
            assert str(exc).strip()
        assert time.process_time() - started <= self.time_budget + grace
