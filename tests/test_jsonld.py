"""The `jsonld` kind: schema.org events in pages (JSON-LD, microdata, RDFa, microformats)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sources import jsonld
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
