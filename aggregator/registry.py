"""Find source plugins through the ``aggregator.sources`` entry-point group.

Loaded inside a function, never at import, so a broken third-party plugin
breaks only the configs that use its kind.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from aggregator.errors import AggregatorError
from aggregator.source import Source

GROUP = "aggregator.sources"


@cache
def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def installed_kinds() -> list[str]:
    return sorted(_entry_points())


def load_source(kind: str) -> Source:
    """The plugin for `kind`, instantiated. Unknown kinds list the installed ones."""
    ep = _entry_points().get(kind)
    if ep is None:
        raise AggregatorError(
            f"unknown source kind {kind!r}; installed kinds: {', '.join(installed_kinds())}"
        )
    try:
        plugin = ep.load()
    except Exception as exc:  # a broken plugin package
        raise AggregatorError(f"source kind {kind!r} failed to load ({ep.value}): {exc}") from exc
    source = plugin() if isinstance(plugin, type) else plugin
    if not isinstance(source, Source):
        raise AggregatorError(f"source kind {kind!r} ({ep.value}) has no collect() method")
    return source
