"""The `rss` kind: entries with structured dates, and entries followed to their pages."""

from __future__ import annotations

import time
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


# -- hostile feeds -----------------------------------------------------------------------------------
FEED_WITH_EVENT = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                   b'xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel><title>Local file</title>'
                   b'<item><title>Read from my disk</title><ev:startdate>2026-12-03T18:30:00-08:00</ev:startdate>'
                   b'</item></channel></rss>')


def test_a_bogus_declared_encoding_is_a_clear_source_error():
    # Regression (issue 11, item 9): feedparser raised UnicodeError/ValueError, reported as an internal error.
    data = (b'<?xml version="1.0" encoding="undefined"?><rss version="2.0"><channel><title>x</title>'
            b'<item><title>y</title></item></channel></rss>')
    with pytest.raises(SourceError, match="declared encoding 'undefined' cannot be used"):
        rss.parse(data, "", ctx=make_ctx())


def test_a_body_naming_a_local_file_is_not_read_as_that_file(tmp_path):
    # feedparser.parse(bytes) opens the bytes as a file name when such a file exists: a server answering
    # "/home/me/secret.xml" made us read and store that file.
    local = tmp_path / "secret.xml"
    local.write_bytes(FEED_WITH_EVENT)
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        rss.parse(str(local).encode(), "", ctx=make_ctx())
    assert [e.title for e in rss.parse(FEED_WITH_EVENT, "", ctx=make_ctx())[0]] == ["Read from my disk"]


def test_escape_sequences_in_a_parser_error_are_removed():
    with pytest.raises(SourceError) as caught:
        rss.parse(b"\x1b]8;;http://evil\x07not a feed\x1b[2J", "", ctx=make_ctx())
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value)


def test_a_spent_time_budget_stops_a_long_feed():
    items = b"".join(b"<item><title>t%d</title><ev:startdate>2026-12-03T18:30:00-08:00</ev:startdate></item>" % i
                     for i in range(rss.DEADLINE_EVERY * 2))
    data = FEED_WITH_EVENT.replace(b"</channel>", items + b"</channel>")
    ctx = make_ctx()
    ctx.deadline = time.monotonic() - 1
    with pytest.raises(SourceError, match="time budget"):
        rss.parse(data, "", ctx=ctx)


def test_a_zone_less_date_at_a_venue_in_another_country_is_that_venues():
    from zoneinfo import ZoneInfo

    feed = (b'<?xml version="1.0"?><rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/">'
            b'<channel><title>Concerts</title>'
            b'<item><title>Abroad</title><ev:startdate>2026-12-10T20:30:00</ev:startdate>'
            b'<ev:location>Paradiso, Amsterdam, Netherlands</ev:location></item>'
            b'<item><title>Here</title><ev:startdate>2026-12-10T20:30:00</ev:startdate>'
            b'<ev:location>Doug Fir Lounge</ev:location></item></channel></rss>')
    events, _ = rss.parse(feed, "https://events.example.org/", ctx=make_ctx(tz=PORTLAND))
    by_title = {e.title: e for e in events}
    assert by_title["Abroad"].start == datetime(2026, 12, 10, 20, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert by_title["Abroad"].timezone == "Europe/Amsterdam"
    assert by_title["Here"].start == datetime(2026, 12, 10, 20, 30, tzinfo=PORTLAND)
