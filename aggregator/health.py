"""The `sources` read model: each configured source's health, from what the fetch runs recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from aggregator.config import Settings
from aggregator.store import Store, parse_utc
from aggregator.store.values import SourceHealth

STALE_AFTER = timedelta(days=30)


def source_health(settings: Settings, store: Store, now: datetime) -> list[dict]:
    """One row per configured source (also before any fetch): the `sources --json` shape."""
    stored = store.runs.health()
    health = []
    for spec in settings.sources:
        h = stored.get(spec.name) or SourceHealth(spec.name)
        stale = bool(h.last_ok_at and h.last_new_at and parse_utc(h.last_new_at) < now - STALE_AFTER)
        health.append({
            "name": spec.name,
            "kind": spec.kind,
            "url": spec.url,
            "last_run_at": h.last_run_at,
            "last_ok_at": h.last_ok_at,
            "last_error": h.last_error,
            "consecutive_failures": h.consecutive_failures,
            "last_new_at": h.last_new_at,
            "stale": stale,  # nothing new for 30 days: likely broken
            "warning": h.last_warning,
            # fetched without error, fresh, and no warning (a suspect fetch, nothing stored)
            "ok": bool(h.last_ok_at and not h.last_error and not stale and not h.last_warning),
            "events": store.events.count(spec.name),
            "upcoming": store.events.count(spec.name, after=now),
        })
    return health
