"""The feed server under load: N keep-alive clients, then the same clients while M stalled
connections are held open (connected, silent, or a request line sent and never finished).

The server runs in its own process (as `aggregator serve` does), serving a small cached feed on
127.0.0.1 only. Prints requests/s, timeouts and errors per phase, the under-attack rate as a
ratio of the clean rate measured in the same run (the floor), and the server's thread count.

    python bench/server.py [--clients 200] [--requests 5000] [--stalled 500] [--timeout 5]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def serve(folder: str, port_file: str) -> None:
    """The server process: a feed of 30 events, cached, served until killed."""
    import yaml

    from aggregator import config
    from aggregator.model import Event
    from aggregator.server import FeedService, make_server
    from aggregator.store import Store

    path = Path(folder) / "config.yaml"
    path.write_text(yaml.safe_dump({
        "timezone": "America/Los_Angeles", "profile": {"topics": {"python": 3}},
        "sources": [{"name": "bench", "kind": "ics", "url": "https://example.org/a.ics"}],
    }))
    settings = config.load(path)
    store = Store(settings.database)
    store.events.save("bench", [Event(f"e{i}", f"Python night {i}", NOW + timedelta(days=1, hours=5 * i))
                                for i in range(30)], now=NOW, tz=settings.timezone)
    service = FeedService(settings, store, now=lambda: NOW)
    httpd = make_server(service, "127.0.0.1", 0)
    Path(port_file).write_text(str(httpd.server_address[1]))
    httpd.serve_forever()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = self.timeouts = self.errors = 0

    def add(self, field: str) -> None:
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)


def client(port: int, count: int, timeout: float, tally: Tally) -> None:
    conn = None
    for _ in range(count):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.request("GET", "/feed.ics")
            response = conn.getresponse()
            response.read()
            tally.add("ok" if response.status == 200 else "errors")
            if response.will_close:
                conn.close()
                conn = None
        except TimeoutError:
            tally.add("timeouts")
            conn = _drop(conn)
        except (OSError, http.client.HTTPException):
            tally.add("errors")
            conn = _drop(conn)
    _drop(conn)


def _drop(conn):
    if conn is not None:
        conn.close()
    return None


def load(port: int, clients: int, requests: int, timeout: float) -> tuple[float, Tally]:
    tally = Tally()
    each = max(1, requests // clients)
    threads = [threading.Thread(target=client, args=(port, each, timeout, tally)) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - began, tally


def stall(port: int, count: int) -> list[socket.socket]:
    """Half silent connections, half that sent a request line and nothing more."""
    held = []
    for i in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            if i % 2:
                sock.sendall(b"GET /feed.ics HTTP/1.1\r\n")
            held.append(sock)
        except OSError:
            pass
    return held


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def report(label: str, elapsed: float, tally: Tally, floor: float | None) -> float:
    rate = tally.ok / elapsed
    ratio = f"  {rate / floor:5.2f}x the clean rate" if floor else ""
    print(f"{label:34} {rate:8.0f} requests/s  ok {tally.ok:6}  timeouts {tally.timeouts:4}  "
          f"errors {tally.errors:4}{ratio}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--stalled", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--serve", nargs=2, metavar=("FOLDER", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(*args.serve)
    with tempfile.TemporaryDirectory() as folder:
        port_file = Path(folder) / "port"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        proc = subprocess.Popen([sys.executable, __file__, "--serve", folder, str(port_file)], env=env)
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.05)
            port = int(port_file.read_text())
            load(port, 4, 40, args.timeout)  # warm: the feed is built and cached
            print(f"{args.clients} keep-alive clients, {args.requests} requests, {args.stalled} stalled "
                  f"connections, client timeout {args.timeout:g} s")
            floor = report("clean", *load(port, args.clients, args.requests, args.timeout), None)
            print(f"server threads, idle after the clean run: {threads_of(proc.pid)}")
            held = stall(port, args.stalled)
            time.sleep(0.5)
            print(f"stalled connections held: {len(held)}; server threads now: {threads_of(proc.pid)}")
            report("with stalled connections", *load(port, args.clients, args.requests, args.timeout), floor)
            for sock in held:
                sock.close()
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
