"""Find source plugins through the ``aggregator.sources`` entry-point group.

Loaded inside a function, never at import, so a broken third-party plugin
breaks only the configs that use its kind. A loaded kind is checked against
the contract: its `kind` must equal its entry-point name (config.yaml's `kind:`
picks it by that name) and its `api_version` must not be newer than
`aggregator.source.API_VERSION`.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from aggregator.errors import AggregatorError
from aggregator.source import API_VERSION, Source

GROUP = "aggregator.sources"


@cache
def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def installed_kinds() -> list[str]:
    return sorted(_entry_points())


def load_source(kind: str) -> Source:
    """The plugin for `kind`, instantiated and checked. Unknown kinds list the installed ones."""
    ep = _entry_points().get(kind)
    if ep is None:
        raise AggregatorError(
            f"unknown source kind {kind!r}; installed kinds: {', '.join(installed_kinds())}"
        )
    try:
        plugin = ep.load()
        source = plugin() if isinstance(plugin, type) else plugin
    except Exception as exc:  # a broken plugin package
        raise AggregatorError(f"source kind {kind!r} failed to load ({ep.value}): {exc}") from exc
    check_plugin(source, kind, where=ep.value)
    return source


def check_plugin(source: object, name: str, *, where: str) -> None:
    """Raise AggregatorError unless `source`, registered as `name` by `where`, keeps the contract."""
    if not isinstance(source, Source):
        raise AggregatorError(f"source kind {name!r} ({where}) has no `kind` attribute or no collect() method")
    if source.kind != name:
        raise AggregatorError(
            f"source kind {name!r} ({where}) calls itself {source.kind!r}: a plugin's `kind` must equal "
            f"its entry-point name in the {GROUP!r} group; fix the plugin's entry point or its `kind`"
        )
    version = getattr(source, "api_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise AggregatorError(f"source kind {name!r} ({where}) has api_version {version!r}; "
                              f"it must be a whole number from 1 to {API_VERSION}")
    if version > API_VERSION:
        raise AggregatorError(
            f"source kind {name!r} ({where}) needs plugin API version {version}, but this aggregator "
            f"provides version {API_VERSION}; upgrade aggregator or install an older release of the plugin"
        )
