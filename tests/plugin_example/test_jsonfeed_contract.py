"""The example plugin's own tests: it inherits aggregator's contract tests from the kit."""

from __future__ import annotations

import json

from aggregator_jsonfeed import JsonFeedSource

from aggregator.testing import SourceContract

EVENTS = [
    {"id": "42", "title": "Python night", "start": "2027-01-14T18:30:00-08:00", "end": "2027-01-14T20:30:00-08:00",
     "url": "https://example.org/42"},
    {"id": "43", "title": "Rust <b>meetup</b>", "start": "2027-02-03T19:00:00"},
    {"id": "44", "title": "PyCon day", "start": "2027-05-15", "end": "2027-05-16"},
]


class TestJsonFeedContract(SourceContract):
    kind = JsonFeedSource()
    samples = [(json.dumps(EVENTS).encode(), "https://example.org/events.json")]
