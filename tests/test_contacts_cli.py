"""Issue 18 through the real CLI: one person once across exports (duplicates, merge, remove), and the
past (`past`, `attended` on a past / future / unknown id, `touched --on` a future date)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from aggregator import config, contacts
from aggregator.model import Event, Person, Venue
from aggregator.ranking import score as rank
from aggregator.store import Store
from tests.conftest import FIXTURES, NOW, PORTLAND, Cli, write_config

C = FIXTURES / "contacts"
EXPORTS = ["identity_linkedin_connections.csv", "identity_google_contacts.csv", "identity_address_book.vcf"]
# Michael Chen as LinkedIn knows him (his profile) and as the group's RSVP list knows him (Mike, his address)
MICHAEL = Person("Michael Chen", url="https://www.linkedin.com/in/michaelchen", status="attended")
MIKE = Person("Mike Chen", email="mike.chen@acme.example", status="attended")
PYTHON = Venue("Puppet HQ", "308 SW 2nd Ave, Portland", lat=45.52, lon=-122.67)


def listing() -> list[Event]:
    """PDX Python every week: the last four nights had him under both names, one night under each."""
    past = [Event(f"py-{days}", f"Python night {days}", NOW - timedelta(days=days), group="PDX Python",
                  venue=PYTHON, attendees=who)
            for days, who in ((3, (MICHAEL, MIKE)), (10, (MICHAEL, MIKE)), (17, (MIKE,)), (24, (MICHAEL,)),
                              (40, (MICHAEL, MIKE)))]
    ahead = [Event("py-next", "Python night: typing", NOW + timedelta(days=4), group="PDX Python", venue=PYTHON),
             Event("later-today", "Rust night", NOW + timedelta(hours=5), group="PDX Rust")]
    return past + ahead


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The world once (the listing stored, the three exports imported through the CLI), copied per test."""
    folder = tmp_path_factory.mktemp("world")
    path = write_config(folder, [{"name": "pdx", "kind": "ics", "url": "https://example.org/a.ics"}])
    store = Store(config.load(path).database)
    store.events.save("pdx", listing(), now=NOW, tz=PORTLAND)
    store.close()
    cli = Cli(path)
    for name in EXPORTS:
        assert cli("contacts", "import", str(C / name)).returncode == 0
    return folder


@pytest.fixture
def cli(template, tmp_path):
    for name in ("config.yaml", "events.db"):
        (tmp_path / name).write_bytes((template / name).read_bytes())
    return Cli(tmp_path / "config.yaml")


def ids_of(cli, name: str) -> list[int]:
    return [c["id"] for c in cli.json("contacts", "list") if c["name"] == name]


def chen_ids(cli) -> tuple[int, int, int]:
    michael, vcard = ids_of(cli, "Michael Chen")
    [mike] = ids_of(cli, "Mike Chen")
    return michael, mike, vcard


def test_import_output_and_contacts_list_with_every_name(template, tmp_path):
    cli = Cli(write_config(tmp_path, []))
    lines = [cli("contacts", "import", str(C / name)).stdout.strip() for name in EXPORTS]
    assert lines[2].endswith("(vcard): 1 added, 2 updated, 0 unchanged; 1 merged into a contact with the "
                             "same address or URL")
    listed = cli.json("contacts", "list")
    assert [c["company"] for c in listed if c["name"] == "Sam Lee"] == ["Acme", "Globex"]  # two people
    liz = next(c for c in listed if c["name"] == "Elizabeth Ward")
    assert liz["names"] == ["Elizabeth Ward", "Liz Ward"]
    assert {"id", "name", "emails", "urls", "last_contacted", "events_matched", "last_seen_at"} <= set(liz)


def test_duplicates_text_and_json(cli):
    michael, mike, vcard = chen_ids(cli)
    offers = cli.json("contacts", "duplicates")
    assert {"ids": [michael, mike], "names": ["Michael Chen", "Mike Chen"],
            "why": "nickname: Michael Chen / Mike Chen, both at Acme"} in offers
    assert all(set(o) == {"ids", "names", "why"} for o in offers)
    assert not [o for o in offers if "Sam Lee" in o["names"]]
    text = cli("contacts", "duplicates")
    assert text.returncode == 0
    assert f"nickname: Michael Chen / Mike Chen, both at Acme; to merge: aggregator contacts merge {michael} {mike}" \
        in text.stdout.splitlines()


def test_merge_makes_one_person_everywhere(cli):
    """The issue's story: Mike Chen logged at last night's meetup, yet reconnect said Michael Chen was
    25 months overdue. After the merge: one contact, one catch-up, each evening counted once."""
    listed = cli.json("contacts", "list")
    michael, vcard = (c["id"] for c in listed if c["name"] == "Michael Chen")
    [mike] = (c["id"] for c in listed if c["name"] == "Mike Chen")
    assert [c["events_matched"] for c in listed if c["id"] in (michael, mike)] == [4, 4]
    [last_night] = [e["id"] for e in cli.json("past", "--days", "5")]
    assert cli("attended", last_night, "--with", "Mike Chen").returncode == 0
    overdue = {e["name"] for e in cli.json("reconnect")}
    assert "Michael Chen" in overdue and "Mike Chen" not in overdue  # two contacts: the bug as filed
    before = cli.json("upcoming")
    seen = {c["name"] for e in before if e["title"] == "Python night: typing" for c in e["contacts"]}
    assert {"Michael Chen", "Mike Chen"} <= seen

    merged = cli("contacts", "merge", str(michael), str(mike), str(vcard))
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.strip() == f"merged into Michael Chen (id {michael}); also known as Mike Chen, Michael J. Chen"
    [chen] = [c for c in cli.json("contacts", "list") if "Chen" in c["name"]]
    assert chen["names"] == ["Michael Chen", "Mike Chen", "Michael J. Chen"]
    assert chen["events_matched"] == 5  # five evenings, the four with both names counted once
    assert chen["last_contacted"] == (NOW - timedelta(days=3)).astimezone(PORTLAND).date().isoformat()
    assert "Michael Chen" not in {e["name"] for e in cli.json("reconnect")}
    after = next(e for e in cli.json("upcoming") if e["title"] == "Python night: typing")
    chens = [c for c in after["contacts"] if "Chen" in c["name"]]
    assert [c["name"] for c in chens] == ["Michael Chen"]  # the ranking's sums were redone for one person
    assert cli("touched", "Mike Chen").stdout.startswith("logged: caught up with Michael Chen")
    assert "(google): 0 added, 0 updated" in cli("contacts", "import", str(C / EXPORTS[1])).stdout  # stays one


def test_merge_and_remove_refuse_unknown_ids(cli):
    michael, mike, _ = chen_ids(cli)
    unknown = cli("contacts", "merge", str(michael), "999")
    assert unknown.returncode == 2 and "no contact with id 999" in unknown.stderr and "Traceback" not in unknown.stderr
    assert cli("contacts", "merge", str(michael), str(mike)).returncode == 0
    again = cli("contacts", "merge", str(mike), str(michael))
    assert again.returncode == 2 and f"was merged into contact {michael}" in again.stderr
    assert cli("contacts", "remove", "999").returncode == 2
    assert cli("contacts", "remove", "abc").returncode == 2


def test_remove_keeps_attendance_anonymous_and_imports_leave_them_out(cli):
    michael, mike, _ = chen_ids(cli)
    removed = cli("contacts", "remove", str(mike))
    assert removed.returncode == 0 and removed.stdout.strip() == \
        f"removed Mike Chen (id {mike}); a later import leaves them out"
    assert mike not in {c["id"] for c in cli.json("contacts", "list")}
    store = Store(cli.config.parent / "events.db")
    rows = store.database.conn.execute("select count(*), count(contact_id) from attendance "
                                       "where lower(email) = 'mike.chen@acme.example'").fetchone()
    store.close()
    assert rows == (4, 0)  # his four RSVPs stay, nobody's
    again = cli("contacts", "import", str(C / "identity_google_contacts.csv"))
    assert "0 added" in again.stdout and "1 left out because you removed them" in again.stdout
    back = cli("contacts", "import", str(C / "identity_google_contacts.csv"), "--include-removed")
    assert "1 added" in back.stdout and ids_of(cli, "Mike Chen")
    dana = ids_of(cli, "Dana Okafor")[0]
    assert cli("contacts", "remove", str(dana)).returncode == 0
    gone = cli("touched", "Dana Okafor")  # says what became of her, not "did you mean" someone else
    assert gone.returncode == 2 and "you removed 'Dana Okafor' from your contacts" in gone.stderr, gone.stderr
    assert "--include-removed" in gone.stderr


def test_past_lists_the_last_days_most_recent_first_in_upcomings_shape(cli):
    items = cli.json("past")
    assert [e["title"] for e in items] == ["Python night 3", "Python night 10", "Python night 17", "Python night 24"]
    upcoming_keys = set(cli.json("upcoming")[0])
    assert all(set(e) == upcoming_keys for e in items)
    assert {c["evidence"] for c in items[0]["contacts"]} == {"rsvp"}
    assert [e["title"] for e in cli.json("past", "--days", "45")][-1] == "Python night 40"
    text = cli("past", "--days", "12")  # piped: one line an event, most recent first
    assert text.returncode == 0 and "Python night 17" not in text.stdout
    assert text.stdout.index("Python night 3") < text.stdout.index("Python night 10")
    agenda = cli("past", "--days", "5", env={"TTY_COMPATIBLE": "1", "COLUMNS": "120"})
    day = (NOW - timedelta(days=3)).astimezone(PORTLAND)
    assert f"{day:%a} {day.day} {day:%b %Y}" in agenda.stdout and items[0]["id"][:10] in agenda.stdout
    (cli.config.parent / "empty").mkdir()
    empty = Cli(write_config(cli.config.parent / "empty", []))
    assert "No events in the last 30 days." in empty("past").stdout


def test_past_on_a_terminal_lists_the_most_recent_day_first(cli):
    """As README and CONTRACT say, and as piped and JSON output already did: the terminal agenda too."""
    shown = cli("past", "--days", "20", env={"TTY_COMPATIBLE": "1", "COLUMNS": "120"}).stdout
    days = [(NOW - timedelta(days=n)).astimezone(PORTLAND) for n in (3, 10, 17)]
    headings = [shown.index(f"{day:%a} {day.day} {day:%b %Y}") for day in days]
    assert headings == sorted(headings), shown
    titles = [shown.index(f"Python night {n}") for n in (3, 10, 17)]
    assert titles == sorted(titles), shown


def test_attended_takes_past_ids_and_refuses_the_future_and_unknown_ids(cli):
    [ten_days_ago] = [e["id"] for e in cli.json("past") if e["title"] == "Python night 10"]
    went = cli("attended", ten_days_ago, "--with", "Sam Lee")
    assert went.returncode == 2 and "'Sam Lee' matches several contacts" in went.stderr  # two Sam Lees, no guess
    went = cli("attended", ten_days_ago, "--with", "Elizabeth Ward", "--with", "Liz Ward")  # one person, twice
    assert went.returncode == 0 and went.stdout.strip() == "logged: you went to Python night 10; met Elizabeth Ward"
    later_today = next(e["id"] for e in cli.json("upcoming") if e["title"] == "Rust night")
    early = cli("attended", later_today)
    assert early.returncode == 2 and "'Rust night' has not started yet" in early.stderr
    assert re.search(r"\(it starts \w{3} [1-9]\d? \w{3} 2026 \d\d:\d\d\)", early.stderr), early.stderr  # "Tue 1 Dec"
    unknown = cli("attended", "ffffffffff")
    assert unknown.returncode == 2 and "aggregator past" in unknown.stderr and "Traceback" not in unknown.stderr
    assert cli("why", ten_days_ago).returncode == 0


def test_touched_refuses_a_future_date(cli):
    tomorrow = (NOW + timedelta(days=1)).astimezone(PORTLAND).date().isoformat()
    future = cli("touched", "Elizabeth Ward", "--on", tomorrow)
    assert future.returncode == 2 and f"{tomorrow} is in the future" in future.stderr
    today = NOW.astimezone(PORTLAND).date().isoformat()
    assert cli("touched", "Liz Ward", "--on", today).stdout.strip() == \
        f"logged: caught up with Elizabeth Ward on {today}"  # a name variant finds her


def test_refresh_is_what_the_cli_runs_after_a_merge(tmp_path):
    """contacts.refresh_social after merge_contacts leaves no attendance row on a retired id."""
    store = Store(tmp_path / "e.db")
    store.events.save("pdx", listing(), now=NOW, tz=PORTLAND)
    for name in EXPORTS:
        contacts.import_file(store, C / name, now=NOW)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    michael, mike = (c.id for c in store.people.contacts() if "Chen" in c.name and c.name != "Michael Chen"
                     or c.name == "Michael Chen" and c.urls)
    contacts.merge_contacts(store, sorted([michael, mike]), now=NOW)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    used = {cid for (cid,) in store.database.conn.execute("select distinct contact_id from attendance")}
    assert max(michael, mike) not in used and min(michael, mike) in used
    store.close()
