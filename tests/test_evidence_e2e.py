"""Issue 13 end to end: a contact speaking at a conference, a contact named in a meetup's
description, a name trap, and a conference that does not flood the listing.

Real parts: a LinkedIn CSV imported with `aggregator contacts import`, a pretalx-style
schedule.json and an .ics calendar served by the local HTTP server, `aggregator fetch`,
then `upcoming --json`, `why` and `feed` through the real CLI.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from tests.conftest import Cli, write_config

CONFERENCE = "Cascadia DevConf 2026"
TALKS = 12  # one conference day; only the contact's talk stands out
SPEAKING = 5

LINKEDIN = """First Name,Last Name,URL,Email Address,Company,Position,Connected On
Priya,Raman,https://www.linkedin.com/in/priya-raman,,Acme,Engineer,12 Mar 2021
Sam,Ortiz,https://www.linkedin.com/in/samortiz,,Intel,Staff Engineer,05 Jan 2020
Will,May,https://www.linkedin.com/in/will-may,,Globex,Designer,01 Feb 2022
"""


def schedule_json() -> bytes:
    talks = []
    for n in range(TALKS):
        start = datetime.fromisoformat("2026-12-10T09:00:00-08:00") + timedelta(minutes=30 * n)
        speaker = "Priya Raman" if n == SPEAKING else f"Speaker Number{n}"
        talks.append({
            "id": n + 1, "guid": f"cdc-{n}", "date": start.isoformat(), "start": start.strftime("%H:%M"),
            "duration": "00:30", "room": "Main Hall", "slug": f"t{n}", "title": f"Session {n} on observability",
            "url": f"https://pretalx.example.org/cdc26/talk/T{n}/", "abstract": "", "description": "",
            "type": "Talk", "language": "en",
            "persons": [{"id": 100 + n, "code": f"P{n}", "public_name": speaker, "biography": None}],
        })
    schedule = {"schedule": {"version": "1", "base_url": "https://pretalx.example.org/cdc26/schedule/",
                             "conference": {"acronym": "cdc26", "title": CONFERENCE, "start": "2026-12-10",
                                            "end": "2026-12-10", "daysCount": 1,
                                            "time_zone_name": "America/Los_Angeles",
                                            "days": [{"index": 1, "date": "2026-12-10",
                                                      "day_start": "2026-12-10T08:00:00-08:00",
                                                      "day_end": "2026-12-10T20:00:00-08:00",
                                                      "rooms": {"Main Hall": talks}}]}}}
    return json.dumps(schedule).encode()


def meetup_ics() -> bytes:
    def vevent(uid: str, day: str, title: str, description: str) -> str:
        return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n"
                f"DTSTART;TZID=America/Los_Angeles:{day}T183000\r\nDTEND;TZID=America/Los_Angeles:{day}T203000\r\n"
                f"SUMMARY:{title}\r\nDESCRIPTION:{description}\r\nEND:VEVENT\r\n")

    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//meetups//EN\r\nX-WR-CALNAME:PDX Builders\r\n"
            + vevent("m1@test", "20261203", "Builders monthly", "Talk by Sam Ortiz on build caches.")
            + vevent("m2@test", "20261208", "Builders hack night",
                     "Bring a laptop: you will may want to pair. Will May 5th work for the next one?")
            + vevent("m3@test", "20261215", "Builders social", "Drinks and chat.")
            + "END:VCALENDAR\r\n").encode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from tests.localserver import LocalServer

    server, tmp_path = LocalServer(), tmp_path_factory.mktemp("evidence")
    try:
        yield _world(tmp_path, server)
    finally:
        server.close()


def _world(tmp_path, server):
    schedule_url = server.add("/cdc26/schedule.json", schedule_json(), headers={"Content-Type": "application/json"})
    ics_url = server.add("/builders.ics", meetup_ics(), headers={"Content-Type": "text/calendar"})
    cli = Cli(write_config(tmp_path, [{"name": "cdc26", "kind": "schedule", "url": schedule_url},
                                      {"name": "builders", "kind": "ics", "url": ics_url}]))
    csv = tmp_path / "Connections.csv"
    csv.write_text(LINKEDIN, encoding="utf-8")
    imported = cli("contacts", "import", str(csv))
    assert imported.returncode == 0, imported.stderr
    fetched = cli("fetch")
    assert fetched.returncode == 0, fetched.stderr
    return cli, cli.json("upcoming", "--limit", "0", "--days", "30")


def test_page_and_plain_listing_show_the_roll_up_not_the_talks(world):
    from aggregator import config, page
    from aggregator.ranking import listing
    from aggregator.store import Store

    cli, _ = world
    plain = cli("upcoming", "--days", "30")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.count(f"{CONFERENCE} — {TALKS - 1} more talks") == 1
    assert re.findall(r"\d\d:\d\d  (Session \d+)", plain.stdout) == [f"Session {SPEAKING}"]  # one line a talk
    settings = config.load(cli.config)
    store = Store(settings.database)
    try:
        items = listing.upcoming(store, settings, now=cli.now, days=30, limit=0)
    finally:
        store.close()
    html = page.render(items, settings, page.Links("127.0.0.1:8080"), now=cli.now)
    assert html.count(f"{CONFERENCE} — {TALKS - 1} more talks") == 1
    rolled = next(i for i in items if i.rolled)
    best = max(rolled.rolled, key=lambda t: (t.score, t.id)).event.title  # named in the roll-up's reason
    assert set(re.findall(r"Session \d+ on observability", html)) <= {f"Session {SPEAKING} on observability", best}


def test_contact_speaking_is_above_every_other_talk_and_roll_up(world):
    _, items = world
    conference = [i for i in items if i["group"] == CONFERENCE]
    assert conference[0]["title"] == f"Session {SPEAKING} on observability"
    talk = conference[0]
    assert talk["contacts"][0]["name"] == "Priya Raman" and talk["contacts"][0]["evidence"] == "speaker"
    assert "Priya Raman is speaking" in talk["reasons"]


def test_conference_does_not_flood_the_listing(world):
    _, items = world
    conference = [i for i in items if i["group"] == CONFERENCE]
    # The speaker's talk on its own, the other eleven as one entry for the day.
    assert [i["title"] for i in conference] == [f"Session {SPEAKING} on observability",
                                               f"{CONFERENCE} — {TALKS - 1} more talks"]
    rolled = conference[1]
    assert rolled["start"] == "2026-12-10T09:00:00-08:00" and rolled["end"] == "2026-12-10T15:00:00-08:00"
    assert rolled["sources"] == ["cdc26"] and rolled["contacts"] == []
    assert f"Listed on their own this day: Session {SPEAKING} on observability." in rolled["description"]


def test_description_mention_gives_mentioned_and_the_name_trap_gives_nothing(world):
    _, items = world
    by_title = {i["title"]: i for i in items}
    monthly = by_title["Builders monthly"]
    assert [(c["name"], c["evidence"]) for c in monthly["contacts"]] == [("Sam Ortiz", "mentioned")]
    assert monthly["contacts"][0]["probability"] == 0.6
    assert "Sam Ortiz is named in the description" in monthly["reasons"]
    assert monthly["score"] > by_title["Builders social"]["score"]
    hack = by_title["Builders hack night"]
    assert hack["contacts"] == [] and not any("Will May" in r for r in hack["reasons"])
    assert hack["score"] == by_title["Builders social"]["score"]


def test_why_explains_a_roll_up_and_the_feed_carries_it_once(world):
    cli, items = world
    rolled = next(i for i in items if i["title"].endswith("more talks"))
    detail = cli.json("why", rolled["id"][:10])
    assert detail["id"] == rolled["id"] and detail["rolled_up"]["count"] == TALKS - 1
    assert detail["reasons"][0] == f"a roll-up of {TALKS - 1} talks; its score is its best talk's"
    text = cli("why", rolled["id"])
    assert text.returncode == 0 and "roll-up of 11 talks" in text.stdout, text.stderr
    feed = cli("feed")
    assert feed.returncode == 0, feed.stderr
    body = feed.stdout.replace("\r\n ", "")
    assert len(re.findall(r"SUMMARY:Session \d+", body)) == 1  # only the speaker's talk on its own
    assert f"UID:{rolled['id']}" in body or rolled["id"] in body
