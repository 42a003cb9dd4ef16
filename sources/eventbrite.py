"""The `eventbrite` kind: organizer and event pages, read through their schema.org JSON-LD.

Eventbrite's public search API is gone; its pages still embed Event JSON-LD
(often in an @graph, as an Event subtype such as BusinessEvent). An organizer
page lists upcoming events; each event page (`/e/...`) linked from it is read
too (at most `max_pages`, default 20).

A recurring Eventbrite event ("multiple dates": a weekly quiz night) is listed on
the organiser page as one Event from its first start to its last end, fourteen
months later. An event spanning more than `SERIES_AFTER` is taken for such a
series: its dates when a page gives them (subEvent, eventSchedule; its own event
page is read for them), else its first occurrence with a warning
(schemaorg.occurrences).
"""

from __future__ import annotations

from datetime import timedelta

from aggregator.source import Context, SourceSpec
from sources import schemaorg

MAX_PAGES = 20
EVENT_LINK = r"/e/[^/?#]+"
SERIES_AFTER = timedelta(days=7)  # longer than any festival or course block Eventbrite sells as one ticket


class EventbriteSource:
    kind = "eventbrite"

    def collect(self, spec: SourceSpec, http, ctx: Context):
        content, url, charset = schemaorg.fetch_page(http, spec.url)
        undated: set[str] = set()
        listed = parse(content, url, ctx=ctx, charset=charset, undated_series=undated)
        read = {e.url for e in listed if e.url} - undated  # a series without its dates: its page may list them
        html = schemaorg.decode_page(content, charset)
        links = [link for link in schemaorg.same_site_links(html, url, EVENT_LINK) if link not in read]
        links += sorted(undated - set(links))
        pages = schemaorg.read_linked_pages(http, links[:int(spec.options.get("max_pages", MAX_PAGES))], ctx, parse)
        events: dict[tuple, object] = {}
        for event in pages + listed:  # an event page says more than the organiser page's summary of it
            events.setdefault((event.title.casefold(), event.start), event)  # one organiser, one name, one time
        return list(events.values())  # the source's group: is applied by the pipeline (normalise)


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, charset: str | None = None,
          undated_series: set[str] | None = None):
    return schemaorg.parse_page(data, base_url, ctx=ctx, charset=charset, series_after=SERIES_AFTER,
                                undated_series=undated_series)
