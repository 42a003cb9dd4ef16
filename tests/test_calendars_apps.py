"""Your real calendars, as each calendar app exports them, through `aggregator fetch`.

tests/fixtures/calendars/ holds one export per app, written from each app's documented format:
Google Calendar's "secret address in iCal format" (named after its owner), an Outlook / Office 365
published calendar (Windows zone names, X-MICROSOFT-CDO-*, the owner as organiser), an iCloud public
calendar ("Home", Apple's properties, URL on the entry) and a Fastmail export (Cyrus, DURATION,
X-JMAP-ID). Each holds entries the user went to or is going to, with edited titles and no location,
and entries they declined or cancelled. Two Meetup groups' feeds are the listed events. The owner
is also one of their own contacts (as a Google contacts export often has them): never "met".
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import FIXTURES, Cli, write_config

CALENDARS = FIXTURES / "calendars"
SECRET_PATH = "/calendar/ical/me%40example.org/private-0a1b2c3d4e5f/basic.ics"
CONTACTS = (
    "First Name,Last Name,E-mail 1 - Value\n"
    "Dana,Lee,dana@example.org\n"
    "Sam,Rivera,sam@example.org\n"
    "Alex,Kim,alex@example.org\n"
    "Priya,Natarajan,priya@example.org\n"
    "Jordan,Poe,jordan@example.org\n"
    "Robin,Self,me@example.org ::: me@outlook.example ::: me@icloud.example ::: me@fastmail.example\n"
)

# app export -> (past matched, upcoming matched, {contact: day last met}, {listed title: {contact: evidence}})
APPS = {
    "google_secret_ical.ics": (
        1, 2,
        {"Dana Lee": "2026-11-05"},  # same UID as the Meetup event (imported), title edited, no location
        {"PDX Python: Packaging with uv and hatch": {"Sam Rivera"},  # "Going: PDX Python" at that time
         "PDX Python: Testing with hypothesis": {"Priya Natarajan"}},  # 90 min early, linked via google.com/url
    ),
    "outlook_published.ics": (
        1, 1,
        {"Dana Lee": "2026-11-19"},  # "PDX Python - Async talk", Windows TZID
        {"Rust PDX: Embedded Rust on a budget": {"Sam Rivera"}},
    ),
    "icloud_published.ics": (
        1, 1,
        {"Alex Kim": "2026-11-12"},  # 45 minutes early, the event's page in URL
        {"PDX Python: Project night": set()},  # "PDX Python project night", Apple's structured location
    ),
    "fastmail_export.ics": (
        1, 1,
        {"Dana Lee": "2026-11-05"},  # the talk's own title, DURATION, a location spelled otherwise
        {"PDX Python: Packaging with uv and hatch": {"Sam Rivera"}},  # the event page in the description
    ),
}
DECLINED_OR_CANCELLED = {  # entries the user is not going to: nobody in them is logged there
    "google_secret_ical.ics": ("Rust PDX: Async Rust in production", "Alex Kim"),
    "outlook_published.ics": ("PDX Python: Packaging with uv and hatch", "Jordan Poe"),
    "icloud_published.ics": ("Rust PDX: Embedded Rust on a budget", "Sam Rivera"),
    "fastmail_export.ics": ("Rust PDX: Async Rust in production", "Alex Kim"),
}


def setup(tmp_path, server, export: str) -> Cli:
    calendar = "text/calendar; charset=utf-8"
    python = server.add("/pdx-python/events/ical/", (CALENDARS / "listed_pdx_python.ics").read_bytes(),
                        headers={"Content-Type": calendar})
    rust = server.add("/rust-pdx/events/ical/", (CALENDARS / "listed_rust_pdx.ics").read_bytes(),
                      headers={"Content-Type": calendar})
    mine = server.add(SECRET_PATH, (CALENDARS / export).read_bytes(), headers={"Content-Type": calendar})
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    sources = [{"name": "pdx-python", "kind": "ics", "url": python, "group": "PDX Python"},
               {"name": "rust-pdx", "kind": "ics", "url": rust, "group": "Rust PDX"}]
    return Cli(write_config(tmp_path, sources, profile={"contacts": ["contacts.csv"], "calendars": [mine]}))


@pytest.mark.parametrize("export", sorted(APPS))
def test_each_apps_export_logs_the_evenings_you_went_and_says_who_is_going(tmp_path, server, export):
    past, upcoming, met, going = APPS[export]
    cli = setup(tmp_path, server, export)
    fetched = cli("fetch", "--json")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    notes = json.loads(fetched.stdout)["notes"]
    assert f"your calendar http://127.0.0.1/…: {past} past and {upcoming} upcoming events matched" in notes
    assert "private-0a1b2c3d4e5f" not in fetched.stdout + fetched.stderr

    contacts = {c["name"]: c for c in cli.json("contacts", "list")}
    assert {name: c["last_contacted"] for name, c in contacts.items() if c["last_contacted"]} == met
    assert contacts["Robin Self"]["events_matched"] == 0  # the calendar's owner is not someone they met

    events = {e["title"]: e for e in cli.json("upcoming", "--limit", "0", "--days", "60")}
    for title, logged in going.items():
        assert events[title]["reasons"][0] == "you're going (in your calendar)", events[title]["reasons"]
        assert {c["name"] for c in events[title]["contacts"] if c["evidence"] == "logged"} == logged
    going_to = {t for t, e in events.items() if "you're going (in your calendar)" in e["reasons"]}
    assert going_to == set(going)

    with sqlite3.connect(tmp_path / "events.db") as db:  # the evenings you went, logged as `attended` logs them
        went = db.execute("select e.title from my_events m join events e on e.id = m.event_id").fetchall()
    assert len(went) == past

    title, person = DECLINED_OR_CANCELLED[export]
    assert contacts[person]["last_contacted"] is None or person in met
    if title in events:
        assert person not in {c["name"] for c in events[title]["contacts"] if c["evidence"] == "logged"}
