"""The feed server over real HTTP on 127.0.0.1: token, ETag/304, HEAD, escaping, SIGTERM."""

from __future__ import annotations

import email.utils
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from aggregator import config
from aggregator.model import Event
from aggregator.server import FeedService, make_server
from aggregator.store import Store
from tests.conftest import NOW, PORTLAND, fixture_bytes, write_config

UTC = timezone.utc
http = requests.Session()  # every request of these tests goes to 127.0.0.1


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def served(tmp_path):
    def start(token=None):
        path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                            feed={"token": token} if token else {})
        settings = config.load(path)
        store = Store(settings.database)
        store.events.save("src", [
            Event("a", "Python <script>alert('x')</script> night", datetime(2026, 12, 5, 2, 0, tzinfo=UTC),
                  url="https://example.org/a?x=1&y='2'", group="PDX <b>Python</b>"),
            Event("b", "Rust night", datetime(2026, 12, 6, 2, 0, tzinfo=UTC)),
        ], now=NOW, tz=PORTLAND)
        clock = Clock(NOW)
        service = FeedService(settings, store, now=clock)
        httpd = make_server(service, "127.0.0.1", 0)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append((httpd, store))
        return f"http://127.0.0.1:{httpd.server_address[1]}", service, store, clock

    started: list = []
    yield start
    for httpd, store in started:
        httpd.shutdown()
        httpd.server_close()
        store.close()


def test_feed_headers_etag_and_304s(served):
    base, *_ = served()
    first = http.get(base + "/feed.ics")  # requests sends Accept: */*; Google sends none
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.content.startswith(b"BEGIN:VCALENDAR")
    assert http.get(base + "/feed.ics", headers={"If-None-Match": etag}).status_code == 304
    assert http.get(base + "/feed.ics", headers={"If-None-Match": '"other", ' + etag}).status_code == 304
    assert http.get(base + "/feed.ics", headers={"If-None-Match": '"stale"'}).status_code == 200
    modified = first.headers["Last-Modified"]
    assert http.get(base + "/feed.ics", headers={"If-Modified-Since": modified}).status_code == 304
    earlier = email.utils.format_datetime(email.utils.parsedate_to_datetime(modified) - timedelta(seconds=1),
                                          usegmt=True)
    assert http.get(base + "/feed.ics", headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since
    both = {"If-None-Match": '"stale"', "If-Modified-Since": modified}
    assert http.get(base + "/feed.ics", headers=both).status_code == 200


def test_no_accept_header_needed(served):
    import http.client

    base, *_ = served()
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    conn.putrequest("GET", "/feed.ics", skip_accept_encoding=True)
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 200 and response.read().startswith(b"BEGIN:VCALENDAR")


def test_head_matches_get_without_a_body(served):
    base, *_ = served()
    get = http.get(base + "/feed.ics")
    head = http.head(base + "/feed.ics")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.content))


def test_etag_changes_only_after_a_real_change_and_rebuild(served):
    base, service, store, clock = served()
    first = http.get(base + "/feed.ics").headers["ETag"]
    clock.now = NOW + timedelta(hours=1)
    service.invalidate()  # a fetch run that changed nothing
    assert http.get(base + "/feed.ics").headers["ETag"] == first
    store.events.save("src", [Event("b", "Rust night (new room)", datetime(2026, 12, 6, 2, 0, tzinfo=UTC))],
                      now=clock.now, tz=PORTLAND)
    clock.now = NOW + timedelta(hours=2)
    service.invalidate()
    changed = http.get(base + "/feed.ics", headers={"If-None-Match": first})
    assert changed.status_code == 200 and changed.headers["ETag"] != first
    assert email.utils.parsedate_to_datetime(changed.headers["Last-Modified"]) == clock.now


def test_a_fetch_by_another_process_refreshes_the_served_feed(served):
    base, service, store, clock = served()
    first = http.get(base + "/feed.ics")
    other = Store(store.database.path)  # as `aggregator fetch` would, in its own process
    other.events.save("src", [Event("c", "Python and data night", datetime(2026, 12, 7, 2, 0, tzinfo=UTC))],
                      now=NOW, tz=PORTLAND)
    run = other.runs.start(NOW, 1)
    other.runs.finish(run, now=NOW, new=1, updated=0, unchanged=0, removed=0, failed=0, errors={})
    other.close()
    again = http.get(base + "/feed.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and b"Python and data night" in again.content


def test_topic_feed(served):
    base, *_ = served()
    body = http.get(base + "/feed.ics", params={"topic": "rust"}).content
    assert b"Rust night" in body and b"Python" not in body


def test_token_is_required_on_every_path(served):
    base, *_ = served(token="s3cret")
    for path in ("/feed.ics", "/", "/feed.ics?topic=rust"):
        assert http.get(base + path).status_code == 403
        sep = "&" if "?" in path else "?"
        assert http.get(base + path + sep + "token=wrong").status_code == 403
        assert http.get(base + path + sep + "token=s3cret").status_code == 200
    page = http.get(base + "/?token=s3cret").text
    assert "/feed.ics?token=s3cret" in page


def test_page_escapes_scraped_text_and_links_a_subscription(served):
    base, *_ = served()
    page = http.get(base + "/")
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    text = page.text
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "PDX &lt;b&gt;Python&lt;/b&gt;" in text
    # The page links only URLs that pass clean_url (a `"` in a URL now means no link at all).
    assert 'href="https://example.org/a?x=1&amp;y=&#x27;2&#x27;"' in text
    assert f'href="webcal://{base.removeprefix("http://")}/feed.ics"' in text


def test_unknown_path_is_404(served):
    base, *_ = served()
    assert http.get(base + "/nope").status_code == 404


def test_serve_command_prints_the_subscribe_url_and_stops_on_sigterm(tmp_path, server):
    url = server.add("/f.ics", fixture_bytes("ics/meetup_group_feed.ics"))
    config_path = write_config(tmp_path, [{"name": "pdx", "kind": "ics", "url": url, "group": "PDX Python"}],
                               schedule={"cron": "15 4 * * *"})
    env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(config_path), "serve", "--port",
                             "0", "--schedule"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        serving = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", serving)
        assert match, serving
        assert proc.stdout.readline().startswith(f"Subscribe: webcal://127.0.0.1:{match.group(1)}/feed.ics")
        assert "catching up now" in proc.stdout.readline()  # empty database: fetch at once
        assert " fetch: 1 sources, 1 ok" in proc.stdout.readline()
        body = http.get(f"http://127.0.0.1:{match.group(1)}/feed.ics").content
        assert b"Typing in practice" in body  # rebuilt after the scheduled fetch
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - began < 5
    finally:
        if proc.poll() is None:
            proc.kill()
