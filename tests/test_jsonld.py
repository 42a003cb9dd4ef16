"""The `jsonld` kind: schema.org events in pages (JSON-LD, microdata, RDFa, microformats)."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from aggregator.errors import SourceError
from sources import jsonld, schemaorg
from tests.conftest import PORTLAND, Cli, fixture_bytes, make_ctx, write_config

UTC = timezone.utc


def parse(name, base="https://example.org/page"):
    warnings: list[str] = []
    events = jsonld.parse(fixture_bytes(f"html/{name}"), base, ctx=make_ctx(warnings=warnings))
    return {e.title: e for e in events}, warnings


def test_meetup_event_page():
    events, warnings = parse("meetup_event_page_jsonld.html")
    e = events["Typing in practice"]
    assert e.start == datetime(2026, 12, 3, 18, 30, tzinfo=PORTLAND)
    assert e.end - e.start == timedelta(hours=2)
    assert e.description == "Gradual typing with mypy & pyright."
    assert e.venue.name == "Puppet Labs" and e.venue.city == "Portland"
    assert e.venue.address == "308 SW 2nd Ave, Portland, OR"
    assert (e.venue.lat, e.venue.lon) == (45.5221, -122.6731)
    assert e.group == "PDX Python" and not e.online and e.status == "confirmed"
    assert e.source_uid == "https://www.meetup.com/pdxpython/events/300000001/"


def test_graph_with_an_event_subtype_and_mixed_attendance():
    events, _ = parse("eventbrite_graph_business_event.html")
    e = events["Portland Tech Mixer"]
    assert e.group == "PDX Tech Collective"
    assert e.online is False  # mixed: there is a place to go
    assert e.venue.name == "Pioneer Place"
    assert e.start.utcoffset() == timedelta(hours=-8)


def test_online_event_with_utc_millisecond_dates():
    events, _ = parse("luma_online_event_utc_millis.html")
    e = events["AI Builders Online"]
    assert e.start == datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    assert e.online and e.venue.name is None


def test_microdata_event_with_html_in_the_name_and_a_relative_url():
    events, _ = parse("microdata_event.html", "https://pcc.example/events")
    e = events["Intro to Rust workshop"]
    assert e.url == "https://pcc.example/workshops/rust-intro"
    assert e.start == datetime(2026, 12, 12, 10, 0, tzinfo=PORTLAND)
    assert e.venue.name == "PCC Sylvania"


def test_h_event_microformat():
    events, _ = parse("h_event_microformats.html")
    e = events["Homebrew Website Club"]
    assert e.start == datetime(2026, 12, 16, 18, 30, tzinfo=PORTLAND)
    assert e.url == "https://indieweb.example/events/homebrew-website-club"
    assert e.venue.name == "Centrl Office, Portland"


def test_cancelled_event():
    events, _ = parse("cancelled_event_jsonld.html")
    assert events["Data viz night"].status == "cancelled"


def test_dates_without_offset_and_date_only():
    events, _ = parse("no_offset_date_jsonld.html")
    civic = events["Civic tech hack night"]
    assert civic.start == datetime(2026, 12, 12, 19, 0, tzinfo=PORTLAND)  # read in the config's zone
    conf = events["PyCascades 2027"]
    assert conf.all_day and conf.start == date(2027, 2, 20) and conf.end == date(2027, 2, 23)


def test_a_malformed_block_does_not_hide_the_valid_ones():
    events, warnings = parse("malformed_block_among_valid.html")
    assert set(events) == {"Still here"}
    assert any("JSON-LD block 1 is not valid JSON" in w for w in warnings)
    assert any("'No date'" in w for w in warnings)


def test_follow_links_reads_linked_event_pages(tmp_path, server):
    server.add("/event/1", fixture_bytes("html/meetup_event_page_jsonld.html"), headers={"Content-Type": "text/html"})
    server.add("/event/2", fixture_bytes("html/cancelled_event_jsonld.html"), headers={"Content-Type": "text/html"})
    server.add("/events", b'<html><body><a href="/event/1">one</a> <a href="/event/2">two</a>'
                          b'<a href="https://elsewhere.example/x">off-site</a></body></html>',
               headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [{"name": "list", "kind": "jsonld", "url": server.url("/events"),
                                       "follow_links": True}]))
    assert cli("fetch").returncode == 0
    titles = {e["title"] for e in cli.json("upcoming", "--limit", "0", "--include-cancelled")}
    assert titles == {"Typing in practice", "Data viz night"}


def test_a_json_body_fails_the_jsonld_source(tmp_path, server):
    server.add("/api", b'{"events": []}', headers={"Content-Type": "application/json"})
    cli = Cli(write_config(tmp_path, [{"name": "api", "kind": "jsonld", "url": server.url("/api")}]))
    result = cli("fetch")
    assert result.returncode == 1 and "not a web page" in result.stdout


# -- hostile pages ---------------------------------------------------------------------------------
EVENT_BLOCK = ('<script type="application/ld+json">{"@type": "Event", "name": "Typing in practice", '
               '"startDate": "2026-12-03T18:30:00-08:00"}</script>')
MEGABYTE = 1_000_000
CRAFTED = {  # each made a regex over "<script ...>(.*?)</script>" or "<a [^>]*href" backtrack quadratically
    "unclosed JSON-LD scripts": '<script type="application/ld+json">{' * (MEGABYTE // 36),
    "unclosed script tags": "<script " * (MEGABYTE // 8),
    "unclosed anchors": "<a x" * (MEGABYTE // 4),
}


def timed_parse(page: str) -> tuple[float, list]:
    started = time.perf_counter()
    events = jsonld.parse(page.encode(), "https://example.org/", ctx=make_ctx())
    return time.perf_counter() - started, events


@pytest.mark.parametrize("kind", CRAFTED)
def test_a_crafted_megabyte_page_parses_in_linear_time(kind):
    # Regression (issue 11, 3a): 200 KB of unclosed JSON-LD scripts took 29.5 s; 1 MB took minutes.
    plain, _ = timed_parse("<html><body>" + EVENT_BLOCK + "<p>hello world</p>" * (MEGABYTE // 18))
    crafted, _ = timed_parse("<html><body>" + EVENT_BLOCK + CRAFTED[kind])
    assert crafted < 10 * plain + 2.0, f"{kind}: {crafted:.2f} s against {plain:.2f} s for a plain page"


def test_crafted_links_do_not_hang_link_following():
    page = '<a href="/events/1">one</a>' + "<a x" * (MEGABYTE // 4) + '<a href="/events/2">two</a>'
    started = time.perf_counter()
    links = schemaorg.same_site_links(page, "https://example.org/")
    assert time.perf_counter() - started < 5.0
    assert links[0] == "https://example.org/events/1"  # what follows the junk is libxml2's recovery to judge


def test_json_ld_with_a_parameter_in_its_type_and_odd_case_is_read():
    page = ('<script type="Application/LD+JSON; charset=utf-8">{"@type": "Event", "name": "Rust night", '
            '"startDate": "2026-12-03T18:30:00-08:00"}</script>')
    assert [e.title for e in jsonld.parse(page.encode(), "https://example.org/", ctx=make_ctx())] == ["Rust night"]


def test_a_spent_time_budget_stops_a_long_parse():
    ctx = make_ctx()
    ctx.deadline = time.monotonic() - 1  # already spent: the first check must stop it
    page = EVENT_BLOCK * (schemaorg.DEADLINE_EVERY * 2)
    with pytest.raises(SourceError, match="time budget"):
        jsonld.parse(page.encode(), "https://example.org/", ctx=ctx)


def test_escape_sequences_in_parser_warnings_are_removed():
    warnings: list[str] = []
    page = '<script type="application/ld+json">{"@type": "Event", "name": "\x1b[2Jboom", "startDate": "x"}</script>'
    jsonld.parse(page.encode(), "https://example.org/", ctx=make_ctx(warnings=warnings))
    assert warnings and not any("\x1b" in w for w in warnings)


def _scheduled_page(frequency: str) -> bytes:
    data = {"@context": "https://schema.org", "@type": "Event", "name": "Python study group",
            "startDate": "2026-12-02T18:00:00-08:00", "endDate": "2026-12-02T20:00:00-08:00",
            "url": "https://example.org/study",
            "eventSchedule": {"@type": "Schedule", "repeatFrequency": frequency, "byDay": ["Wednesday"],
                              "startTime": "18:00", "endTime": "20:00", "scheduleTimezone": "America/Los_Angeles"}}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'.encode()


def test_an_event_with_a_weekly_schedule_and_no_end_gives_its_weeks_inside_the_window():
    window = (datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc))
    events = jsonld.parse(_scheduled_page("P1W"), "https://example.org/", ctx=make_ctx(window=window))
    assert [e.start.day for e in events] == [2, 9, 16, 23, 30]
    assert all(e.start.hour == 18 and e.end.hour == 20 and e.url == "https://example.org/study" for e in events)
    fortnightly = jsonld.parse(_scheduled_page("P2W"), "https://example.org/", ctx=make_ctx(window=window))
    assert [e.start.day for e in fortnightly] == [2, 16, 30]


def test_a_schedule_this_does_not_read_leaves_the_event_as_listed():
    [event] = jsonld.parse(_scheduled_page("P1M"), "https://example.org/", ctx=make_ctx())  # monthly: not expanded
    assert event.start.day == 2 and event.end.hour == 20
