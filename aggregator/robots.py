"""robots.txt as RFC 9309 reads it, one copy per origin per run.

Protego (the parser Scrapy uses) does the reading: the longest matching rule
wins, `*` and `$` are patterns, and an `Allow:` more specific than a
`Disallow:` permits (urllib.robotparser takes the first rule that matches and
ignores wildcards, so it refused `Allow: /x.ics` after `Disallow: /` and let
`Disallow: /*.ics$` through).

Fetching stays with the HTTP session (our User-Agent, our caps); this module
decides what an answer means: 4xx allows everything, 5xx or a server that
cannot be reached allows nothing for now.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from protego import Protego

from aggregator.errors import SourceError
from aggregator.text import safe_text

AGENT_TOKEN = "aggregator"
MAX_CRAWL_DELAY = 60.0


class HttpStatusError(SourceError):
    """An HTTP error status, kept as a number so robots.txt answers can be told apart."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Robots:
    """The rules of each origin ("https://host:port"), fetched on first use through `fetch`.

    `fetch(robots_url)` returns the body or raises SourceError (HttpStatusError for an
    HTTP status). `crawl_delays` maps a host ("host:port") to the delay its rules ask for.
    """

    def __init__(self, fetch: Callable[[str], bytes]):
        self._fetch = fetch
        self._rules: dict[str, Protego | SourceError] = {}
        self._lock = threading.Lock()
        self.crawl_delays: dict[str, float] = {}

    def check(self, url: str) -> None:
        """Raise SourceError when robots.txt of the URL's origin does not let us fetch it now."""
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        with self._lock:
            rules = self._rules.get(origin)
        if rules is None:
            rules = self._read(origin)
            with self._lock:
                self._rules[origin] = rules
        if isinstance(rules, SourceError):
            raise rules
        if not rules.can_fetch(url, AGENT_TOKEN):
            raise SourceError(safe_text(f"robots.txt of {parts.netloc} disallows {parts.path or '/'} for "
                                        f"{AGENT_TOKEN}; not fetched", one_line=True))

    def _read(self, origin: str) -> Protego | SourceError:
        netloc = urlsplit(origin).netloc
        try:
            body = self._fetch(origin + "/robots.txt")
        except HttpStatusError as exc:
            if 400 <= exc.status < 500:
                return Protego.parse("")
            return SourceError(f"robots.txt of {netloc} could not be read ({exc}); not fetching until it can")
        except SourceError as exc:
            return exc  # the host cannot be reached at all: say that, not "robots.txt"
        rules = Protego.parse(body.decode("utf-8", errors="replace"))
        delay = rules.crawl_delay(AGENT_TOKEN)
        if delay:
            self.crawl_delays[netloc] = min(float(delay), MAX_CRAWL_DELAY)
        return rules
