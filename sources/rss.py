"""The `rss` kind: RSS and Atom feeds of events (feedparser).

An entry with structured dates (the RSS event module's ev:startdate/ev:enddate,
xCal's dtstart/dtend, a plain startDate) becomes an event directly. An entry
without them is followed to its page, and the page's schema.org event data is
read as the `jsonld` kind reads it (at most `max_pages` pages, default 20).
"""

from __future__ import annotations

import io
import re
from typing import ClassVar

import feedparser

from aggregator import places
from aggregator.errors import SourceError
from aggregator.model import Event, Venue, stable_id
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text, looks_online, safe_text
from sources import schemaorg

MAX_PAGES = 20
START_KEYS = ("ev_startdate", "xcal_dtstart", "dtstart", "startdate", "start_date", "event_start")
END_KEYS = ("ev_enddate", "xcal_dtend", "dtend", "enddate", "end_date", "event_end")
LOCATION_KEYS = ("ev_location", "xcal_location", "location", "event_location")
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']?([^"'?>\s]{1,40})""", re.I)
DEADLINE_EVERY = 200  # entries between two looks at the source's time budget


class RssSource:
    kind = "rss"
    options: ClassVar[dict[str, type | tuple[type, ...]]] = {"max_pages": int}

    def collect(self, spec: SourceSpec, http, ctx: Context):
        response = http.get(spec.url, accept="application/rss+xml, application/atom+xml, application/xml;q=0.9")
        events, pending = parse(response.content, response.url, ctx=ctx)
        for entry_link, title in pending[:int(spec.options.get("max_pages", MAX_PAGES))]:
            ctx.check_deadline()
            try:
                content, url, charset = schemaorg.fetch_page(http, entry_link)
            except SourceError as exc:
                ctx.warn(safe_text(f"{entry_link}: {exc}", one_line=True))
                continue
            found = schemaorg.parse_page(content, url, ctx=ctx, charset=charset)
            if not found:
                ctx.warn(f"{safe_text(title[:60], one_line=True)!r}: no date in the entry and no event data on its "
                         f"page; skipped")
            events.extend(found[:1])
        return events  # the source's group: is applied by the pipeline (normalise)


def parse(data: bytes | str, base_url: str = "", *, ctx: Context) -> tuple[list[Event], list[tuple[str, str]]]:
    """(events from entries with dates, [(link, title)] of entries to follow)."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    try:
        # A stream, never the bytes themselves: feedparser reads a body that names a file ("/etc/passwd")
        # as that file, and a str that is a URL by fetching it outside our session.
        feed = feedparser.parse(io.BytesIO(raw))
    except Exception as exc:  # a bogus encoding= makes feedparser raise ValueError, UnicodeError...
        declared = _DECLARED_ENCODING.search(raw[:500])
        why = f"its declared encoding {declared.group(1).decode('ascii', 'replace')!r} cannot be used" if declared \
            else "the parser gave up"
        raise SourceError(safe_text(f"cannot read the feed: {why} ({exc.__class__.__name__}: {exc})",
                                    one_line=True)[:300]) from None
    if not feed.get("version"):  # feedparser recognised no RSS, RSS-RDF or Atom dialect
        reason = getattr(feed, "bozo_exception", None)
        what = "an HTML page" if schemaorg.looks_like_html(raw) else None
        detail = f": got {what}" if what else f": {reason}" if reason else ""
        raise SourceError(safe_text(f"not an RSS or Atom feed{detail}", one_line=True)[:300])
    group = clean_text(feed.feed.get("title"), one_line=True, limit=200)
    events, pending = [], []
    for number, entry in enumerate(feed.entries, 1):
        if number % DEADLINE_EVERY == 0:
            ctx.check_deadline()
        title = clean_text(entry.get("title"), one_line=True, limit=500) or "(untitled event)"
        link = schemaorg.absolute(entry.get("link"), base_url)
        location = next((clean_text(entry[k], one_line=True, limit=300) for k in LOCATION_KEYS if entry.get(k)), None)
        zone = (places.text_zone(location, ctx.timezone) if location else None) or ctx.timezone  # the venue's
        start = next((schemaorg.parse_when(entry[k], zone) for k in START_KEYS if entry.get(k)), None)
        if start is None:
            if link:
                pending.append((link, title))
            else:
                ctx.warn(f"{safe_text(title[:60], one_line=True)!r}: no date and no link; skipped")
            continue
        end = next((schemaorg.parse_when(entry[k], zone) for k in END_KEYS if entry.get(k)), None)
        all_day = not hasattr(start, "hour")
        if all_day != (end is not None and not hasattr(end, "hour")) or (end is not None and end <= start):
            end = None
        events.append(Event(
            source_uid=entry.get("id") or link or "generated-" + stable_id(title, str(start)),
            title=title, start=start, end=end, all_day=all_day,
            timezone=None if all_day else zone.key,
            description=clean_text(entry.get("summary") or entry.get("description")),
            url=link, venue=Venue(name=location), online=looks_online(location), group=group,
            tags=tuple(t.get("term") for t in entry.get("tags", []) if t.get("term"))[:20],
        ))
    return events, pending
