"""Serve the feed (and a small page of the ranked events) from the user's machine.

GET and HEAD on `/feed.ics` (optionally `?topic=T`) and `/`. The feed is
built once and kept in memory until the next fetch run; it carries a strong
ETag (a hash of its bytes) and a true Last-Modified, and a client that already
has these bytes gets a 304. When `feed.token` is set every path needs
`?token=`. The Accept header is ignored (Google Calendar sends none).
"""

from __future__ import annotations

import email.utils
import html
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from aggregator import feed as feed_module
from aggregator import rank
from aggregator.config import Settings
from aggregator.http import parse_http_date
from aggregator.store import Store

PAGE_DAYS = 60
PAGE_LIMIT = 100


class FeedService:
    """Builds and caches feeds and the page; thread-safe."""

    def __init__(self, settings: Settings, store: Store, *, now: Callable[[], datetime]):
        self.settings = settings
        self.store = store
        self.now = now
        self._feeds: dict[str, feed_module.Feed] = {}
        self._lock = threading.Lock()
        self._version = None

    def feed(self, topic: str | None) -> feed_module.Feed:
        key = feed_module.feed_key(topic)
        with self._lock:
            version = self.store.data_version()  # a `fetch` run by another process counts too
            if version != self._version:
                self._feeds.clear()
                self._version = version
            cached = self._feeds.get(key)
            if cached is None:
                cached = feed_module.build(self.store, self.settings, now=self.now(), topic=topic)
                self._feeds[key] = cached
            return cached

    def invalidate(self) -> None:
        """Drop every cached feed (after a fetch run) and rebuild the main one."""
        with self._lock:
            self._feeds.clear()
        self.feed(None)

    def page(self, subscribe_url: str) -> bytes:
        items = rank.upcoming(self.store, self.settings, now=self.now(), days=PAGE_DAYS, limit=PAGE_LIMIT)
        return render_page(items, self.settings, subscribe_url).encode("utf-8")


def render_page(items: list[rank.Ranked], settings: Settings, subscribe_url: str) -> str:
    e = html.escape
    rows = []
    for item in items:
        data = rank.as_json(item, settings.timezone)
        when = rank.local_time(item.event.start, item.event.timezone, settings.timezone)
        when_text = when.strftime("%a %b %d") + ("" if item.event.all_day else when.strftime(", %H:%M"))
        title = e(item.event.title)
        if item.event.url:
            title = f'<a href="{e(item.event.url)}" rel="noopener noreferrer">{title}</a>'
        reasons = "".join(f"<li>{e(r)}</li>" for r in item.reasons)
        rows.append(f"""
      <li class="event" data-id="{e(item.id)}" data-score="{item.score:g}">
        <div class="when">{e(when_text)}</div>
        <div class="what"><h2>{title}</h2>
          <div class="meta">{e(item.event.group or "")}{" · " if item.event.group and data["location"] else ""}{e(data["location"] or "")}</div>
          {f'<ul class="reasons">{reasons}</ul>' if reasons else ""}</div>
        <div class="score" title="score">{item.score:.1f}</div>
      </li>""")
    body = "".join(rows) or '<li class="empty">No upcoming events yet: run <code>aggregator fetch</code>.</li>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(settings.feed.name)}</title>
<style>
 body {{ font: 16px/1.45 system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; color: #1d232a; }}
 header {{ display: flex; justify-content: space-between; align-items: baseline; flex-wrap: wrap; gap: 1rem; }}
 .subscribe {{ background: #2457c5; color: #fff; padding: .45rem .9rem; border-radius: .4rem; text-decoration: none; }}
 ol {{ list-style: none; padding: 0; }}
 .event {{ display: grid; grid-template-columns: 8.5rem 1fr 3rem; gap: 1rem; padding: .9rem 0; border-bottom: 1px solid #e3e6ea; }}
 .when {{ font-weight: 600; color: #44505c; }}
 h2 {{ font-size: 1.05rem; margin: 0; }} h2 a {{ color: inherit; }}
 .meta {{ color: #5c6773; font-size: .9rem; }}
 .reasons {{ margin: .3rem 0 0; padding-left: 1.1rem; color: #2d6a3e; font-size: .9rem; }}
 .score {{ text-align: right; color: #5c6773; }}
</style></head>
<body>
<header><h1>{e(settings.feed.name)}</h1>
<a class="subscribe" href="{e(subscribe_url)}">Subscribe in your calendar</a></header>
<ol id="events">{body}
</ol>
</body></html>
"""


def etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag in tags


def not_modified(headers, feed: feed_module.Feed) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        return etag_matches(inm, feed.etag)
    since = parse_http_date(headers.get("If-Modified-Since"))
    return since is not None and feed.last_modified <= since


def make_server(service: FeedService, host: str, port: int) -> ThreadingHTTPServer:
    token = service.settings.feed.token

    class Handler(BaseHTTPRequestHandler):
        server_version = "aggregator"
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # quiet: a calendar client polls all day
            pass

        def do_HEAD(self):
            self.handle_request(send_body=False)

        def do_GET(self):
            self.handle_request(send_body=True)

        def handle_request(self, send_body: bool) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if token and not secrets.compare_digest(query.get("token", [""])[0].encode(), token.encode()):
                return self.respond(403, b"a valid ?token= is required\n", "text/plain; charset=utf-8", send_body)
            try:
                if parts.path == "/feed.ics":
                    topic = (query.get("topic", [""])[0].strip() or None)
                    return self.send_feed(service.feed(topic), send_body)
                if parts.path in ("/", "/index.html"):
                    return self.respond(200, service.page(self.subscribe_url()), "text/html; charset=utf-8",
                                        send_body)
            except Exception as exc:  # never a traceback to the client
                return self.respond(500, f"internal error: {exc.__class__.__name__}\n".encode(),
                                    "text/plain; charset=utf-8", send_body)
            return self.respond(404, b"not found: try /feed.ics or /\n", "text/plain; charset=utf-8", send_body)

        def subscribe_url(self) -> str:
            host_header = self.headers.get("Host") or f"{host}:{port}"
            url = f"webcal://{host_header}/feed.ics"
            return url + (f"?token={quote(token)}" if token else "")

        def send_feed(self, feed: feed_module.Feed, send_body: bool) -> None:
            headers = {
                "ETag": feed.etag,
                "Last-Modified": email.utils.format_datetime(feed.last_modified, usegmt=True),
                "Cache-Control": "no-cache",
            }
            if not_modified(self.headers, feed):
                return self.respond(304, b"", None, send_body, headers)
            headers["Content-Disposition"] = 'inline; filename="feed.ics"'
            self.respond(200, feed.body, "text/calendar; charset=utf-8", send_body, headers)

        def respond(self, status: int, body: bytes, content_type: str | None, send_body: bool,
                    headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and status != 304:
                self.wfile.write(body)

    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    return httpd
