"""A small real listing for the terminal-view tests: a SQLite store with six upcoming events of
varied length, groups, places, contacts with attendance history, and one hostile title."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aggregator import config, contacts
from aggregator.model import Event, Person, Venue
from aggregator.ranking import score as rank
from aggregator.store import Store
from tests.conftest import NOW, PORTLAND, write_config

CONTACTS_CSV = """First Name,Last Name,URL,Email Address,Company,Position,Connected On
Dana,Lee,https://www.linkedin.com/in/dana-lee,,Puppet,Engineer,01 Nov 2026
Sam,Ortiz,https://www.linkedin.com/in/sam-ortiz,,Intel,Engineer,01 Mar 2026
Ravi,Patel,https://www.linkedin.com/in/ravi-patel,,Nike,Engineer,01 Nov 2026
"""
DANA, SAM, RAVI = Person("Dana Lee", status="going"), Person("Sam Ortiz", status="going"), \
    Person("Ravi Patel", status="going")
HOSTILE_TITLE = "Rust \x1b[2J\x1b]8;;https://evil.example\x07night\x1b]8;;\x07 \x1b[31mreloaded"


def past(group: str, n: int, who, title: str) -> list[Event]:
    return [Event(f"{group}-past-{i}", f"{title} {i}", NOW - timedelta(days=20 + 30 * i), group=group,
                  attendees=tuple(who(i))) for i in range(n)]


def upcoming_events() -> list[Event]:
    soon = NOW + timedelta(days=1)
    return [
        Event("py", "Typing in practice: protocols, generics and the gradual guarantee in large Python codebases",
              soon.replace(hour=2, minute=30), group="PDX Python",
              venue=Venue("Puppet HQ", "308 SW 2nd Ave, Portland, OR 97204", lat=45.52, lon=-122.67)),
        Event("rs", "Rust night", soon + timedelta(hours=1), group="PDX Rust",
              venue=Venue("Collective Agency", "Portland", lat=45.52, lon=-122.68)),
        Event("ml", "Machine learning study group: transformers from scratch, week 7 (attention heads)",
              NOW + timedelta(days=3), group="Portland Data Science Group", online=True),
        Event("hostile", HOSTILE_TITLE, NOW + timedelta(days=3, hours=3), group="PDX Rust"),
        Event("conf", "PyCascades 2027", NOW + timedelta(days=9), group="PyCascades",
              venue=Venue("Vancouver Convention Centre", "1055 Canada Pl, Vancouver, BC", lat=49.29, lon=-123.11),
              attendees=(SAM,)),
        Event("knit", "Data engineering happy hour", NOW + timedelta(days=12),
              venue=Venue("A pub with a rather long name in the Pearl District", "NW 13th Ave")),
    ]


def build(folder: Path):
    """(config path, settings, store) with the listing stored and contacts imported."""
    path = write_config(folder, [{"name": "pdx-python-meetup-group-calendar", "kind": "ics",
                                  "url": "https://example.org/a.ics"}],
                        profile={"topics": {"python": 3, "rust": 2, "machine learning": 2, "data": 1},
                                 "home": {"lat": 45.52, "lon": -122.68, "radius_km": 40},
                                 "contacts": ["Connections.csv"]})
    (folder / "Connections.csv").write_text(CONTACTS_CSV)
    settings = config.load(path)
    store = Store(settings.database)
    contacts.import_file(store, folder / "Connections.csv", now=NOW)
    history = (past("PDX Python", 5, lambda i: [DANA] if i < 4 else [RAVI], "Python night")
               + past("PDX Rust", 5, lambda i: [SAM, DANA], "Rust night")
               + past("Portland Data Science Group", 4, lambda i: [RAVI], "ML"))
    store.events.save("pdx-python-meetup-group-calendar", history + upcoming_events(), now=NOW, tz=PORTLAND)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    return path, settings, store
