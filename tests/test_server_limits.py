"""The server once it listens beyond localhost (issue 11 item 10): stalled and idle connections
hold no thread, headers have a deadline, a bad token is refused at the request line, keep-alive
and pipelining work, and /event/<id>.ics serves one event as the feed publishes it. All on
127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timezone

import icalendar
import pytest
import requests

from aggregator import config
from aggregator.model import Event
from aggregator.server import MAX_HEADER_BYTES, FeedServer, FeedService
from aggregator.store import Store, event_id
from tests.conftest import NOW, PORTLAND, write_config

UTC = timezone.utc


@pytest.fixture
def start(tmp_path):
    servers: list = []

    def run(token=None, feed=None, **limits):
        path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                            feed={"token": token, **(feed or {})} if token or feed else {})
        settings = config.load(path)
        store = Store(settings.database)
        store.events.save("src", [
            Event("a", "Python night", datetime(2026, 12, 5, 2, 0, tzinfo=UTC)),
            Event("b", "Python day", datetime(2026, 12, 5, 20, 0, tzinfo=UTC)),
        ], now=NOW, tz=PORTLAND)
        service = FeedService(settings, store, now=lambda: NOW)
        httpd = FeedServer(service, "127.0.0.1", 0, **limits)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append((httpd, store))
        return httpd.server_address[1], store, service

    yield run
    for httpd, store in servers:
        httpd.shutdown()
        httpd.server_close()
        store.close()


def raw(port: int, data: bytes, timeout: float = 5) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(data)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_bad_token_is_refused_as_soon_as_the_request_line_is_in(start):
    port, *_ = start(token="s3cret")
    sock = raw(port, b"GET /feed.ics?token=guess HTTP/1.1\r\n")  # no headers, no blank line: never finished
    began = time.monotonic()
    answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 403 ") and time.monotonic() - began < 2
    sock = raw(port, b"GET /feed.ics HTTP/1.1\r\nHost: x\r\n")
    assert read_all(sock).startswith(b"HTTP/1.1 403 ")
    good = requests.get(f"http://127.0.0.1:{port}/feed.ics?token=s3cret", timeout=5)
    assert good.status_code == 200


def test_headers_have_a_deadline_and_idle_connections_are_closed(start):
    port, *_ = start(header_timeout=0.5, idle_timeout=0.8)
    slow = raw(port, b"GET /feed.ics HTTP/1.1\r\nHost: x\r\n")
    silent = socket.create_connection(("127.0.0.1", port), timeout=5)
    began = time.monotonic()
    assert read_all(slow) == b"" and read_all(silent) == b""
    assert time.monotonic() - began < 3
    idle = raw(port, b"GET /feed.ics HTTP/1.1\r\nHost: x\r\n\r\n")
    first = idle.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 ")
    began = time.monotonic()
    while idle.recv(65536):  # the rest of the body, then the server closes the idle connection
        pass
    assert 0.3 < time.monotonic() - began < 3


def test_stalled_connections_hold_no_thread_and_good_clients_are_served(start):
    port, *_ = start()
    threads_before = threading.active_count()
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(300)]
    for sock in held[::2]:
        sock.sendall(b"GET /feed.ics HTTP/1.1\r\n")
    try:
        with requests.Session() as session:
            began = time.monotonic()
            for _ in range(20):
                assert session.get(f"http://127.0.0.1:{port}/feed.ics", timeout=5).status_code == 200
            assert time.monotonic() - began < 10
        assert threading.active_count() <= threads_before + 8  # the pool, not one thread per connection
    finally:
        for sock in held:
            sock.close()


def test_keep_alive_and_pipelined_requests_share_one_connection(start):
    port, *_ = start()
    request = b"GET /feed.ics HTTP/1.1\r\nHost: x\r\n\r\n"
    sock = raw(port, request + b"HEAD /feed.ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = read_all(sock)
    assert answer.count(b"HTTP/1.1 200 ") == 2 and answer.count(b"BEGIN:VCALENDAR") == 1


def test_other_methods_and_huge_headers_are_refused(start):
    port, *_ = start()
    post = raw(port, b"POST /feed.ics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
    assert read_all(post).startswith(b"HTTP/1.1 405 ")
    huge = raw(port, b"GET /feed.ics HTTP/1.1\r\nX-Junk: " + b"a" * (MAX_HEADER_BYTES + 10))
    assert read_all(huge).startswith(b"HTTP/1.1 431 ")
    garbage = raw(port, b"\x16\x03\x01 not http at all\r\n\r\n")
    assert read_all(garbage).startswith(b"HTTP/1.1 400 ")


def test_one_event_calendar_has_the_feeds_uid_and_the_token_rules(start):
    port, *_ = start(token="s3cret", feed={"limit_per_week": 1})
    feed = icalendar.Calendar.from_ical(requests.get(f"http://127.0.0.1:{port}/feed.ics?token=s3cret", timeout=5).content)
    [in_feed] = feed.walk("VEVENT")  # limit_per_week 1: the other event is not in the feed
    ident = str(in_feed["UID"]).split("@")[0]
    answer = requests.get(f"http://127.0.0.1:{port}/event/{ident}.ics?token=s3cret", timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    [single] = icalendar.Calendar.from_ical(answer.content).walk("VEVENT")
    assert single.to_ical() == in_feed.to_ical()  # the same VEVENT, stamps and all
    assert requests.get(f"http://127.0.0.1:{port}/event/{ident}.ics", timeout=5).status_code == 403
    other = ({event_id("src", "a"), event_id("src", "b")} - {ident}).pop()
    [outside] = icalendar.Calendar.from_ical(
        requests.get(f"http://127.0.0.1:{port}/event/{other}.ics?token=s3cret", timeout=5).content).walk("VEVENT")
    assert str(outside["UID"]) == f"{other}@aggregator"
    assert requests.get(f"http://127.0.0.1:{port}/event/nope0000.ics?token=s3cret", timeout=5).status_code == 404


def test_a_read_only_database_serves_an_unchanged_feed_and_says_why_otherwise(start):
    port, store, service = start()
    first = requests.get(f"http://127.0.0.1:{port}/feed.ics", timeout=5)
    store.database.conn.execute("PRAGMA query_only = ON")  # as a database file the server cannot write
    service.invalidate()  # a rebuild after a run that changed nothing: nothing new to record
    again = requests.get(f"http://127.0.0.1:{port}/feed.ics", timeout=5)
    assert again.status_code == 200 and again.content == first.content
    store.database.conn.execute("PRAGMA query_only = OFF")
    store.events.save("src", [Event("c", "Python later", datetime(2026, 12, 9, 2, 0, tzinfo=UTC))],
                      now=NOW, tz=PORTLAND)
    run = store.runs.start(NOW, 1)
    store.runs.finish(run, now=NOW, new=1, updated=0, unchanged=0, removed=0, failed=0, errors={})
    store.database.conn.execute("PRAGMA query_only = ON")
    answer = requests.get(f"http://127.0.0.1:{port}/feed.ics", timeout=5)
    assert answer.status_code == 503 and "read-only" in answer.text and first.status_code == 200


def test_shutdown_is_prompt_while_a_client_does_not_read_its_answer(tmp_path):
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        feed={"limit_per_week": 0})
    settings = config.load(path)
    store = Store(settings.database)
    store.events.save("src", [Event(f"e{i}", f"Python night {i}", datetime(2026, 12, 5, 2, i, tzinfo=UTC),
                                    description="x" * 3000) for i in range(60)], now=NOW, tz=PORTLAND)
    httpd = FeedServer(FeedService(settings, store, now=lambda: NOW), "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never reads: the worker blocks sending
    sock.connect(("127.0.0.1", httpd.server_address[1]))
    sock.sendall(b"GET /feed.ics HTTP/1.1\r\nHost: x\r\n\r\n" * 60)  # about 11 MB of answers
    time.sleep(1)
    began = time.monotonic()
    httpd.shutdown()
    httpd.server_close()
    assert time.monotonic() - began < 3
    sock.close()
    store.close()


def test_an_event_left_out_of_a_served_feed_is_logged_once(start, monkeypatch, caplog):
    from aggregator import feed

    real = feed.published

    def failing(item):
        if item.event.title == "Python day":
            raise ValueError("cannot be written")
        return real(item)

    monkeypatch.setattr(feed, "published", failing)
    port, *_ = start()
    with caplog.at_level("WARNING", logger="aggregator.server"):
        for _ in range(3):
            answer = requests.get(f"http://127.0.0.1:{port}/feed.ics", timeout=5)
            assert answer.status_code == 200 and b"Python night" in answer.content
    assert [r.getMessage() for r in caplog.records if "left out" in r.getMessage()] == [
        f"feed all: event left out: {event_id('src', 'b')}: 'Python day': cannot be written"]
