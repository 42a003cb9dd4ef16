"""Serve the feed, one event's calendar and the phone page from the user's machine.

GET and HEAD on `/feed.ics` (optionally `?topic=T`), `/event/<id>.ics` (one
VEVENT, the same UID as in the feed) and `/` (the page, optionally `?topic=T`).
Feeds are built once and kept in memory until the data changes; they carry a
strong ETag and a true Last-Modified, and a client that already has the bytes
gets a 304. When `feed.token` is set every path needs `?token=`. The Accept
header is ignored (Google Calendar sends none). The page's subscribe links use
`feed.public_url`, else the scheme and host it was requested at (a Host header
that is not a plain host[:port] is ignored; https only behind a TLS proxy).

Built to stay up when it listens beyond localhost: a listen backlog of 128; one
selector thread holds every connection and reads request headers without
blocking, so idle keep-alive and stalled connections cost no thread; a bad or
missing token is refused as soon as the request line is in; a request is
handed to a small fixed pool of workers only once its headers are complete;
headers must arrive within HEADER_TIMEOUT and an idle connection is closed
after IDLE_TIMEOUT.
"""

from __future__ import annotations

import email.utils
import io
import logging
import queue
import resource
import secrets
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from aggregator import feed as feed_module
from aggregator import page as page_module
from aggregator import ranking
from aggregator.backup import damage_seen
from aggregator.config import Settings
from aggregator.errors import AggregatorError
from aggregator.http import parse_http_date
from aggregator.server_addresses import address_text, valid_host
from aggregator.store import Store, parse_utc

log = logging.getLogger("aggregator.server")
BACKLOG = 128
WORKERS = 8
HEADER_TIMEOUT = 10.0  # seconds from a request's first byte (or the connection) to its blank line
IDLE_TIMEOUT = 30.0  # a keep-alive connection with no new request
WRITE_TIMEOUT = 30.0  # one send to a client that does not read
MAX_HEADER_BYTES = 16_384
MAX_CONNECTIONS = 1000
DAMAGED = (b"the database behind this feed is damaged; run `aggregator restore` on the machine that serves it "
           b"(its log says more)\n")
_SEND_TIMEOUT = struct.pack("ll", int(WRITE_TIMEOUT), 0)  # struct timeval


class FeedService:
    """Builds and caches feeds; renders the page and single events; thread-safe."""

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
            version = self.store.runs.data_version()  # a `fetch` run by another process counts too
            if version != self._version:
                self._feeds.clear()
                self._version = version
            cached = self._feeds.get(key)
            if cached is None:
                cached = feed_module.build(self.store, self.settings, now=self.now(), topic=topic)
                for problem in cached.skipped:  # once a build, not once a request
                    log.warning("feed %s: event left out: %s", key, problem)
                self._feeds[key] = cached
            return cached

    def invalidate(self) -> None:
        """Drop every cached feed (after a fetch run) and rebuild the main one."""
        with self._lock:
            self._feeds.clear()
        self.feed(None)

    def page(self, links: page_module.Links, topic: str | None = None) -> bytes:
        now = self.now()
        window = page_module.WINDOW
        items = ranking.upcoming(self.store, self.settings, now=now, days=window.days, limit=window.limit, topic=topic)
        return page_module.render(items, self.settings, links, now=now, window=window, topic=topic,
                                  status=fetch_status(self.store)).encode("utf-8")

    def event_calendar(self, event_id: str) -> bytes | None:
        """A calendar of one event: its VEVENT as the main feed publishes it, else as it is now."""
        published = self.feed(None).vevents.get(event_id)
        if published is None:
            try:
                stored = self.store.events.find(event_id)
            except AggregatorError:
                return None
            items = ranking.rank_events(self.store, self.settings, [stored], now=self.now())
            if not items:
                return None
            published = feed_module.event_vevent(items[0])
        return feed_module.single_calendar(self.settings, published)


def fetch_status(store: Store) -> page_module.Status:
    """The page's footer: when the last fetch ran, which sources failed."""
    health = store.runs.health()
    runs = [h.last_run_at for h in health.values() if h.last_run_at]
    failing = [(name, h.last_error) for name, h in sorted(health.items()) if h.last_error]
    return page_module.Status(last_fetch=parse_utc(max(runs)) if runs else None, failing=failing)


def token_ok(target: str, token: str | None) -> bool:
    if not token:
        return True
    given = parse_qs(urlsplit(target).query).get("token", [""])[0]
    return secrets.compare_digest(given.encode(), token.encode())


def not_modified(headers, feed: feed_module.Feed) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or feed.etag in tags
    since = parse_http_date(headers.get("If-Modified-Since"))
    return since is not None and feed.last_modified <= since


class Handler(BaseHTTPRequestHandler):
    """One request, read from the bytes the connection loop collected; answers on the socket."""

    server_version = "aggregator"
    protocol_version = "HTTP/1.1"
    server: FeedServer

    def setup(self):  # the loop already read the request: no socket files to make
        self.rfile = io.BytesIO(self.request_bytes)
        self.wfile = _SocketWriter(self.request)

    def handle(self):
        self.close_connection = True
        self.handle_one_request()

    def finish(self):
        pass

    def log_message(self, format, *args):  # quiet: a calendar client polls all day
        pass

    def do_HEAD(self):
        self.route(send_body=False)

    def do_GET(self):
        self.route(send_body=True)

    def route(self, send_body: bool) -> None:
        service = self.server.service
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        topic = query.get("topic", [""])[0].strip() or None
        if not token_ok(self.path, service.settings.feed.token):
            return self.respond(403, b"a valid ?token= is required\n", "text/plain; charset=utf-8", send_body)
        try:
            if parts.path == "/feed.ics":
                return self.send_feed(service.feed(topic), send_body)
            if parts.path in ("/", "/index.html"):
                return self.respond(200, service.page(self.links(), topic), "text/html; charset=utf-8", send_body)
            if parts.path.startswith("/event/") and parts.path.endswith(".ics"):
                body = service.event_calendar(unquote(parts.path[len("/event/"):-len(".ics")]))
                if body is not None:
                    return self.respond(200, body, "text/calendar; charset=utf-8", send_body,
                                        {"Content-Disposition": 'attachment; filename="event.ics"'})
                return self.respond(404, b"no such event\n", "text/plain; charset=utf-8", send_body)
        except AggregatorError as exc:  # e.g. a read-only database: say so, and what to do
            return self.respond(503, f"{exc}\n".encode(), "text/plain; charset=utf-8", send_body)
        except Exception as exc:  # never a traceback to the client
            damaged = damage_seen(service.settings.database, exc)  # recorded the way a command records it
            if damaged is not None:  # a damaged page a query read: remembered; paths stay in the server's log
                log.error("%s", damaged)
                return self.respond(503, DAMAGED, "text/plain; charset=utf-8", send_body)
            return self.respond(500, f"internal error: {exc.__class__.__name__}\n".encode(),
                                "text/plain; charset=utf-8", send_body)
        return self.respond(404, b"not found: try /feed.ics or /\n", "text/plain; charset=utf-8", send_body)

    def links(self) -> page_module.Links:
        settings = self.server.service.settings
        return page_module.Links(base=settings.feed.public_url or self.requested_base(), token=settings.feed.token)

    def requested_base(self) -> str:
        """The scheme and host this page was requested at (the Host header when it is a plain host[:port]);
        https only when a TLS proxy in front says so."""
        host = self.headers.get("Host") or ""
        if not valid_host(host):
            host = address_text(*self.server.server_address[:2])
        secure = self.headers.get("X-Forwarded-Proto", "").lower() == "https"
        return f"{'https' if secure else 'http'}://{host}/"

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


class _SocketWriter(io.BufferedIOBase):
    def __init__(self, sock: socket.socket):
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._sock.sendall(data)
        return len(data)


@dataclass
class _Connection:
    sock: socket.socket
    address: tuple
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    line_checked: bool = False  # the request line was read and its token is good


class FeedServer:
    """The listening socket, the connection loop and the worker pool (see the module doc)."""

    def __init__(self, service: FeedService, host: str, port: int, *, workers: int = WORKERS,
                 header_timeout: float = HEADER_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT):
        self.service = service
        self.header_timeout, self.idle_timeout = header_timeout, idle_timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=BACKLOG)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        soft_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.max_connections = max(16, min(MAX_CONNECTIONS, soft_files - 64))
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="http")
        self._selector = selectors.DefaultSelector()
        self._returned: queue.SimpleQueue[_Connection] = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._connections: dict[socket.socket, _Connection] = {}
        self._busy: set[socket.socket] = set()  # connections a worker is answering
        self._busy_lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    # -- the loop (one thread) ---------------------------------------------
    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        self._selector.register(self.socket, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(poll_interval):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        self._take_back()
                    else:
                        self._read(key.data)
                self._expire(time.monotonic())
        finally:
            for conn in list(self._connections.values()):
                self._close(conn)
            self._selector.close()
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._wake()
        self._stopped.wait()
        with self._busy_lock:  # a worker stuck sending to a client that does not read stops now
            for sock in self._busy:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._pool.shutdown(wait=True, cancel_futures=True)

    def server_close(self) -> None:
        self.socket.close()
        self._wake_read.close()
        self._wake_write.close()

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. out of file descriptors: try again on the next turn
                return
            if len(self._connections) >= self.max_connections:
                sock.close()  # full: a quick refusal beats holding the client in the backlog
                continue
            sock.setblocking(False)
            self._watch(_Connection(sock, address, time.monotonic() + self.header_timeout))

    def _watch(self, conn: _Connection) -> None:
        self._connections[conn.sock] = conn
        self._selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _read(self, conn: _Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            return self._close(conn)
        if not conn.buffer:  # a new request begins: its headers have HEADER_TIMEOUT to arrive
            conn.deadline = min(conn.deadline, time.monotonic() + self.header_timeout)
        conn.buffer += data
        self._advance(conn)

    def _advance(self, conn: _Connection) -> None:
        """Refuse early what can be refused; hand a complete request to a worker."""
        if not conn.line_checked and b"\n" in conn.buffer:
            problem = self._check_request_line(bytes(conn.buffer[:conn.buffer.index(b"\n")]))
            if problem:
                return self._refuse(conn, *problem)
            conn.line_checked = True
        end = _header_end(conn.buffer)
        if end is None:
            if len(conn.buffer) > MAX_HEADER_BYTES:
                self._refuse(conn, 431, "request headers too large")
            return
        self._unwatch(conn)
        request, conn.buffer = bytes(conn.buffer[:end]), conn.buffer[end:]
        conn.line_checked = False
        self._pool.submit(self._serve, conn, request)

    def _check_request_line(self, line: bytes) -> tuple[int, str] | None:
        words = line.decode("latin-1").split()
        if len(words) != 3:
            return 400, "bad request line"
        if words[0] not in ("GET", "HEAD"):
            return 405, "only GET and HEAD are served"
        if not token_ok(words[1], self.service.settings.feed.token):
            return 403, "a valid ?token= is required"
        return None

    def _refuse(self, conn: _Connection, status: int, reason: str) -> None:
        body = f"{reason}\n".encode()
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        try:
            conn.sock.send(head + body)  # small: fits the socket buffer, never blocks the loop
        except OSError:
            pass
        self._close(conn)

    def _expire(self, now: float) -> None:
        for conn in [c for c in self._connections.values() if c.deadline < now]:
            self._close(conn)

    def _unwatch(self, conn: _Connection) -> None:
        self._selector.unregister(conn.sock)
        del self._connections[conn.sock]

    def _close(self, conn: _Connection) -> None:
        if conn.sock in self._connections:
            self._unwatch(conn)
        conn.sock.close()

    def _take_back(self) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                conn = self._returned.get_nowait()
            except queue.Empty:
                return
            conn.deadline = time.monotonic() + (self.header_timeout if conn.buffer else self.idle_timeout)
            self._watch(conn)
            if conn.buffer:  # a pipelined request came with the last one
                self._advance(conn)

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"x")
        except OSError:
            pass

    # -- a worker --------------------------------------------------------------
    def _serve(self, conn: _Connection, request: bytes) -> None:
        keep = False
        with self._busy_lock:
            self._busy.add(conn.sock)
        try:
            conn.sock.setblocking(True)
            # The kernel's send timeout, not settimeout(): Python would poll before every chunk sent.
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _SEND_TIMEOUT)
            handler = _handle(conn, request, self)
            keep = not handler.close_connection and not self._stop.is_set()
        except Exception:  # the client went away mid-answer, or a bug: that connection ends, not the server
            keep = False
        with self._busy_lock:
            self._busy.discard(conn.sock)
        if not keep:
            conn.sock.close()
            return
        conn.sock.setblocking(False)
        self._returned.put(conn)
        self._wake()


def _handle(conn: _Connection, request: bytes, server: FeedServer) -> Handler:
    handler = Handler.__new__(Handler)
    handler.request_bytes = request
    Handler.__init__(handler, conn.sock, conn.address, server)
    return handler


def _header_end(buffer: bytearray) -> int | None:
    end = buffer.find(b"\r\n\r\n")
    if end >= 0:
        return end + 4
    end = buffer.find(b"\n\n")  # a bare-LF client
    return end + 2 if end >= 0 else None


def make_server(service: FeedService, host: str, port: int) -> FeedServer:
    """A server bound to host:port (0 picks a free port); run `serve_forever` in a thread."""
    return FeedServer(service, host, port)
