"""The `jsonld` kind: the events any page embeds as schema.org data.

JSON-LD, microdata, RDFa and microformats (h-event, hCalendar). Options:
`follow_links: true` also reads same-site pages linked from the listing page
(at most `max_pages`, default 20; `link_pattern` narrows them by regex).
"""

from __future__ import annotations

from typing import ClassVar

from aggregator.source import Context, SourceSpec
from sources import schemaorg

MAX_PAGES = 20


class JsonLdSource:
    kind = "jsonld"
    options: ClassVar[dict[str, type | tuple[type, ...]]] = {"follow_links": bool, "max_pages": int,
                                                              "link_pattern": str}

    def collect(self, spec: SourceSpec, http, ctx: Context):
        content, url, charset = schemaorg.fetch_page(http, spec.url)
        events = {e.source_uid: e for e in parse(content, url, ctx=ctx, charset=charset)}
        if spec.options.get("follow_links"):
            html = schemaorg.decode_page(content, charset)
            limit = int(spec.options.get("max_pages", MAX_PAGES))
            links = schemaorg.same_site_links(html, url, spec.options.get("link_pattern"))[:limit]
            for event in schemaorg.read_linked_pages(http, links, ctx):
                events.setdefault(event.source_uid, event)
        return list(events.values())  # the source's group: is applied by the pipeline (normalise)


def parse(data: bytes | str, base_url: str = "", *, ctx: Context, charset: str | None = None):
    return schemaorg.parse_page(data, base_url, ctx=ctx, charset=charset)
