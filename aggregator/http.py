"""The one polite HTTP session every source uses.

- a User-Agent naming the tool and its project URL;
- one request at a time per host, with a minimum interval between two;
- connect/read timeouts, a total deadline per request and a body size cap
  (checked while streaming, so a huge or endless body costs at most the cap);
- at most `MAX_REDIRECTS` redirects; only http(s) URLs, plus file: URLs the
  user wrote in the config;
- robots.txt honoured: fetched once per host through this same session (with
  our User-Agent; urllib's own reader sends none and takes a 5xx for "disallow
  all" silently), parsed by urllib.robotparser, its Crawl-delay respected;
- retries with exponential backoff on 429 and 5xx, honouring Retry-After;
- conditional GET: the ETag / Last-Modified of the last good answer are sent
  back, and a 304 is answered from the stored body (`Response.not_modified`).

Every failure is a `SourceError` whose message a person can act on.
"""

from __future__ import annotations

import email.utils
import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import requests

from aggregator import PROJECT_URL, __version__
from aggregator.config import FetchSettings
from aggregator.errors import SourceError
from aggregator.model import Cached

USER_AGENT = f"aggregator/{__version__} (+{PROJECT_URL})"
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 120.0
RETRY_STATUSES = {429, 500, 502, 503, 504}
CHUNK = 64 * 1024
ROBOTS_MAX_BYTES = 512 * 1024
AGENT_TOKEN = "aggregator"


@dataclass
class Response:
    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return None


class ValidatorCache(Protocol):
    """Where the last good answer of each URL is kept (store.HttpCache)."""

    def get(self, url: str) -> Cached | None: ...

    def put(self, entry: Cached) -> None: ...


class Http:
    def __init__(
        self,
        settings: FetchSettings = FetchSettings(),
        cache: ValidatorCache | None = None,
        *,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.cache = cache
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.requests_made = 0
        self.not_modified_count = 0
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.max_redirects = MAX_REDIRECTS
        self._host_locks: dict[str, threading.Lock] = {}
        self._host_last: dict[str, float] = {}
        self._host_delay: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | SourceError] = {}
        self.robots_enabled = True
        self._guard = threading.Lock()

    def close(self) -> None:
        self._session.close()

    # -- public ----------------------------------------------------------
    def get(self, url: str, *, accept: str | None = None) -> Response:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return self._read_file(url)
        if scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"only http(s) URLs are fetched, not {url!r}")
        host = parts.netloc.lower()
        with self._host_lock(host):
            self._check_robots(url, f"{parts.scheme.lower()}://{host}")
            return self._get_with_retries(url, accept)

    def _check_robots(self, url: str, origin: str) -> None:
        if not self.robots_enabled:
            return
        rules = self._robots.get(origin)
        if rules is None:
            rules = self._robots[origin] = self._fetch_robots(origin)
        if isinstance(rules, SourceError):
            raise rules
        if not rules.can_fetch(AGENT_TOKEN, url):
            raise SourceError(f"robots.txt of {urlsplit(url).netloc} disallows {urlsplit(url).path or '/'} "
                              f"for {AGENT_TOKEN}; not fetched")

    def _fetch_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | SourceError:
        """RFC 9309: 4xx allows everything; 5xx or an unreachable server allows nothing for now."""
        rules = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            response = self._get_with_retries(origin + "/robots.txt", "text/plain", cap=ROBOTS_MAX_BYTES,
                                              retries=0)
        except SourceError as exc:
            text = str(exc)
            if text.startswith("HTTP 4"):
                rules.parse([])
                return rules
            if not text.startswith("HTTP "):
                return exc  # the host cannot be reached at all: say that, not "robots.txt"
            return SourceError(f"robots.txt of {urlsplit(origin).netloc} could not be read ({text}); "
                               f"not fetching until it can")
        rules.parse(response.content.decode("utf-8", errors="replace").splitlines())
        delay = rules.crawl_delay(AGENT_TOKEN)
        if delay:
            self._host_delay[urlsplit(origin).netloc] = min(float(delay), 60.0)
        return rules

    # -- internals -------------------------------------------------------
    def _host_lock(self, host: str) -> _HostTurn:
        with self._guard:
            lock = self._host_locks.setdefault(host, threading.Lock())
        return _HostTurn(self, host, lock)

    def _wait_turn(self, host: str) -> None:
        last = self._host_last.get(host)
        if last is not None:
            interval = max(self.settings.per_host_delay, self._host_delay.get(host, 0.0))
            wait = last + interval - self.clock()
            if wait > 0:
                self.sleep(wait)

    def _get_with_retries(self, url: str, accept: str | None, *, cap: int | None = None,
                          retries: int | None = None) -> Response:
        cached = self.cache.get(url) if self.cache else None
        headers = {"Accept": accept} if accept else {}
        if cached:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        attempt = 0
        started = self.clock()
        while True:
            response = self._request(url, headers)
            if response.status_code not in RETRY_STATUSES or attempt >= (
                    self.settings.retries if retries is None else retries):
                break
            delay = _retry_after(response.headers.get("Retry-After"))
            if delay is None:
                delay = self.backoff * (2**attempt)
            if delay > MAX_RETRY_AFTER or self.clock() - started + delay > self.settings.deadline:
                response.close()
                raise SourceError(
                    f"HTTP {response.status_code} from {url}; the server asks to retry after "
                    f"{delay:.0f} s, past this run's deadline"
                )
            response.close()
            self.sleep(delay)
            attempt += 1
        with response:
            if response.status_code == 304 and cached:
                self.not_modified_count += 1
                return Response(
                    url=cached.url, status=304, content=cached.content,
                    headers={"content-type": cached.content_type or ""}, not_modified=True,
                )
            if response.status_code >= 400:
                reason = f" {response.reason}" if response.reason else ""
                raise SourceError(f"HTTP {response.status_code}{reason} from {url}")
            content = self._read_body(response, url, cap)
        result = Response(
            url=response.url,
            status=response.status_code,
            content=content,
            headers={k.lower(): v for k, v in response.headers.items()},
        )
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        if self.cache and (etag or modified):
            self.cache.put(Cached(url, etag, modified, content, response.headers.get("Content-Type")))
        return result

    def _request(self, url: str, headers: dict[str, str]) -> requests.Response:
        timeout = (min(10.0, self.settings.timeout), self.settings.timeout)
        self.requests_made += 1
        try:
            return self._session.get(url, headers=headers, timeout=timeout, stream=True)
        except requests.exceptions.TooManyRedirects:
            raise SourceError(f"more than {MAX_REDIRECTS} redirects from {url}") from None
        except requests.exceptions.ConnectTimeout:
            raise SourceError(f"no answer from {_host(url)} within {timeout[0]:.0f} s") from None
        except requests.exceptions.ReadTimeout:
            raise SourceError(f"{_host(url)} stopped answering for {timeout[1]:.0f} s") from None
        except requests.exceptions.ConnectionError as exc:
            raise SourceError(_connection_problem(url, exc)) from None
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"cannot fetch {url}: {exc.__class__.__name__}") from None

    def _read_body(self, response: requests.Response, url: str, cap: int | None = None) -> bytes:
        cap = cap or self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise SourceError(f"{url} is {int(declared):,} bytes, over the {cap:,}-byte cap (fetch.max_bytes)")
        deadline = self.clock() + self.settings.deadline
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise SourceError(f"{url} sent more than {cap:,} bytes, the cap (fetch.max_bytes)")
                if self.clock() > deadline:
                    raise SourceError(
                        f"{url} took longer than {self.settings.deadline:.0f} s to send (fetch.deadline)"
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"{url}: the connection broke while reading ({exc.__class__.__name__})") from None
        return b"".join(chunks)

    def _read_file(self, url: str) -> Response:
        path = Path(url2pathname(unquote(urlsplit(url).path)))
        try:
            size = path.stat().st_size
            if size > self.settings.max_bytes:
                raise SourceError(f"{path} is {size:,} bytes, over the cap (fetch.max_bytes)")
            content = path.read_bytes()
        except FileNotFoundError:
            raise SourceError(f"file not found: {path}") from None
        except IsADirectoryError:
            raise SourceError(f"{path} is a folder, not a file") from None
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror}") from None
        return Response(url=url, status=200, content=content)


class _HostTurn:
    """Holds a host's lock for one request (with its retries) and spaces requests."""

    def __init__(self, http: Http, host: str, lock: threading.Lock):
        self.http, self.host, self.lock = http, host, lock

    def __enter__(self):
        self.lock.acquire()
        self.http._wait_turn(self.host)

    def __exit__(self, *exc):
        self.http._host_last[self.host] = self.http.clock()
        self.lock.release()


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date ("Wed, 25 Nov 2026 10:00:00 GMT") as an aware datetime; None if it is not one."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date."""
    if value and value.strip().isdigit():
        return float(value.strip())
    when = parse_http_date(value)
    return None if when is None else max(0.0, when.timestamp() - time.time())


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _connection_problem(url: str, exc: Exception) -> str:
    text = str(exc)
    host = _host(url)
    if any(s in text for s in ("Name or service not known", "nodename nor servname", "getaddrinfo failed",
                               "Temporary failure in name resolution", "No address associated")):
        return f"cannot resolve host {urlsplit(url).hostname} (offline, or a typo in the URL?)"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return f"connection refused by {host}"
    if "Network is unreachable" in text:
        return f"network unreachable for {host} (offline?)"
    if "SSL" in text or "certificate" in text:
        return f"TLS/SSL error talking to {host}"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return f"{host} closed the connection without answering"
    return f"cannot connect to {host}"
