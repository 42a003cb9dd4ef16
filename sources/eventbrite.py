"""The `eventbrite` kind: organizer and event pages, read through their schema.org JSON-LD.

Eventbrite's public search API is gone; its pages still embed Event JSON-LD
(often in an @graph, as an Event subtype such as BusinessEvent). An organizer
page lists upcoming events; each event page (`/e/...`) linked from it is read
too (at most `max_pages`, default 20).
"""

from __future__ import annotations

from aggregator.source import Context, SourceSpec
from sources import schemaorg

MAX_PAGES = 20
EVENT_LINK = r"/e/[^/?#]+"


class EventbriteSource:
    kind = "eventbrite"

    def collect(self, spec: SourceSpec, http, ctx: Context):
        content, url, charset = schemaorg.fetch_page(http, spec.url)
        events = {e.url or e.source_uid: e for e in parse(content, url, ctx=ctx, charset=charset)}
        html = schemaorg.decode_page(content, charset)
        links = [link for link in schemaorg.same_site_links(html, url, EVENT_LINK) if link not in events]
        for event in schemaorg.read_linked_pages(http, links[:int(spec.options.get("max_pages", MAX_PAGES))], ctx):
            events.setdefault(event.url or event.source_uid, event)
        return list(events.values())  # the source's group: is applied by the pipeline (normalise)


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, charset: str | None = None):
    return schemaorg.parse_page(data, base_url, ctx=ctx, charset=charset)
