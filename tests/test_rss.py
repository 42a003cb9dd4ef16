"""The `rss` kind: entries with structured dates, and entries followed to their pages."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from aggregator.errors import SourceError
from sources import rss
from tests.conftest import PORTLAND, Cli, fixture_bytes, make_ctx, write_config


def test_entries_with_event_module_dates():
    events, pending = rss.parse(fixture_bytes("feeds/rss_with_event_dates.xml"), "https://events.example.org/",
                                ctx=make_ctx())
    assert pending == []
    by_title = {e.title: e for e in events}
    k8s = by_title["Kubernetes office hours"]
    assert k8s.start == datetime(2026, 12, 4, 18, 0, tzinfo=PORTLAND)
    assert k8s.venue.name == "Puppet Labs" and k8s.description == "Bring questions."
    assert k8s.source_uid == "k8s-dec" and k8s.group == "Portland Tech Events"
    assert by_title["Python hack day"].all_day and by_title["Python hack day"].start == date(2026, 12, 13)


def test_entries_without_dates_are_followed_to_their_pages(tmp_path, server):
    page = server.add("/posts/typing", fixture_bytes("html/meetup_event_page_jsonld.html"),
                      headers={"Content-Type": "text/html"})
    feed = fixture_bytes("feeds/rss_without_dates.xml").replace(b"PAGE_URL", page.encode())
    events, pending = rss.parse(feed, "", ctx=make_ctx())
    assert events == [] and pending == [(page, "Join us for Typing in practice")]
    server.add("/feed.xml", feed, headers={"Content-Type": "application/rss+xml"})
    cli = Cli(write_config(tmp_path, [{"name": "blog", "kind": "rss", "url": server.url("/feed.xml")}]))
    result = cli("fetch")
    assert result.returncode == 0
    assert [e["title"] for e in cli.json("upcoming", "--days", "30")] == ["Typing in practice"]
    assert "no date and no link" in result.stderr


def test_not_a_feed():
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        rss.parse(b"<html><body>hello</body></html>", "", ctx=make_ctx())
