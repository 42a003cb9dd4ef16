"""The contract every source kind keeps, on its saved fixtures and on garbage.

Timed events carry aware datetimes; source uids are stable across two runs and
unique; titles hold no HTML; cancelled events are marked; nothing but a
SourceError escapes on garbage input.
"""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from aggregator.errors import SourceError
from aggregator.registry import installed_kinds
from sources import confs_tech, eventbrite, ics, jsonld, luma, meetup, rss
from tests.conftest import CORPUS, FIXTURES, make_ctx

PARSERS = {
    "ics": lambda data, url, ctx: ics.parse(data, url, ctx=ctx),
    "jsonld": lambda data, url, ctx: jsonld.parse(data, url, ctx=ctx),
    "eventbrite": lambda data, url, ctx: eventbrite.parse(data, url, ctx=ctx),
    "meetup": lambda data, url, ctx: meetup.parse(data, url, ctx=ctx),
    "luma": lambda data, url, ctx: luma.parse(data, url, ctx=ctx),
    "rss": lambda data, url, ctx: rss.parse(data, url, ctx=ctx)[0],
    "confs_tech": lambda data, url, ctx: confs_tech.parse(data, url, ctx=ctx),
}
FIXTURES_BY_KIND = {
    "ics": sorted(p.name for p in (FIXTURES / "ics").glob("*.ics") if "truncated" not in p.name),
    "jsonld": sorted(p.name for p in (FIXTURES / "html").glob("*.html")),
    "eventbrite": ["eventbrite_graph_business_event.html"],
    "meetup": ["meetup_group_events_page_next_data.html", "meetup_event_page_jsonld.html"],
    "luma": ["luma_online_event_utc_millis.html"],
    "rss": ["rss_with_event_dates.xml"],
    "confs_tech": sorted(p.name for p in (FIXTURES / "json").glob("confs_*.json")),
}
FOLDER = {"ics": "ics", "rss": "feeds", "confs_tech": "json"}
CANCELLED = {("jsonld", "cancelled_event_jsonld.html"): "Data viz night",
             ("ics", "status_fields_and_attendees.ics"): "Data viz night"}
CASES = [(kind, name) for kind, names in FIXTURES_BY_KIND.items() for name in names]


def test_every_installed_kind_is_under_contract():
    assert set(installed_kinds()) == set(PARSERS)


def run(kind, name):
    data = (FIXTURES / FOLDER.get(kind, "html") / name).read_bytes()
    return PARSERS[kind](data, "https://example.org/conferences/2027/python.json", make_ctx())


@pytest.mark.parametrize("kind,name", CASES)
def test_contract_on_fixtures(kind, name):
    first, second = run(kind, name), run(kind, name)
    assert first, f"{kind} found no events in {name}"
    uids = [e.source_uid for e in first]
    assert uids == [e.source_uid for e in second], "uids must be stable across runs"
    assert len(set(uids)) == len(uids), "uids must be unique"
    for event in first:
        assert "<" not in event.title and ">" not in event.title
        assert event.title == event.title.strip() and "\n" not in event.title
        if isinstance(event.start, datetime):
            assert event.start.utcoffset() is not None and not event.all_day
            assert event.end is None or event.end.utcoffset() is not None
        else:
            assert event.all_day
        assert event.status in ("confirmed", "tentative", "cancelled")
    if (kind, name) in CANCELLED:
        title = CANCELLED[(kind, name)]
        assert [e.status for e in first if e.title == title] == ["cancelled"]


GARBAGE = [
    b"", b"\x00\xff\xfe" * 100, b"<html><body><h1>Not found</h1></body></html>", b'{"events": [}',
    b'[{"name": 5, "startDate": {"x": 1}}]', b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:garbage\nEND:VEVENT\nEND:VCALENDAR\n",
    b'<script type="application/ld+json">{"@type":"Event","name":"x","startDate":"2026-99-99"}</script>',
    b'<script type="application/ld+json">' + b"[" * 5000 + b"]" * 5000 + b"</script>",
    b"<rss><channel><item><title>" + b"A" * 100000 + b"</title></item></channel></rss>",
    bytes(random.Random(3).randrange(256) for _ in range(4096)),
]


@pytest.mark.parametrize("kind", sorted(PARSERS))
@pytest.mark.parametrize("index", range(len(GARBAGE)))
def test_garbage_never_escapes_as_anything_but_a_source_error(kind, index):
    try:
        events = PARSERS[kind](GARBAGE[index], "https://example.org/x", make_ctx())
    except SourceError as exc:
        assert str(exc)
        return
    assert isinstance(events, list)


CORPUS_PAGES = sorted((CORPUS / "html").glob("*.html")) if (CORPUS / "html").is_dir() else []
CORPUS_FEEDS = sorted((CORPUS / "feeds").glob("*.xml")) if (CORPUS / "feeds").is_dir() else []
CORPUS_JSON = sorted((CORPUS / "json").glob("*.json")) if (CORPUS / "json").is_dir() else []


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_PAGES, reason="../shared/corpus/html is not present")
@pytest.mark.parametrize("path", CORPUS_PAGES, ids=lambda p: p.name)
def test_corpus_pages(path):
    warnings: list[str] = []
    events = jsonld.parse(path.read_bytes(), "https://example.org/", ctx=make_ctx(warnings=warnings))
    if "broken-jsonld" not in path.name:
        assert events, f"no events found in {path.name}"
    for event in events:
        assert event.title and "<" not in event.title


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_FEEDS, reason="../shared/corpus/feeds is not present")
@pytest.mark.parametrize("path", CORPUS_FEEDS, ids=lambda p: p.name)
def test_corpus_feeds(path):
    try:
        events, pending = rss.parse(path.read_bytes(), "https://example.org/", ctx=make_ctx())
    except SourceError as exc:  # the Upcoming API XML is not RSS: one clear error
        assert "not an RSS or Atom feed" in str(exc)
        return
    assert events or pending


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_JSON, reason="../shared/corpus/json is not present")
@pytest.mark.parametrize("path", [p for p in CORPUS_JSON if p.name.startswith("conference-data")], ids=lambda p: p.name)
def test_corpus_conference_data(path):
    events = confs_tech.parse(path.read_bytes(), f"https://x.org/conferences/2026/{path.stem.split('-')[-1]}.json",
                              ctx=make_ctx())
    assert len(events) >= 5 and all(e.all_day for e in events)


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_JSON, reason="../shared/corpus/json is not present")
def test_corpus_meetup_embedded_data_and_luma_entries():
    import json

    next_data = (CORPUS / "json" / "meetup-find-page-next-data-apollo-state-rsvps.json").read_text()
    page = f'<html><body><script id="__NEXT_DATA__" type="application/json">{next_data}</script></body></html>'
    events = meetup.parse(page, "https://www.meetup.com/find/", ctx=make_ctx())
    assert len(events) >= 40 and sum(len(e.attendees) for e in events) > 0
    entries = json.loads((CORPUS / "json" / "luma-discover-api-paginated-events-with-hosts.json").read_text())
    page = f'<html><body><script id="__NEXT_DATA__" type="application/json">{json.dumps(entries)}</script></body></html>'
    found = luma.parse(page, "https://lu.ma/discover", ctx=make_ctx())
    assert found and any(e.attendees for e in found)
