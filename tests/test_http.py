"""The polite HTTP session, against a local server."""

from __future__ import annotations

import threading

import pytest

from aggregator import PROJECT_URL
from aggregator.config import FetchSettings
from aggregator.errors import SourceError
from aggregator.http import Http
from aggregator.store import Store
from tests.localserver import Route


class Recorder:
    def __init__(self):
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))


def make_http(tmp_path=None, sleep=None, **settings) -> Http:
    fetch = FetchSettings(**{"per_host_delay": 0, "timeout": 5, "retries": 2, **settings})
    cache = Store(tmp_path / "events.db").http_cache if tmp_path else None
    return Http(fetch, cache=cache, sleep=sleep or Recorder())


def test_user_agent_names_the_project(server):
    server.add("/a", b"x")
    make_http().get(server.url("/a"))
    assert PROJECT_URL in server.hits[0].headers["user-agent"]
    assert server.hits[0].headers["user-agent"].startswith("aggregator/")


def test_unchanged_resource_is_a_304_answered_from_the_stored_body(tmp_path, server):
    server.add("/feed.ics", b"BEGIN:VCALENDAR", headers={"ETag": '"v1"', "Content-Type": "text/calendar"})
    first = make_http(tmp_path).get(server.url("/feed.ics"))
    assert first.status == 200 and not first.not_modified
    again = make_http(tmp_path)  # a new session: the validators live in the database
    second = again.get(server.url("/feed.ics"))
    second_hit = server.hits_for("/feed.ics")[1]
    assert second_hit.headers["if-none-match"] == '"v1"'
    assert second_hit.status == 304
    assert second.not_modified and second.content == b"BEGIN:VCALENDAR"
    assert second.content_type == "text/calendar"
    assert again.not_modified_count == 1


def test_last_modified_is_sent_back(tmp_path, server):
    stamp = "Wed, 25 Nov 2026 10:00:00 GMT"
    server.add("/f", b"body", headers={"Last-Modified": stamp})
    make_http(tmp_path).get(server.url("/f"))
    make_http(tmp_path).get(server.url("/f"))
    assert server.hits_for("/f")[1].headers["if-modified-since"] == stamp


def test_retry_after_is_honoured(server):
    server.routes["/busy"] = [Route(b"slow down", 429, headers={"Retry-After": "3"}), Route(b"ok")]
    sleep = Recorder()
    response = make_http(sleep=sleep).get(server.url("/busy"))
    assert response.content == b"ok"
    assert sleep.sleeps == [3.0]
    assert len(server.hits_for("/busy")) == 2


def test_5xx_is_retried_with_exponential_backoff_then_fails(server):
    server.add("/down", b"no", 503)
    sleep = Recorder()
    http = make_http(sleep=sleep, retries=2)
    http.backoff = 0.5
    with pytest.raises(SourceError, match="HTTP 503"):
        http.get(server.url("/down"))
    assert sleep.sleeps == [0.5, 1.0]
    assert len(server.hits_for("/down")) == 3


def test_a_retry_after_past_the_deadline_gives_up_at_once(server):
    server.add("/later", b"", 503, headers={"Retry-After": "3600"})
    sleep = Recorder()
    with pytest.raises(SourceError, match="retry after 3600 s"):
        make_http(sleep=sleep).get(server.url("/later"))
    assert sleep.sleeps == []


def test_404_is_not_retried(server):
    with pytest.raises(SourceError, match="HTTP 404"):
        make_http().get(server.url("/missing"))
    assert len(server.hits_for("/missing")) == 1


def test_declared_size_over_the_cap_fails_before_reading(server):
    server.add("/big", b"x" * 5000)
    with pytest.raises(SourceError, match="over the 1,000-byte cap"):
        make_http(max_bytes=1000).get(server.url("/big"))


def test_streamed_body_over_the_cap_fails_while_reading(server):
    server.routes["/endless"] = Route(b"y" * 300_000, chunked=True)
    with pytest.raises(SourceError, match="more than 100,000 bytes"):
        make_http(max_bytes=100_000).get(server.url("/endless"))


def test_redirect_loops_stop(server):
    server.add("/loop", b"", 302, headers={"Location": "/loop"})
    with pytest.raises(SourceError, match="more than 5 redirects"):
        make_http().get(server.url("/loop"))


def test_redirects_are_followed(server):
    server.add("/old", b"", 301, headers={"Location": "/new"})
    server.add("/new", b"moved here")
    response = make_http().get(server.url("/old"))
    assert response.content == b"moved here" and response.url.endswith("/new")


def test_only_http_and_file_urls(tmp_path):
    http = make_http()
    with pytest.raises(SourceError, match="only http"):
        http.get("ftp://example.org/x.ics")
    local = tmp_path / "feed.ics"
    local.write_bytes(b"BEGIN:VCALENDAR")
    assert http.get(local.as_uri()).content == b"BEGIN:VCALENDAR"
    with pytest.raises(SourceError, match="file not found"):
        http.get((tmp_path / "nope.ics").as_uri())


def test_one_request_at_a_time_per_host_but_hosts_overlap(server):
    server.add("/slow", b"ok", delay=0.3)
    http = make_http()
    urls = [server.url("/slow"), server.url("/slow"), f"http://localhost:{server.port}/slow"]
    threads = [threading.Thread(target=http.get, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_host: dict[str, list] = {}
    for hit in server.hits_for("/slow"):
        by_host.setdefault(hit.headers["host"].split(":")[0], []).append(hit)
    same = sorted(by_host["127.0.0.1"], key=lambda h: h.started)
    assert len(same) == 2 and same[1].started >= same[0].finished  # never in flight together
    assert server.max_in_flight == 2  # the other host ran alongside


def test_robots_txt_disallow_is_respected(server):
    server.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n\nUser-agent: aggregator\nDisallow: /members/\n")
    server.add("/members/list", b"secret")
    server.add("/private/x", b"secret")
    server.add("/events.ics", b"ok")
    http = make_http()
    with pytest.raises(SourceError, match="robots.txt of .* disallows /members/list"):
        http.get(server.url("/members/list"))
    assert http.get(server.url("/private/x")).content == b"secret"  # our group has its own rules
    assert http.get(server.url("/events.ics")).content == b"ok"
    assert server.hits_for("/members/list") == []
    assert len(server.hits_for("/robots.txt")) == 1  # once per host and session
    assert server.hits_for("/robots.txt")[0].headers["user-agent"].startswith("aggregator/")


def test_the_users_own_resource_skips_robots_but_keeps_every_other_guard(server):
    server.add("/robots.txt", b"User-agent: *\nDisallow: /calendar/\n")
    server.add("/calendar/ical/me/basic.ics", b"BEGIN:VCALENDAR")
    server.add("/calendar/huge.ics", b"x" * 5000)
    http = make_http(max_bytes=1000)
    with pytest.raises(SourceError, match="disallows"):
        http.get(server.url("/calendar/ical/me/basic.ics"))
    assert http.get_own(server.url("/calendar/ical/me/basic.ics")).content == b"BEGIN:VCALENDAR"
    with pytest.raises(SourceError):  # the size cap still holds
        http.get_own(server.url("/calendar/huge.ics"))
    with pytest.raises(SourceError, match="only http"):
        http.get_own("ftp://example.org/calendar.ics")


def test_robots_crawl_delay_spaces_requests(server):
    server.add("/robots.txt", b"User-agent: *\nCrawl-delay: 7\n")
    server.add("/a", b"ok")
    sleep = Recorder()
    http = make_http(sleep=sleep, per_host_delay=1.0)
    http.get(server.url("/a"))
    http.get(server.url("/a"))
    assert sleep.sleeps and max(sleep.sleeps) > 6


def test_robots_5xx_means_not_now_and_404_means_allowed(server):
    server.add("/robots.txt", b"down", 503)
    server.add("/a", b"ok")
    with pytest.raises(SourceError, match="robots.txt of .* could not be read"):
        make_http().get(server.url("/a"))
    assert server.hits_for("/a") == []
    server.add("/robots.txt", b"", 404)
    assert make_http().get(server.url("/a")).content == b"ok"


def test_minimum_interval_between_requests_to_one_host(server):
    server.add("/a", b"ok")
    sleep = Recorder()
    http = make_http(sleep=sleep, per_host_delay=5.0)
    http.get(server.url("/a"))
    http.get(server.url("/a"))
    assert len(sleep.sleeps) == 1 and 4.5 < sleep.sleeps[0] <= 5.0
