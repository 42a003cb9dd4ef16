"""A small threaded HTTP server on 127.0.0.1 for tests: routes, delays, and a request log.

Every HTTP exchange in the tests goes here, never to the internet.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes | Callable[[dict], bytes] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False
    reason: str | None = None  # the status line's reason phrase, when a test needs a hostile one


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    started: float
    finished: float = 0.0
    status: int = 0


class LocalServer:
    def __init__(self):
        self.routes: dict[str, Route | list[Route]] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.do_GET(send_body=False)

            def do_GET(self, send_body=True):
                hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                with server.lock:
                    server.hits.append(hit)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    route = server.route_for(self.path)
                    if route.delay:
                        time.sleep(route.delay)
                    status, headers, body = route.status, dict(route.headers), route.body
                    if callable(body):
                        body = body(hit.headers)
                    etag = headers.get("ETag")
                    if etag and hit.headers.get("if-none-match") == etag:
                        status, body = 304, b""
                    hit.status = status
                    self.send_response(status, route.reason)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if route.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                    elif "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if send_body and status != 304:
                        if route.chunked:
                            for i in range(0, len(body), 65536):
                                piece = body[i:i + 65536]
                                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                            self.wfile.write(b"0\r\n\r\n")
                        else:
                            self.wfile.write(body)
                finally:
                    hit.finished = time.monotonic()
                    with server.lock:
                        server.in_flight -= 1

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that hangs up early is part of the tests, not noise for them

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route_for(self, path: str) -> Route:
        with self.lock:
            route = self.routes.get(path) or self.routes.get(path.split("?")[0]) or Route(b"not found", 404)
            if isinstance(route, list):  # a sequence of answers, the last one repeated
                return route.pop(0) if len(route) > 1 else route[0]
            return route

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes | Callable = b"", status: int = 200, **kwargs) -> str:
        self.routes[path] = Route(body, status, **kwargs)
        return self.url(path)

    def hits_for(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path.split("?")[0] == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_url() -> str:
    """A URL on a loopback port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/events.ics"
