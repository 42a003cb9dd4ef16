"""Every real-world calendar in ../shared/corpus parses: events, or one clear per-file error.

Skipped only when the corpus folder is absent (it is present in CI).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from aggregator.errors import SourceError
from sources import ics
from tests.conftest import CORPUS, make_ctx

ICS_FILES = sorted((CORPUS / "ics").glob("*.ics")) if (CORPUS / "ics").is_dir() else []
WIDE = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2030, 1, 1, tzinfo=timezone.utc))


@pytest.mark.corpus
@pytest.mark.skipif(not ICS_FILES, reason="../shared/corpus/ics is not present")
@pytest.mark.parametrize("path", ICS_FILES, ids=lambda p: p.name)
def test_corpus_calendar_parses_or_fails_cleanly(path):
    warnings: list[str] = []
    try:
        events = ics.parse(path.read_bytes(), "https://example.org/", ctx=make_ctx(window=WIDE, warnings=warnings))
    except SourceError as exc:
        assert str(exc)  # one clear message for the file
        return
    for event in events:
        assert event.title and "<" not in event.title
        if not event.all_day:
            assert event.start.utcoffset() is not None
        assert event.source_uid
    assert len({e.source_uid for e in events}) == len(events), "occurrence ids must be unique"
    assert all(isinstance(w, str) and w for w in warnings)


@pytest.mark.corpus
@pytest.mark.skipif(not ICS_FILES, reason="../shared/corpus/ics is not present")
def test_corpus_yields_events_from_nearly_every_file():
    with_events = 0
    for path in ICS_FILES:
        try:
            if ics.parse(path.read_bytes(), "", ctx=make_ctx(window=WIDE)):
                with_events += 1
        except SourceError:
            pass
    # broken-dclicious has only a year-3011 date: nothing in any sane window
    assert with_events >= len(ICS_FILES) - 1


@pytest.mark.corpus
@pytest.mark.skipif(not ICS_FILES, reason="../shared/corpus/ics is not present")
def test_corpus_display_name_tzids_resolve_to_real_zones():
    path = CORPUS / "ics" / "outlook-owa-display-name-tzids-no-vtimezone.ics"
    events = ics.parse(path.read_bytes(), "", ctx=make_ctx(window=WIDE))
    assert {"Australia/Sydney", "America/New_York"} <= {e.timezone for e in events}
