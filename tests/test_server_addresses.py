"""The addresses the page offers: feed.public_url, else the scheme and host it was requested at (never
https over plain http); `serve --host 0.0.0.0` prints an address one can open."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import requests

from aggregator import config
from aggregator.server import FeedService, make_server
from aggregator.server_addresses import interface_addresses, lan_address, valid_host
from aggregator.store import Store
from tests.conftest import NOW, write_config

SOURCES = [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}]


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(**feed) -> str:
        settings = config.load(write_config(tmp_path, SOURCES, feed=feed))
        store = Store(settings.database)
        httpd = make_server(FeedService(settings, store, now=lambda: NOW), "127.0.0.1", 0)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append((httpd, store))
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for httpd, store in started:
        httpd.shutdown()
        httpd.server_close()
        store.close()


def subscribe_links(text: str) -> tuple[str, str]:
    webcal = re.search(r'<a class="button" href="([^"]+)"', text).group(1)
    address = re.search(r'<code id="feed-url"[^>]*>([^<]+)</code>', text).group(1)
    return webcal, address


def test_the_page_offers_the_address_it_was_requested_at(serve):
    base = serve()
    port = base.rsplit(":", 1)[1].strip("/")
    text = requests.get(base, timeout=5).text
    assert subscribe_links(text) == (f"webcal://127.0.0.1:{port}/feed.ics", f"http://127.0.0.1:{port}/feed.ics")
    assert "Google Calendar subscribes only to https" in text
    lan = requests.get(base, headers={"Host": "192.168.1.20:8080"}, timeout=5).text  # reached from a phone
    assert subscribe_links(lan) == ("webcal://192.168.1.20:8080/feed.ics", "http://192.168.1.20:8080/feed.ics")
    v6 = requests.get(base, headers={"Host": "[fd00::5]:8080"}, timeout=5).text
    assert subscribe_links(v6)[1] == "http://[fd00::5]:8080/feed.ics"
    forged = requests.get(base, headers={"Host": "evil.example/x?"}, timeout=5).text
    assert subscribe_links(forged)[1] == f"http://127.0.0.1:{port}/feed.ics"
    proxied = requests.get(base, headers={"Host": "events.example.org", "X-Forwarded-Proto": "https"}, timeout=5)
    assert subscribe_links(proxied.text) == ("webcal://events.example.org/feed.ics",
                                             "https://events.example.org/feed.ics")
    assert "Google Calendar subscribes only to https" not in proxied.text


def test_public_url_wins_over_the_host_asked_for(serve):
    base = serve(public_url="https://events.example.org/pdx", token="t0ken")
    text = requests.get(base + "?token=t0ken", headers={"Host": "127.0.0.1:9"}, timeout=5).text
    assert subscribe_links(text) == ("webcal://events.example.org/pdx/feed.ics?token=t0ken",
                                     "https://events.example.org/pdx/feed.ics?token=t0ken")
    assert 'href="./?topic=rust&amp;token=t0ken"' in text  # the page's own links stay relative


@pytest.mark.parametrize("value", ["ftp://example.org/", "events.example.org", "https://", "https://x.org/?a=1",
                                   "https://x.org:port/", 42, "https://exa mple.org/"])
def test_public_url_must_be_an_http_address(tmp_path, value):
    with pytest.raises(config.ConfigProblems) as problem:
        config.load(write_config(tmp_path, SOURCES, feed={"public_url": value}))
    assert "feed.public_url: must be an http(s) address" in str(problem.value)


def test_public_url_gets_one_trailing_slash(tmp_path):
    settings = config.load(write_config(tmp_path, SOURCES, feed={"public_url": " https://x.org/events// "}))
    assert settings.feed.public_url == "https://x.org/events/"


def test_hosts_a_link_could_be_forged_from_are_refused():
    assert all(valid_host(h) for h in ("127.0.0.1:8080", "example.org", "[::1]:8080", "my-pi.local"))
    assert not any(valid_host(h) for h in ("", "evil\"><x", "a b", "x:80:80", "user@host", "a/b", "x" * 300))


def test_the_lan_address_is_one_to_open():
    found = lan_address("0.0.0.0")
    assert ipaddress.ip_address(found).version == 4 and found != "0.0.0.0"
    others = [a for a in interface_addresses() if not a.startswith("127.")]
    assert found == (others[0] if others else "127.0.0.1")  # an interface's own address, or loopback
    assert lan_address("127.0.0.1") == "127.0.0.1" and lan_address("192.168.1.5") == "192.168.1.5"


def test_serve_on_every_interface_prints_an_address_to_open(tmp_path):
    path = write_config(tmp_path, SOURCES, feed={"token": "t0ken-long-enough"})
    env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(path), "serve", "--host", "0.0.0.0",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        serving, subscribe = proc.stdout.readline(), proc.stdout.readline()
        match = re.match(r"Serving on http://([\d.]+):(\d+)/ \(listening on every interface", serving)
        assert match and match.group(1) != "0.0.0.0", serving
        assert subscribe.strip() == f"Subscribe: webcal://{match.group(1)}:{match.group(2)}/feed.ics?token=" \
                                    "t0ken-long-enough"
        answer = requests.get(f"http://127.0.0.1:{match.group(2)}/?token=t0ken-long-enough", timeout=5)
        assert answer.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
