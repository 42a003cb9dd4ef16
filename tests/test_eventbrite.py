"""The `eventbrite` kind: organizer and event pages through their JSON-LD."""

from __future__ import annotations

from sources import eventbrite
from tests.conftest import Cli, fixture_bytes, make_ctx, write_config


def test_event_page_graph_subtype():
    [e] = eventbrite.parse(fixture_bytes("html/eventbrite_graph_business_event.html"),
                           "https://www.eventbrite.com/e/portland-tech-mixer-tickets-555", ctx=make_ctx())
    assert e.title == "Portland Tech Mixer" and e.group == "PDX Tech Collective"
    assert e.description == "Meet founders & engineers."


def test_organizer_page_follows_event_links(tmp_path, server):
    server.add("/o/pdx-tech-123", b'<html><body><a href="/e/portland-tech-mixer-tickets-555">Mixer</a>'
                                     b'<a href="/e/another-mixer-tickets-777">Sold out</a></body></html>',
               headers={"Content-Type": "text/html"})
    server.add("/e/portland-tech-mixer-tickets-555", fixture_bytes("html/eventbrite_graph_business_event.html"),
               headers={"Content-Type": "text/html"})
    server.add("/e/another-mixer-tickets-777", b"gone", 404)
    cli = Cli(write_config(tmp_path, [{"name": "eb", "kind": "eventbrite", "url": server.url("/o/pdx-tech-123")}]))
    result = cli("fetch")
    assert result.returncode == 0
    assert "HTTP 404" in result.stderr  # one dead event page: a warning, not a failure
    assert [e["title"] for e in cli.json("upcoming", "--days", "30")] == ["Portland Tech Mixer"]
