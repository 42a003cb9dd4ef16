"""Parsing for the `ics` kind: repaired VEVENT lines to icalendar components, many series to
one parse, and a copy of a unit met before in the same body parsed and expanded once.

A unit is what sources/ics.py expands together: one series (one UID), or one of several
unrelated events that share a UID.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import icalendar

from aggregator.source import Context
from sources.ics_expand import Occurrence, rename_tzid
from sources.ics_text import Component, short_reason

PARSE_BATCH = 2_000  # VEVENT series parsed together: fast like one parse, memory of one batch


@dataclass
class Unit:
    """Events expanded together: one series, or one of several unrelated events sharing a UID."""

    uid: str
    label: str
    lines: list[list[str]]
    zones: dict[str, Component]
    per_start: bool
    twin: tuple | None = None  # its key, once its results are kept for its copies (Copies)

    def key(self) -> tuple:
        """The unit's content: equal keys parse and expand alike (zone names are content hashes)."""
        return self.uid, self.per_start, tuple(map(tuple, self.lines)), tuple(sorted(self.zones))


class Copies:
    """Units met before in one body, by content, so a copy is parsed and expanded once.

    libical's large.ics repeats the same 49 VEVENTs across 1,788 VCALENDARs; a feed may repeat
    an event in every calendar it holds. A unit's results are kept from its second sighting
    on, for at most KEPT units: memory stays that of a batch, whatever the body.
    """

    KEPT = PARSE_BATCH

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.met: set[int] = set()  # hashes: a collision only keeps one unit's results in vain
        self.parsed: dict[tuple, tuple[list | None, str | None]] = {}  # key -> (VEVENTs, the warning)
        self.expanded: dict[tuple, list[Occurrence]] = {}

    def keep(self, key: tuple) -> bool:
        """True when `key` is met again and there is room for its results."""
        if hash(key) not in self.met:
            self.met.add(hash(key))
            return False
        return len(self.parsed) < self.KEPT


def parse_once(units: list[Unit], ctx: Context, copies: Copies) -> Iterator[list | None]:
    """Each unit's parsed VEVENTs, PARSE_BATCH units to one icalendar parse: memory holds one
    batch's components, not a 20 MB feed's. A copy of a unit parsed before is not parsed again."""
    for at in range(0, len(units), PARSE_BATCH):
        batch = units[at:at + PARSE_BATCH]
        if not copies.enabled:
            yield from _parse_batch(batch, ctx, {})
            continue
        keys = [unit.key() for unit in batch]  # transient: only a kept unit's key outlives its batch
        fresh = [unit for unit, key in zip(batch, keys, strict=True) if key not in copies.parsed]
        warnings: dict[int, str] = {}
        parsed = dict(zip(map(id, fresh), _parse_batch(fresh, ctx, warnings), strict=True))
        for unit, key in zip(batch, keys, strict=True):
            if id(unit) in parsed:
                components = parsed[id(unit)]
                if copies.keep(key):
                    copies.parsed[key] = (components, warnings.get(id(unit)))
                    unit.twin = key
            else:
                components, warning = copies.parsed[key]
                unit.twin = key
                if warning:
                    ctx.warn(warning)
            yield components


def _parse_batch(units: list[Unit], ctx: Context, warnings: dict[int, str]) -> list[list | None]:
    """Each unit's parsed VEVENTs, from one icalendar parse of the repaired batch.

    Parsing many at once is what keeps ingest linear and close to plain icalendar's speed.
    Should the whole parse fail or lose count of the events, each unit is parsed on its own
    so a broken one costs only itself.
    """
    zones: dict[str, Component] = {}
    for unit in units:
        zones.update(unit.zones)  # private names are content hashes: equal names, equal rules
    try:
        parsed = _from_ical([lines for unit in units for lines in unit.lines], zones)
        if len(parsed) == sum(len(unit.lines) for unit in units):
            out, at = [], 0
            for unit in units:
                out.append(parsed[at:at + len(unit.lines)])
                at += len(unit.lines)
            return out
    except Exception:  # noqa: S110 - parsed unit by unit below, each failure reported there
        pass
    out = []
    for unit in units:
        try:
            out.append(_from_ical(unit.lines, unit.zones))
        except Exception as exc:
            warnings[id(unit)] = f"{unit.label}: skipped ({short_reason(exc)})"
            ctx.warn(warnings[id(unit)])
            out.append(None)
    return out


def _from_ical(event_lines: list[list[str]], zones: dict[str, Component]) -> list:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//aggregator//repair//EN"]
    for tzid, definition in zones.items():
        body.extend(rename_tzid(definition, tzid))
    for lines in event_lines:
        body.extend(lines)
    body.append("END:VCALENDAR")
    cal = icalendar.Calendar.from_ical("\r\n".join(body))
    return [c for c in cal.subcomponents if c.name == "VEVENT"]
