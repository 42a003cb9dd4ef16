"""The fetch run's first step: the address books in `profile.contacts`, each imported when it changed."""

from __future__ import annotations

from datetime import datetime

from aggregator.config import Settings
from aggregator.contacts import import_file
from aggregator.errors import AggregatorError
from aggregator.store import Store
from aggregator.text import safe_text


def import_configured(settings: Settings, store: Store, now: datetime) -> tuple[list[str], list[str]]:
    """Each `profile.contacts` file on its own: one that is missing or does not parse is named
    with its problem and skipped; the sources are fetched all the same and the run exits 1.
    Returns (notes, problems) for the run's report."""
    notes: list[str] = []
    problems: list[str] = []
    for path in settings.profile.contacts:
        try:
            imported = import_file(store, path, now=now, only_if_changed=True)
        except AggregatorError as exc:
            problem = safe_text(exc, one_line=True)
        except Exception as exc:  # a parser bug on an odd file must not stop the fetch
            problem = safe_text(f"{exc.__class__.__name__}: {exc}", one_line=True)
        else:
            if imported is not None:
                left_out = f", {imported.removed} left out (you removed them)" if imported.removed else ""
                notes.append(f"contacts from {path.name}: {imported.added} added, {imported.updated} updated"
                             + left_out)
            continue
        message = f"contacts not imported from {safe_text(path, one_line=True)}: {problem}"
        notes.append(message)
        problems.append(message)
    return notes, problems
