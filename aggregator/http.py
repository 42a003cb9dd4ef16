"""The one polite HTTP session every source uses.

- a User-Agent naming the tool and its project URL;
- one request at a time per host, with a minimum interval between two (a
  redirect's hop to another host waits that host's interval too);
- connect/read timeouts, a total deadline per request and a body size cap
  (checked while streaming, so a huge or endless body costs at most the cap);
- at most `MAX_REDIRECTS` redirects, followed here one by one: only to http(s),
  never from a public address to a loopback, private or link-local one (a page
  of an internal service must not become an event), and robots.txt of every
  host a redirect reaches is checked. Connections go to the very address that
  was checked (`Resolver`, replaceable in tests), so a second DNS answer cannot
  slip an internal address in; only a source whose own URL is local stays local;
- robots.txt honoured (aggregator.robots: RFC 9309 via Protego): fetched once
  per host through this same session with our User-Agent, Crawl-delay respected;
- retries with exponential backoff on 429 and 5xx, honouring Retry-After;
- conditional GET: the ETag / Last-Modified of the last good answer are sent
  back, and a 304 is answered from the stored body (`Response.not_modified`).

Every failure is a `SourceError` whose message a person can act on; text a
server chose (reason phrase, URLs, error text) passes through `safe_text` first.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from aggregator import PROJECT_URL, __version__
from aggregator.config import FetchSettings
from aggregator.errors import SourceError
from aggregator.model import Cached
from aggregator.robots import HttpStatusError, Robots
from aggregator.text import safe_text

USER_AGENT = f"aggregator/{__version__} (+{PROJECT_URL})"
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 120.0
RETRY_STATUSES = {429, 500, 502, 503, 504}
CHUNK = 64 * 1024
ROBOTS_MAX_BYTES = 512 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


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


class Resolver:
    """How host names become addresses and addresses become connections.

    The one place the network is touched below HTTP: tests replace it to give a
    made-up public name an address and to reach the local test server, offline.
    """

    def addresses(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            pass
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    def connect(self, address: str, port: int, timeout: float | None) -> socket.socket:
        sock = socket.create_connection((address, port), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def internal_kind(address: str) -> str | None:
    """"loopback", "link-local", "private"... for an address that is not on the public internet, else None."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "unspecified", "private", "multicast", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "non-public"


class Http:
    def __init__(
        self,
        settings: FetchSettings = FetchSettings(),
        cache: ValidatorCache | None = None,
        *,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        resolver: Resolver | None = None,
    ):
        self.settings = settings
        self.cache = cache
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.resolver = resolver or Resolver()
        self.not_modified_count = 0
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        adapter = _PinnedAdapter(self._dial)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._host_locks: dict[str, threading.Lock] = {}
        self._host_last: dict[str, float] = {}
        self._addresses: dict[tuple[str, int], list[str]] = {}
        self._robots = Robots(self._fetch_robots)
        self._guard = threading.Lock()

    def close(self) -> None:
        self._session.close()

    # -- public ----------------------------------------------------------
    def get(self, url: str, *, accept: str | None = None) -> Response:
        return self._get(url, accept, robots=True)

    def get_own(self, url: str, *, accept: str | None = None) -> Response:
        """GET the user's own resource (their calendar at the address they gave): every guard of `get`
        (size cap, timeouts, retries, per-host turns, internal addresses) except robots.txt, which speaks to
        crawlers, not to a resource's owner (Google Calendar's disallows /calendar/)."""
        return self._get(url, accept, robots=False)

    def _get(self, url: str, accept: str | None, *, robots: bool) -> Response:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return self._read_file(url)
        if scheme not in ("http", "https") or not parts.hostname:
            raise _fail(f"only http(s) URLs are fetched, not {url!r}")
        host = parts.netloc.lower()
        with self._host_lock(host):
            if robots:
                self._robots.check(url)
            return self._get_with_retries(url, accept, robots=robots)

    def _fetch_robots(self, robots_url: str) -> bytes:
        return self._get_with_retries(robots_url, "text/plain", cap=ROBOTS_MAX_BYTES, retries=0,
                                      robots=False).content

    # -- internals -------------------------------------------------------
    def _host_lock(self, host: str) -> _HostTurn:
        with self._guard:
            lock = self._host_locks.setdefault(host, threading.Lock())
        return _HostTurn(self, host, lock)

    def _wait_turn(self, host: str) -> None:
        last = self._host_last.get(host)
        if last is not None:
            interval = max(self.settings.per_host_delay, self._robots.crawl_delays.get(host, 0.0))
            wait = last + interval - self.clock()
            if wait > 0:
                self.sleep(wait)

    def _get_with_retries(self, url: str, accept: str | None, *, cap: int | None = None,
                          retries: int | None = None, robots: bool = True) -> Response:
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
            response = self._follow(url, headers, robots=robots)
            if response.status_code not in RETRY_STATUSES or attempt >= (
                    self.settings.retries if retries is None else retries):
                break
            delay = _retry_after(response.headers.get("Retry-After"))
            if delay is None:
                delay = self.backoff * (2**attempt)
            if delay > MAX_RETRY_AFTER or self.clock() - started + delay > self.settings.deadline:
                response.close()
                raise _fail(
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
                raise HttpStatusError(safe_text(f"HTTP {response.status_code}{reason} from {response.url}",
                                                  one_line=True), response.status_code)
            content = self._read_body(response, response.url, cap)
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

    def _follow(self, url: str, headers: dict[str, str], *, robots: bool) -> requests.Response:
        """GET `url`, following redirects one hop at a time, each hop checked (see the module doc)."""
        first, origin_local = url, None
        for hop in range(MAX_REDIRECTS + 1):
            here = _host(url).lower()
            elsewhere = hop and here != _host(first).lower()
            if elsewhere:  # another host's spacing too (not its lock: holding two hosts' locks could deadlock)
                self._wait_turn(here)
            response = self._request(url, headers)
            if elsewhere:
                self._host_last[here] = self.clock()
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            if hop == MAX_REDIRECTS:
                break
            target = urljoin(url, location.strip())
            parts = urlsplit(target)
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise _fail(f"{first} redirects to {target!r}; only http(s) URLs are fetched")
            if origin_local is None:
                origin_local = bool(self._internal_addresses(first))
            if not origin_local:
                self._refuse_internal(first, target)
            if robots:
                self._robots.check(target)
            url = target
        raise _fail(f"more than {MAX_REDIRECTS} redirects from {first}")

    def _refuse_internal(self, first: str, target: str) -> None:
        found = self._internal_addresses(target)
        if found:
            address, kind = found[0]
            shown = urlsplit(target).hostname
            where = address if shown == address else f"{shown}, which resolves to {address}"
            raise _fail(f"{first} redirects to {target}: {where} is a {kind} address; a public source may "
                        f"not lead to an internal service (refused)")

    def _internal_addresses(self, url: str) -> list[tuple[str, str]]:
        parts = urlsplit(url)
        try:
            addresses = self._addresses_of(parts.hostname or "", parts.port or _default_port(parts.scheme))
        except OSError:
            return []  # unresolvable: the connection attempt will say so
        return [(a, kind) for a in addresses if (kind := internal_kind(a))]

    def _addresses_of(self, host: str, port: int) -> list[str]:
        """The host's addresses, resolved once per run, so the address checked is the address connected to."""
        key = (host.lower(), port)
        found = self._addresses.get(key)
        if found is None:
            found = self._addresses[key] = self.resolver.addresses(host, port)
        return found

    def _dial(self, host: str, port: int, timeout: float | None) -> socket.socket:
        problem: OSError | None = None
        for address in self._addresses_of(host, port):
            try:
                return self.resolver.connect(address, port, timeout)
            except OSError as exc:
                problem = exc
        raise problem or OSError(f"no address for {host}")

    def _request(self, url: str, headers: dict[str, str]) -> requests.Response:
        timeout = (min(10.0, self.settings.timeout), self.settings.timeout)
        try:
            return self._session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
        except requests.exceptions.ConnectTimeout:
            raise _fail(f"no answer from {_host(url)} within {timeout[0]:.0f} s") from None
        except requests.exceptions.ReadTimeout:
            raise _fail(f"{_host(url)} stopped answering for {timeout[1]:.0f} s") from None
        except requests.exceptions.ConnectionError as exc:
            raise _fail(_connection_problem(url, exc)) from None
        except requests.exceptions.RequestException as exc:
            raise _fail(f"cannot fetch {url}: {exc.__class__.__name__}") from None

    def _read_body(self, response: requests.Response, url: str, cap: int | None = None) -> bytes:
        cap = cap or self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _fail(f"{url} is {int(declared):,} bytes, over the {cap:,}-byte cap (fetch.max_bytes)")
        deadline = self.clock() + self.settings.deadline
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise _fail(f"{url} sent more than {cap:,} bytes, the cap (fetch.max_bytes)")
                if self.clock() > deadline:
                    raise _fail(
                        f"{url} took longer than {self.settings.deadline:.0f} s to send (fetch.deadline)"
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise _fail(f"{url}: the connection broke while reading ({exc.__class__.__name__})") from None
        return b"".join(chunks)

    def _read_file(self, url: str) -> Response:
        path = Path(url2pathname(unquote(urlsplit(url).path)))
        try:
            size = path.stat().st_size
            if size > self.settings.max_bytes:
                raise _fail(f"{path} is {size:,} bytes, over the cap (fetch.max_bytes)")
            content = path.read_bytes()
        except FileNotFoundError:
            raise _fail(f"file not found: {path}") from None
        except IsADirectoryError:
            raise _fail(f"{path} is a folder, not a file") from None
        except OSError as exc:
            raise _fail(f"cannot read {path}: {exc.strerror}") from None
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


def _fail(message: str) -> SourceError:
    """A SourceError whose text, partly chosen by a server, is safe to print and store."""
    return SourceError(safe_text(message, one_line=True))


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


class _PinnedConnection:
    """Connects through `dial` (Http._dial): to an address already resolved and checked."""

    dial: Callable[[str, int, float | None], socket.socket]

    def _new_conn(self) -> socket.socket:
        try:
            return self.dial(self._dns_host, self.port, self.timeout)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, dial: Callable[[str, int, float | None], socket.socket]):
        attrs = {"dial": staticmethod(dial)}
        http_conn = type("PinnedHTTPConnection", (_PinnedConnection, HTTPConnection), attrs)
        https_conn = type("PinnedHTTPSConnection", (_PinnedConnection, HTTPSConnection), attrs)
        self._pools = {"http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
                       "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})}
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools
