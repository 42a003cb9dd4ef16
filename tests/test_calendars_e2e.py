"""`profile.calendars` through the real CLI: a local server serves an aggregated meetup feed and
the user's own calendar at a secret-looking address. The calendar is evidence only: what it
matches logs visits and catch-ups; nothing of it is stored as an event, published or printed."""

from __future__ import annotations

import json
import sqlite3
import threading

import requests

from aggregator import config
from aggregator.server import FeedService, make_server
from aggregator.store import Store
from tests.conftest import NOW, Cli, write_config

SECRET = "private-5ecr3tT0kenZZ9"
PERSONAL_PATH = f"/calendar/ical/me%40example.org/{SECRET}/basic.ics"
PRIVATE_TITLE = "Dentist appointment Xq7"

MEETUPS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//meetups//EN\r
BEGIN:VEVENT\r
UID:typing@pdx-python\r
DTSTAMP:20261001T000000Z\r
DTSTART;TZID=America/Los_Angeles:20261105T183000\r
DTEND;TZID=America/Los_Angeles:20261105T203000\r
SUMMARY:PDX Python: Typing in practice\r
LOCATION:Puppet Labs\\, 308 SW 2nd Ave\\, Portland\\, OR\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:packaging@pdx-python\r
DTSTAMP:20261001T000000Z\r
DTSTART;TZID=America/Los_Angeles:20261210T183000\r
DTEND;TZID=America/Los_Angeles:20261210T203000\r
SUMMARY:PDX Python: Packaging with uv and hatch\r
LOCATION:Puppet Labs\\, 308 SW 2nd Ave\\, Portland\\, OR\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:project@pdx-python\r
DTSTAMP:20261001T000000Z\r
DTSTART;TZID=America/Los_Angeles:20261217T183000\r
DTEND;TZID=America/Los_Angeles:20261217T203000\r
SUMMARY:PDX Python: Project night\r
END:VEVENT\r
END:VCALENDAR\r
"""


def personal_calendar(*, with_past: bool = True) -> bytes:
    past = b"""BEGIN:VEVENT\r
UID:g-past@google.com\r
DTSTAMP:20261001T000000Z\r
DTSTART:20261106T023000Z\r
DTEND:20261106T043000Z\r
SUMMARY:PDX Python: Typing in practice\r
LOCATION:Puppet Labs\r
ORGANIZER;CN=Me:mailto:me@example.org\r
ATTENDEE;CN=Dana Lee;PARTSTAT=ACCEPTED:mailto:dana@example.org\r
END:VEVENT\r
""" if with_past else b""
    return b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
""" + past + b"""BEGIN:VEVENT\r
UID:g-future@google.com\r
DTSTAMP:20261001T000000Z\r
DTSTART:20261211T023000Z\r
DTEND:20261211T043000Z\r
SUMMARY:PDX Python: Packaging with uv and hatch\r
LOCATION:Puppet Labs\r
ATTENDEE;CN=Sam Rivera;PARTSTAT=ACCEPTED:mailto:sam@example.org\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:g-private@google.com\r
DTSTAMP:20261001T000000Z\r
DTSTART:20261205T170000Z\r
DTEND:20261205T180000Z\r
SUMMARY:""" + PRIVATE_TITLE.encode() + b"""\r
LOCATION:Puppet Labs\r
END:VEVENT\r
END:VCALENDAR\r
"""


def setup(tmp_path, server, calendar: bytes | None = None, status: int = 200):
    feed = server.add("/pdx-python.ics", MEETUPS, headers={"Content-Type": "text/calendar; charset=utf-8"})
    secret_url = server.add(PERSONAL_PATH, calendar if calendar is not None else personal_calendar(), status,
                            headers={"Content-Type": "text/calendar; charset=utf-8"})
    server.add("/robots.txt", b"User-agent: *\nDisallow: /calendar/\n")  # as Google's says
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("First Name,Last Name,E-mail 1 - Value\nDana,Lee,dana@example.org\n"
                        "Sam,Rivera,sam@example.org\n", encoding="utf-8")
    path = write_config(tmp_path, [{"name": "pdx-python", "kind": "ics", "url": feed, "group": "PDX Python"}],
                        profile={"contacts": ["contacts.csv"], "calendars": [secret_url]})
    return Cli(path), secret_url


def contacts_by_name(cli):
    return {c["name"]: c for c in cli.json("contacts", "list")}


def test_a_past_match_is_a_visit_and_a_catch_up_and_a_future_one_says_who_is_going(tmp_path, server):
    cli, _ = setup(tmp_path, server)
    result = cli("fetch")
    assert result.returncode == 0, result.stdout + result.stderr
    people = contacts_by_name(cli)
    assert people["Dana Lee"]["last_contacted"] == "2026-11-05"  # the meetup's day, in the user's zone
    assert people["Dana Lee"]["events_matched"] == 1
    assert people["Sam Rivera"]["last_contacted"] is None  # going is not meeting, yet
    upcoming = cli.json("upcoming", "--limit", "0", "--days", "60")
    packaging = next(e for e in upcoming if e["title"] == "PDX Python: Packaging with uv and hatch")
    evidence = {c["name"]: c["evidence"] for c in packaging["contacts"]}
    # Sam is listed in the user's entry; Dana only predicted, from the visit the calendar logged
    assert evidence == {"Sam Rivera": "logged", "Dana Lee": "predicted"}
    project = next(e for e in upcoming if e["title"] == "PDX Python: Project night")
    assert "Sam Rivera" not in {c["name"] for c in project["contacts"]}
    assert packaging["reasons"][0] == "you're going (in your calendar)"  # the user's own entry ahead
    assert "you're going (in your calendar)" not in project["reasons"]
    with sqlite3.connect(tmp_path / "events.db") as db:
        typing_id = db.execute("select id from events where title like '%Typing%'").fetchone()[0]
        assert db.execute("select event_id from my_events").fetchall() == [(typing_id,)]
    # robots.txt disallows the calendar's path: the user's own calendar is read all the same, and only
    # the aggregated source's session asked for robots.txt (the calendar's own session never did)
    assert server.hits_for(PERSONAL_PATH) and len(server.hits_for("/robots.txt")) == 1


def test_fetching_twice_doubles_nothing(tmp_path, server):
    cli, _ = setup(tmp_path, server)
    assert cli("fetch").returncode == 0

    def counts():
        with sqlite3.connect(tmp_path / "events.db") as db:
            return [db.execute(f"select count(*) from {t}").fetchone()[0]
                    for t in ("attendance", "my_events", "touches", "events")]

    first = counts()
    assert first[:3] == [2, 1, 1]
    assert cli("fetch").returncode == 0
    assert counts() == first


def test_an_entry_removed_from_the_calendar_takes_its_evidence_with_it(tmp_path, server):
    cli, _ = setup(tmp_path, server)
    assert cli("fetch").returncode == 0
    server.add(PERSONAL_PATH, personal_calendar(with_past=False))
    assert cli("fetch").returncode == 0
    assert contacts_by_name(cli)["Dana Lee"]["events_matched"] == 0
    with sqlite3.connect(tmp_path / "events.db") as db:
        assert db.execute("select count(*) from my_events").fetchone()[0] == 0


def test_private_entries_and_the_secret_address_never_leave(tmp_path, server):
    cli, secret_url = setup(tmp_path, server)
    fetched = cli("fetch")
    verbose = cli("--verbose", "fetch") if "--verbose" in cli("--help").stdout else fetched
    as_json = cli("fetch", "--json")
    for result in (fetched, verbose, as_json):
        assert result.returncode == 0
        for secret in (SECRET, PERSONAL_PATH, secret_url):
            assert secret not in result.stdout + result.stderr
    assert "127.0.0.1/…" in fetched.stdout + fetched.stderr  # named, redacted to scheme and host
    sources = cli("sources", "--json")
    assert SECRET not in sources.stdout and [s["name"] for s in json.loads(sources.stdout)] == ["pdx-python"]
    upcoming = cli("upcoming", "--json", "--limit", "0", "--days", "60")
    feed = cli("feed")
    for text in (upcoming.stdout, feed.stdout):
        assert PRIVATE_TITLE not in text and SECRET not in text
    with sqlite3.connect(tmp_path / "events.db") as db:
        assert db.execute("select count(*) from events").fetchone()[0] == 3  # the aggregated ones only
        assert not db.execute("select 1 from events where title = ? or source not in ('pdx-python')",
                              [PRIVATE_TITLE]).fetchall()
        dump = "\n".join(db.iterdump())
    assert SECRET not in dump and PRIVATE_TITLE not in dump  # not even in the HTTP validator cache
    settings = config.load(tmp_path / "config.yaml")
    store = Store(settings.database)
    httpd = make_server(FeedService(settings, store, now=lambda: NOW), "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        for page in ("/feed.ics", "/"):
            served = requests.get(f"http://127.0.0.1:{httpd.server_address[1]}{page}", timeout=10)
            assert served.status_code == 200 and "Packaging with uv and hatch" in served.text
            assert PRIVATE_TITLE not in served.text and SECRET not in served.text
    finally:
        httpd.shutdown()
        httpd.server_close()
        store.close()


def test_a_calendar_that_cannot_be_read_is_named_redacted_and_the_sources_still_fetched(tmp_path, server):
    cli, _ = setup(tmp_path, server)
    assert cli("fetch").returncode == 0
    server.add(PERSONAL_PATH, b"gone", 404)
    result = cli("fetch")
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "calendar not read: http://127.0.0.1/…" in output and SECRET not in output
    assert "Traceback" not in output
    assert contacts_by_name(cli)["Dana Lee"]["events_matched"] == 1  # the last good read's evidence is kept
    assert len(cli.json("upcoming", "--limit", "0", "--days", "60")) == 2


def test_a_calendar_that_is_not_a_calendar_is_a_named_problem(tmp_path, server):
    cli, _ = setup(tmp_path, server, calendar=b"<html>Sign in to Google</html>")
    result = cli("fetch")
    assert result.returncode == 1
    assert "calendar not read" in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert len(cli.json("upcoming", "--limit", "0", "--days", "60")) == 2


def test_fetch_of_named_sources_leaves_your_calendars_alone_and_says_so(tmp_path, server):
    """`fetch --source` fetches what was named: your calendars are read by a whole run only (their
    evidence stays as the last whole run left it)."""
    cli, _ = setup(tmp_path, server)
    named = cli("fetch", "--source", "pdx-python", "--json")
    assert named.returncode == 0, named.stderr
    report = json.loads(named.stdout)
    assert "your calendars: not read (only the named sources were fetched)" in report["notes"]
    assert server.hits_for(PERSONAL_PATH) == []
    assert contacts_by_name(cli)["Dana Lee"]["last_contacted"] is None
    assert cli("fetch").returncode == 0
    assert len(server.hits_for(PERSONAL_PATH)) == 1
    assert contacts_by_name(cli)["Dana Lee"]["last_contacted"] == "2026-11-05"
    assert cli("fetch", "--source", "pdx-python").returncode == 0
    assert contacts_by_name(cli)["Dana Lee"]["last_contacted"] == "2026-11-05"  # nothing undone
