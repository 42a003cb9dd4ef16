"""The page's HTML without a browser: days in the user's zone, people and reasons, links that
carry the token, hostile text and Host headers kept inert."""

from __future__ import annotations

import html.parser
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from aggregator import config
from aggregator.model import Event
from aggregator.page import Links, Status, by_day, render, top_picks
from aggregator.ranking.score import ContactChance, Ranked
from tests.conftest import NOW, PORTLAND, stored_event, write_config

UTC = timezone.utc


@pytest.fixture
def settings(tmp_path):
    return config.load(write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                                    feed={"name": "PDX <events>"}))


def ranked(ident: str, title: str, start, score: float = 1.0, **kw) -> Ranked:
    event = Event(ident, title, start, **kw)
    return Ranked(id=ident, event=event, stored=stored_event(event, tz=PORTLAND), score=score)


class Outline(html.parser.HTMLParser):
    """The tags of a page, to check its structure and that it is well nested."""

    VOID = {"meta", "br", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()


def test_days_are_the_users_days_not_utc_days():
    late = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 23:30 on Dec 1 in Portland
    items = [ranked("b", "Late", late), ranked("a", "Early", datetime(2026, 12, 1, 17, 0, tzinfo=UTC), score=3),
             ranked("c", "All day", date(2026, 12, 2), all_day=True)]
    days = by_day(items, PORTLAND)
    assert [(d, [i.id for i in found]) for d, found in days] == [(date(2026, 12, 1), ["a", "b"]),
                                                                  (date(2026, 12, 2), ["c"])]


def test_the_page_is_well_nested_semantic_html_with_people_and_reasons(settings):
    item = ranked("p", "Python night", datetime(2026, 12, 3, 2, 30, tzinfo=UTC), score=4.5,
                  group="PDX Python", url="https://example.org/p")
    item.reasons = ["topic: python", "Dana Lee attended 4 of the last 5 PDX Python events"]
    item.chances = [ContactChance(1, "Dana Lee", 1.0, "rsvp"), ContactChance(2, "Sam <b>Roe</b>", 0.6, "predicted"),
                    ContactChance(4, "Ana Souza", 0.25, "predicted", overdue=True, detail="goes to PDX Rust"),
                    ContactChance(5, "Lee Kim", 0.3, "speaker"), ContactChance(6, "Rarely Seen", 0.1, "predicted"),
                    ContactChance(3, "Too Unlikely", 0.01, "predicted")]
    item.recent = {2: (4, 5)}
    status = Status(last_fetch=NOW - timedelta(hours=8), failing=[("calagator", "HTTP 503\x1b[2J")])
    text = render([item], settings, Links("http://127.0.0.1:8080/"), now=NOW, status=status)
    outline = Outline()
    outline.feed(text)
    assert outline.stack == []  # every element closed, in order
    for tag in ("header", "main", "section", "ol", "li", "article", "time", "footer", "nav", "h1", "h2", "h3",
                "details", "summary"):
        assert tag in outline.seen, tag
    assert "PDX &lt;events&gt;" in text and "<events>" not in text
    card = text.split("<article")[1].split("</article>")[0]
    line = card.split('<p class="people">')[1].split("</p>")[0]
    # One line: the three most likely, their evidence in the terminal's words (never a bare percentage), the
    # rest counted.
    assert line == ('Dana Lee <span class="why">(RSVPed)</span>, Sam &lt;b&gt;Roe&lt;/b&gt; '
                    '<span class="why">(usually comes, 60%)</span>, Lee Kim <span class="why">(speaking)</span>'
                    ' +2&nbsp;more')
    folded = card.split("<details")[1]
    assert "Dana Lee attended 4 of the last 5 PDX Python events" in folded  # reasons: folded away
    assert "Ana Souza: might come, 25%; goes to PDX Rust; overdue for a catch-up" in folded
    assert "Sam &lt;b&gt;Roe&lt;/b&gt;: usually comes, 60%; came to 4 of the last 5</li>" in folded
    assert "score 4.5 = topics 0.0 × people 1.0 × distance 1.0" in folded and "Too Unlikely" not in text
    assert "Dana Lee attended" not in card.split("<details")[0]
    assert '<time datetime="2026-12-02">' in text  # 18:30 on Dec 2 in Portland
    assert "calagator</strong>: HTTP 503" in text and "\x1b" not in text
    assert "Last fetch:" in text and "8:00 PM PST</time>" in text  # times say their zone
    assert "by day, in Los Angeles time" in text
    events = text.split("<main")[1].split("</main>")[0]
    assert "http" not in events.replace('href="https://example.org/p"', "")  # the event's own link, else relative
    assert 'href="event/p.ics" download aria-describedby="title-p">Add to calendar' in events
    assert "1 event in the next 60 days (to " in text


def test_links_carry_the_token_and_topic_quoted(settings):
    links = Links("https://example.net:8443/", token="a b&c")
    assert links.webcal("machine learning") == \
        "webcal://example.net:8443/feed.ics?topic=machine%20learning&token=a%20b%26c"
    assert links.feed() == "https://example.net:8443/feed.ics?token=a%20b%26c"
    assert links.page() == "./?token=a%20b%26c"
    assert links.event("id/../x") == "event/id%2F..%2Fx.ics?token=a%20b%26c"
    text = render([], settings, links, now=NOW, topic="rust")
    assert 'href="./?topic=rust&amp;token=a%20b%26c" aria-current=page' in text
    assert "https://example.net:8443/feed.ics?topic=rust&amp;token=a%20b%26c" in text
    assert "Google Calendar subscribes only to https" not in text  # reached over https: no note
    assert "No events about rust in the next 60 days" in text


def test_a_page_served_over_plain_http_offers_plain_http_addresses(settings):
    text = render([], settings, Links("http://192.168.1.20:8080/"), now=NOW)
    assert 'href="webcal://192.168.1.20:8080/feed.ics"' in text
    assert ">http://192.168.1.20:8080/feed.ics</code>" in text and "https://192.168" not in text
    assert "Google Calendar subscribes only to https" in text


def test_a_public_url_with_a_path_keeps_its_path():
    links = Links("https://example.org/events/")
    assert links.webcal() == "webcal://example.org/events/feed.ics"
    assert links.feed("rust") == "https://example.org/events/feed.ics?topic=rust"


def test_a_static_site_links_files_relatively(settings):
    links = Links(None, files={"machine learning": "machine-learning", "python": "python", "rust": "rust"}, up="../",
                  event_files={"a/b": "a-b"})
    assert links.feed("machine learning") == "../topics/machine-learning.ics" and links.feed() == "../feed.ics"
    assert links.webcal() is None
    assert links.page() == "../index.html" and links.page("machine learning") == "../topics/machine-learning.html"
    assert links.event("a/b") == "../events/a-b.ics"
    text = render([], settings, links, now=NOW, topic="machine learning")
    assert '<a class="button" href="../topics/machine-learning.ics" data-absolute="">' in text  # the script makes it
    assert "webcal:" not in text.split("<script>")[0]  # the script makes it absolute; without it, it stays relative


def test_top_picks_only_when_there_is_something_to_pick_from():
    items = [ranked(str(i), f"E{i}", NOW + timedelta(days=i), score=float(i)) for i in range(5)]
    assert top_picks(items) == {"4", "3", "2"}
    assert top_picks(items[:3]) == set()


def test_a_forged_host_header_never_reaches_the_page(tmp_path):
    import threading

    from aggregator.server import FeedService, make_server
    from aggregator.store import Store

    settings = config.load(write_config(tmp_path, [{"name": "s", "kind": "ics", "url": "https://example.org/a"}]))
    store = Store(settings.database)
    httpd = make_server(FeedService(settings, store, now=lambda: NOW), "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = httpd.server_address[1]
        text = requests.get(f"http://127.0.0.1:{port}/", headers={"Host": 'evil.example"><script>x'},
                            timeout=5).text
        assert "evil.example" not in text and f"webcal://127.0.0.1:{port}/feed.ics" in text
        assert f">http://127.0.0.1:{port}/feed.ics</code>" in text and "https://" not in text.split("<main")[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        store.close()
