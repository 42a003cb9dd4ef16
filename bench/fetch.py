"""Fetching many sources on many hosts: parallel against serial, and 304s when nothing changed.

N iCal sources spread over M local hosts (127.0.0.1 ... 127.0.0.M, one server
each), every response delayed by a set latency, ETags on every feed. Runs
`aggregator fetch` twice and prints the wall time of the first run against the
serial time (the sum of every response's time, which one-at-a-time fetching
costs), and the share of feed requests answered 304 on the unchanged second run.

    python bench/fetch.py [--sources 120] [--hosts 40] [--latency 0.25]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

NOW = "2026-12-01T12:00:00+00:00"


def feed(i: int) -> bytes:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:bench-{i}-{k}\r\nSUMMARY:Meetup {i} night {k}\r\n"
        f"DTSTART:202612{10 + k:02d}T020000Z\r\nEND:VEVENT\r\n" for k in range(5))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-CALNAME:Group {i}\r\n{events}END:VCALENDAR\r\n".encode()


class Host:
    def __init__(self, address: str, latency: float):
        self.log: list[tuple[str, int, float]] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                began = time.monotonic()
                time.sleep(latency)
                if self.path == "/robots.txt":
                    body, status, etag = b"User-agent: *\nAllow: /\n", 200, '"robots-1"'
                else:
                    body = feed(int(self.path.strip("/").split(".")[0]))
                    status, etag = 200, '"' + hashlib.sha1(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                host.log.append((self.path, status, time.monotonic() - began))

        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=120)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.25)
    args = parser.parse_args()
    hosts = [Host(f"127.0.0.{i + 1}", args.latency) for i in range(args.hosts)]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(yaml.safe_dump({
            "timezone": "America/Los_Angeles",
            "sources": [{"name": f"s{i}", "kind": "ics", "url": f"{hosts[i % args.hosts].url}/{i}.ics"}
                        for i in range(args.sources)],
            "fetch": {"concurrency": args.hosts, "per_host_delay": 0.0},
        }))
        env = {**os.environ, "AGGREGATOR_NOW": NOW}
        command = [sys.executable, "-m", "aggregator", "--config", str(config), "fetch", "--json"]
        runs = []
        for _ in range(2):
            for host in hosts:
                host.log.clear()
            began = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True, env=env)
            wall = time.monotonic() - began
            report = json.loads(result.stdout)
            log = [entry for host in hosts for entry in host.log]
            runs.append((wall, log, report))
    (wall, log, report), (wall2, log2, report2) = runs
    serial = sum(seconds for _, _, seconds in log)
    ok = sum(1 for s in report["sources"] if s["ok"])
    feeds2 = [status for path, status, _ in log2 if path != "/robots.txt"]
    print(f"{args.sources} sources on {args.hosts} hosts, {args.latency * 1000:.0f} ms a response; {ok} fetched ok")
    print(f"first run:  {wall:6.2f} s wall for {len(log)} requests; serial {serial:6.2f} s "
          f"-> {wall / serial:.1%} of the serial time (process start included)")
    print(f"second run: {wall2:6.2f} s wall; feeds answered 304: {feeds2.count(304)}/{len(feeds2)} "
          f"({feeds2.count(304) / len(feeds2):.0%}); all requests 304: "
          f"{sum(1 for _, s, _ in log2 if s == 304)}/{len(log2)}")


if __name__ == "__main__":
    main()
