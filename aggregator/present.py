"""Ranked events as people and programs read them: the JSON shapes of CONTRACT.md and the "why".

Works on the values rank.py produces (a Ranked item and its ContactChances)
without importing it, so ranking and presentation change apart.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aggregator import evidence as ev

LISTED = 0.05  # contacts shown; the score counts every contact with evidence
SAID = 0.2  # contacts a reason sentence names


def local_time(value: datetime | date, tz_name: str | None, default: ZoneInfo) -> datetime | date:
    if not isinstance(value, datetime):
        return value
    zone = default
    if tz_name:
        try:
            zone = ZoneInfo(tz_name)
        except Exception:
            zone = default
    return value.astimezone(zone)


def listed_contacts(chances) -> list[dict[str, Any]]:
    return [{"name": c.name, "probability": round(c.probability, 3), "evidence": c.evidence,
             "contact_id": c.contact_id} for c in chances if c.probability >= LISTED]


def as_json(item, default_tz: ZoneInfo) -> dict[str, Any]:
    """The `upcoming --json` shape of CONTRACT.md."""
    e = item.event
    start = local_time(e.start, e.timezone, default_tz)
    end = local_time(e.effective_end(), e.timezone, default_tz)
    text = (lambda v: v.isoformat() if e.all_day else v.isoformat(timespec="seconds"))
    return {
        "id": item.id,
        "title": e.title,
        "start": text(start),
        "end": text(end),
        "all_day": e.all_day,
        "timezone": e.timezone or (None if e.all_day else default_tz.key),
        "url": e.url,
        "location": e.venue.label(),
        "online": e.online,
        "group": e.group,
        "sources": item.sources,
        "status": e.status,
        "score": item.score,
        "reasons": item.reasons,
        "contacts": item.contacts,
        "tags": list(e.tags),
        "description": e.description,
    }


def dumps(items: list, default_tz: ZoneInfo) -> str:
    return json.dumps([as_json(i, default_tz) for i in items], ensure_ascii=False, indent=2)


def months(days: int) -> str:
    m = round(days / 30.4)
    return f"{m} months" if m >= 2 else f"{days} day{'' if days == 1 else 's'}"


def zone_words(zone: ZoneInfo) -> str:
    """Whose clock the times are: "Los Angeles time" (a subscriber elsewhere read a bare 6:30 PM as theirs)."""
    city = str(zone.key).rsplit("/", 1)[-1].replace("_", " ")
    return city if city.upper() == city else f"{city} time"  # "UTC", else "Berlin time"


def days_words(days: int) -> str:
    """A window in words: "in the next day", "in the next 30 days" (not "the next 1 days")."""
    return "day" if days == 1 else f"{days} days"


# Why a contact is likely there, in words: one vocabulary for every surface (the terminal agenda, the
# page, the digest, plan, reconnect). A bare "100%" beside a name read as "100% overdue" (issue 21), and the
# page's "RSVP'd" beside the terminal's "RSVPed" read as two different things. The words of each
# kind and status are rows of aggregator/evidence.py; a predicted chance's are made here.
USUALLY, OFTEN = 0.6, 0.3  # a predicted chance in words: "usually comes", "often comes", else "sometimes comes"


def evidence_words(probability: float, evidence: str, detail: str = "") -> str:
    """"RSVPed", "speaking", "often comes, 48%"; a contact new to the group "might come, 12%"."""
    kind = ev.kind(evidence)
    if kind.by_status:
        return ev.rsvp_status(probability).words
    if kind.words:
        return kind.words
    shown = round(probability, 2)  # the word goes with the number shown: 0.296 is "often comes, 30%"
    if detail.startswith("goes to "):  # new to this group, seen at a similar one (coldstart.py)
        how = "might come"
    else:
        how = "usually comes" if shown >= USUALLY else "often comes" if shown >= OFTEN else "sometimes comes"
    return f"{how}, {shown:.0%}"


def short_evidence_words(probability: float, evidence: str) -> str:
    """The same, in ten cells at most for a narrow terminal: "RSVPed", "44% chance" (a bare "100%" beside a
    name read as "100% overdue")."""
    kind = ev.kind(evidence)
    short = ev.rsvp_status(probability).short if kind.by_status else kind.short
    return short or f"{probability:.0%} chance"


def where_words(probability: float) -> str:
    """Before an event's name: "likely at" where they often come or better, else "maybe at" ("likely at
    Service design 101 (sometimes comes, 23%)" said two things)."""
    return "likely at" if round(probability, 2) >= OFTEN else "maybe at"


def record_words(came: int, of: int) -> str:
    """A contact's record at the group, beside the chance: "came to 4 of the last 5"."""
    return f"came to {came} of the last {of}"


MIGHT = "might be there"  # a contact new to the group (coldstart.py)


def reasons(item, recent: dict[int, tuple[int, int]], home_known: bool, most: int = 3) -> list[str]:
    """Sentences a person reads: topics, who RSVPed or speaks, who tends to come, who is overdue, where.

    `recent[contact_id]` = (attended, of) the group's last past events with known attendees.
    """
    out = []
    if item.topics:
        out.append("topic: " + ", ".join(item.topics))
    group = item.event.group or "this series"
    for c in [c for c in item.chances if c.probability >= SAID][:most]:
        kind = ev.kind(c.evidence)
        if kind.by_status:
            out.append(f"{c.name} {evidence_words(c.probability, c.evidence)}")
        elif kind.sentence:
            out.append(f"{c.name} {kind.sentence.format(where=getattr(c, 'detail', '') or 'description')}")
        elif getattr(c, "detail", "").startswith("goes to "):  # new to the group (coldstart.py)
            out.append(f"{c.name} {MIGHT}: {c.detail}")
        else:
            hits, n = recent.get(c.contact_id, (0, 0))
            history = f"came to {hits} of the last {n} {group} events" if n else f"has come to {group} before"
            out.append(f"{c.name} {history} (predicted {round(c.probability * 100)}% likely)")
    for c in [c for c in item.chances if c.overdue and c.probability >= SAID][:most]:
        if c.days_since is None:
            out.append(f"you have not logged a catch-up with {c.name} yet")
        else:
            out.append(f"you have not caught up with {c.name} in {months(c.days_since)}")
    if item.event.online and item.distance_km is None:
        out.append("online")
    elif item.distance_km is not None and home_known:
        out.append(f"{item.distance_km:.0f} km from home")
    return out


def explanation(item, recent: dict[int, tuple[int, int]], *, topic_base: float,
                formula: str) -> dict[str, Any]:
    """`why --json`: the three parts and what each is made of; they reconcile (CONTRACT.md)."""
    contacts = []
    for c in item.chances:
        hits, n = recent.get(c.contact_id, (0, 0))
        contacts.append({
            "name": c.name, "contact_id": c.contact_id, "probability": round(c.probability, 4),
            "evidence": c.evidence, "weight": round(c.weight, 3), "contribution": round(c.contribution, 4),
            "overdue": c.overdue, "days_since_catch_up": c.days_since, "recent": {"attended": hits, "of": n},
        })
    return {
        "id": item.id, "title": item.event.title, "group": item.event.group, "sources": item.sources,
        "score": item.score,
        "formula": formula,
        "topic_part": {"value": round(item.topic_part, 4), "base": topic_base,
                       "topics": {t: round(v, 4) for t, v in item.topic_contributions.items()}},
        "social_part": {"value": round(item.social_part, 4), "contacts": contacts},
        "distance_factor": {"value": round(item.distance_factor, 4),
                            "km_from_home": round(item.distance_km, 1) if item.distance_km is not None else None,
                            "online": item.event.online},
        "reasons": item.reasons,
    }
