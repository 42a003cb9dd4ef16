"""The contract every source kind keeps, on its saved fixtures and on garbage.

Each built-in kind passes the plugin kit (`aggregator.testing.SourceContract`, the
same tests a third-party kind inherits) on its fixtures: timed events carry aware
datetimes; source uids are stable across two runs and unique; titles hold no HTML;
nothing but a SourceError escapes on garbage input. Below: cases beyond the kit
(cancelled events marked, the garbage inputs that once broke a parser), the
registry's view of installed kinds, and the shared corpus.
"""

from __future__ import annotations

import random
from importlib.metadata import entry_points

import pytest

from aggregator.errors import SourceError
from aggregator.registry import installed_kinds, load_source
from aggregator.testing import SourceContract
from sources import atproto, confs_tech, eventbrite, ics, jsonld, luma, meetup, rss, schedule, sessionize
from tests.conftest import CORPUS, FIXTURES, make_ctx


def built_in_kinds() -> list[str]:
    """The kinds this project registers (pyproject's entry points), not a third party's installed beside them."""
    return sorted(ep.name for ep in entry_points(group="aggregator.sources")
                  if ep.dist is not None and ep.dist.name.lower() == "aggregator")


FIXTURES_BY_KIND = {
    "ics": sorted(p.name for p in (FIXTURES / "ics").glob("*.ics") if "truncated" not in p.name),
    "jsonld": sorted(p.name for p in (FIXTURES / "html").glob("*.html")),
    "eventbrite": ["eventbrite_graph_business_event.html"],
    "meetup": ["meetup_group_events_page_next_data.html", "meetup_event_page_jsonld.html"],
    "luma": ["luma_online_event_utc_millis.html"],
    "rss": ["rss_with_event_dates.xml"],
    "confs_tech": sorted(p.name for p in (FIXTURES / "json").glob("confs_*.json")),
    "schedule": sorted(p.name for p in (FIXTURES / "schedule").iterdir()),
    "sessionize": ["all_view.json"],
    "atproto": ["atproto_list_records.json"],
}
FOLDER = {"ics": "ics", "rss": "feeds", "confs_tech": "json", "atproto": "json", "schedule": "schedule", "sessionize": "sessionize"}
SAMPLE_URL = "https://example.org/conferences/2027/python.json"  # confs_tech reads its topic from the URL
CANCELLED = {("jsonld", "cancelled_event_jsonld.html"): "Data viz night",
             ("ics", "status_fields_and_attendees.ics"): "Data viz night"}


def samples_of(kind: str) -> list[tuple[bytes, str]]:
    return [((FIXTURES / FOLDER.get(kind, "html") / name).read_bytes(), SAMPLE_URL) for name in FIXTURES_BY_KIND[kind]]


def contracts() -> dict[str, type[SourceContract]]:
    """kind -> its contract class in this module."""
    return {cls.kind.kind: cls for cls in SourceContract.__subclasses__() if cls.__module__ == __name__}


def parser_of(kind: str):
    """The kind's pure parse step as (data, url, ctx) -> events: its contract's."""
    return contracts()[kind]().parse


# Every built-in kind passes every garbage case of the kit: none sets `known_bugs`.

class TestAtprotoContract(SourceContract):
    kind = atproto.AtprotoSource()
    samples = samples_of("atproto")


class TestIcsContract(SourceContract):
    kind = ics.IcsSource()
    samples = samples_of("ics")


class TestJsonLdContract(SourceContract):
    kind = jsonld.JsonLdSource()
    samples = samples_of("jsonld")


class TestEventbriteContract(SourceContract):
    kind = eventbrite.EventbriteSource()
    samples = samples_of("eventbrite")


class TestMeetupContract(SourceContract):
    kind = meetup.MeetupSource()
    samples = samples_of("meetup")


class TestLumaContract(SourceContract):
    kind = luma.LumaSource()
    samples = samples_of("luma")


class TestRssContract(SourceContract):
    kind = rss.RssSource()
    samples = samples_of("rss")

    def parse(self, data, url, ctx):  # rss.parse also returns the entry pages still to read
        return rss.parse(data, url, ctx=ctx)[0]


class TestConfsTechContract(SourceContract):
    kind = confs_tech.ConfsTechSource()
    samples = samples_of("confs_tech")


class TestScheduleContract(SourceContract):
    kind = schedule.ScheduleSource()
    samples = samples_of("schedule")


class TestSessionizeContract(SourceContract):
    kind = sessionize.SessionizeSource()
    samples = samples_of("sessionize")


def test_every_built_in_kind_is_installed_and_under_contract():
    """The built-ins are read from the entry points: a kind added to pyproject.toml without a
    contract class here fails; a third-party kind installed beside them is none of this test's business."""
    built_in = built_in_kinds()
    assert {"ics", "schedule", "sessionize"} <= set(built_in) <= set(installed_kinds())
    assert set(contracts()) == set(built_in)
    for name in built_in:
        assert type(load_source(name)) is type(contracts()[name].kind)


@pytest.mark.parametrize("name", built_in_kinds())
def test_every_built_in_kind_loads_under_its_own_name(name):
    """The registry checks it on load (kind == entry-point name, api_version known); say it here too."""
    source = load_source(name)
    assert source.kind == name


@pytest.mark.parametrize("kind,name", [(k, n) for (k, n) in CANCELLED])
def test_cancelled_events_are_marked(kind, name):
    data = (FIXTURES / FOLDER.get(kind, "html") / name).read_bytes()
    events = parser_of(kind)(data, SAMPLE_URL, make_ctx())
    assert [e.status for e in events if e.title == CANCELLED[(kind, name)]] == ["cancelled"]


GARBAGE = [
    b"", b"\x00\xff\xfe" * 100, b"<html><body><h1>Not found</h1></body></html>", b'{"events": [}',
    b'[{"name": 5, "startDate": {"x": 1}}]', b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:garbage\nEND:VEVENT\nEND:VCALENDAR\n",
    b'<script type="application/ld+json">{"@type":"Event","name":"x","startDate":"2026-99-99"}</script>',
    b'<script type="application/ld+json">' + b"[" * 5000 + b"]" * 5000 + b"</script>",
    b"<rss><channel><item><title>" + b"A" * 100000 + b"</title></item></channel></rss>",
    bytes(random.Random(3).randrange(256) for _ in range(4096)),
]


@pytest.mark.parametrize("kind", built_in_kinds())
@pytest.mark.parametrize("index", range(len(GARBAGE)))
def test_garbage_never_escapes_as_anything_but_a_source_error(kind, index):
    """Inputs written for one format thrown at every parser (the kit's cases are per kind)."""
    try:
        events = parser_of(kind)(GARBAGE[index], "https://example.org/x", make_ctx())
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
