"""The daily commands through the real CLI, on a terminal (TTY_COMPATIBLE, COLUMNS) and piped:
issue 14's agenda and sources views, issue 12's reconnect paths, exit 2 for unknown names,
and outside text made safe before it reaches the terminal (issue 11 #7)."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from aggregator import agenda
from aggregator.ranking import listing
from aggregator.ranking import score as rank
from aggregator.store import Store
from tests.agenda_world import build
from tests.conftest import NOW, Cli, write_config

ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|9[0-7])m")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("views")
    path, settings, store = build(folder)
    store.close()
    return Cli(path), settings


def terminal(width: int, **extra) -> dict:
    return {"TTY_COMPATIBLE": "1", "COLUMNS": str(width), **extra}


@pytest.mark.parametrize("width", [60, 100, 200])
def test_upcoming_on_a_terminal_is_an_agenda_fitted_to_the_width(world, width):
    cli, _ = world
    listed = cli.json("upcoming")
    result = cli("upcoming", env=terminal(width))
    assert result.returncode == 0, result.stderr
    lines = ANSI.sub("", result.stdout).splitlines()
    assert len(lines) <= 2 * len(listed) + 11  # 6 events on 5 days: was ~70 lines of table at 100 columns
    assert max(cell_len(line) for line in lines) <= width
    # what it lists and whose clock, said under it (the page says its 60 days; this said nothing)
    assert " ".join(lines[-2:]).strip() == f"{len(listed)} events in the next 30 days; times in Los Angeles time."
    for event in listed:
        assert agenda.short_id(event["id"]) in result.stdout
    assert COLOUR.search(result.stdout)


def test_no_colour_and_pipes(world):
    cli, _ = world
    no_colour = cli("upcoming", env=terminal(100, NO_COLOR="1"))
    assert no_colour.returncode == 0 and "★" in no_colour.stdout and not COLOUR.search(no_colour.stdout)
    piped = cli("upcoming")
    assert "\x1b" not in piped.stdout
    assert len(piped.stdout.splitlines()) == len(cli.json("upcoming"))  # one line an event, kept for grep


def test_upcoming_json_is_the_ranker_output_byte_for_byte(world):
    cli, settings = world
    store = Store(settings.database)
    try:
        expected = rank.dumps(listing.upcoming(store, settings, now=NOW, days=30, limit=20), settings.timezone)
    finally:
        store.close()
    assert cli("upcoming", "--json").stdout == expected + "\n"


def test_sources_at_60_columns_never_truncate_the_name(world):
    cli, settings = world
    name = settings.sources[0].name
    result = cli("sources", env=terminal(60))
    lines = ANSI.sub("", result.stdout).splitlines()
    assert result.returncode == 0 and lines[0].startswith(name) and len(name) > 30
    assert max(cell_len(line) for line in lines) <= 60
    assert name in cli("sources").stdout


def test_hostile_texts_from_servers_never_reach_the_terminal(world, tmp_path):
    cli, settings = world
    store = Store(settings.database)
    try:
        store.runs.record_source(name=settings.sources[0].name, kind="ics", url="https://x.org", now=NOW,
                            error="HTTP 500 \x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x9b31m")
    finally:
        store.close()
    hostile = [e for e in cli.json("upcoming") if "reloaded" in e["title"]][0]
    outputs = [cli("upcoming").stdout, cli("upcoming", env=terminal(100)).stdout, cli("sources").stdout,
               cli("sources", env=terminal(60)).stdout, cli("why", hostile["id"]).stdout]
    for text in outputs:
        assert "\x1b[2J" not in text and "\x1b]8" not in text and "\x07" not in text and "\x9b" not in text
    assert "Rust night reloaded" in outputs[0] and "FAILED" in outputs[2] and "HTTP 500" in outputs[2]


def test_reconnect_with_contacts_never_logged_does_not_crash(tmp_path):
    """Issue 12: a Google or vCard import leaves last_contacted empty; reconnect raised TypeError."""
    path, _, store = build(tmp_path)
    store.close()
    cli = Cli(path)
    google = tmp_path / "google.csv"
    google.write_text("First Name,Last Name,E-mail 1 - Value\nKim,Nakamura,kim@example.org\n", encoding="utf-8")
    assert cli("contacts", "import", str(google)).returncode == 0
    text = cli("reconnect")
    assert text.returncode == 0, text.stderr
    assert "Kim Nakamura: never logged" in text.stdout
    on_terminal = cli("reconnect", env=terminal(60))
    assert on_terminal.returncode == 0 and "never logged" in on_terminal.stdout
    assert "RSVPed" in on_terminal.stdout and not re.search(r"\d%  ", ANSI.sub("", on_terminal.stdout))  # no bare 100%
    assert max(cell_len(line) for line in ANSI.sub("", on_terminal.stdout).splitlines()) <= 60
    kim = [e for e in cli.json("reconnect") if e["name"] == "Kim Nakamura"][0]
    assert kim["days_since"] is None


@pytest.fixture(scope="module")
def demo_city(tmp_path_factory) -> Cli:
    """The demo city, fetched; tests here only read it."""
    from aggregator.demo import write_demo

    cli = Cli(write_demo(tmp_path_factory.mktemp("demo") / "demo", now=NOW))
    assert cli("fetch").returncode == 0
    return cli


def test_reconnect_on_a_terminal_keeps_its_columns_apart(demo_city):
    """The longest title ran into the evidence ("Packaging without tears often comes, 48%"), a day read
    "Wed 09 Dec" where the agenda and the digest say "Wed 9 Dec"."""
    shown = demo_city("reconnect", env=terminal(100))
    rows = [line for line in ANSI.sub("", shown.stdout).splitlines() if line.startswith("    ")]
    assert rows
    for row in rows:  # date, title, evidence, id: each pair of columns two spaces apart at least
        assert len(re.split(r"\s{2,}", row.strip())) == 4, row
        assert not re.match(r"\s+\w{3} 0\d ", row), row


def test_reconnect_and_digest_say_likely_only_where_the_chance_says_so(demo_city):
    """"likely at Service design 101 (sometimes comes, 23%)" said two things at once."""
    lines = demo_city("reconnect").stdout.splitlines() + demo_city("digest", "--days", "30").stdout.splitlines()
    assert not [line for line in lines if "likely at" in line and "sometimes comes" in line]
    assert [line for line in lines if "maybe at" in line and "(sometimes comes, " in line]
    assert [line for line in lines if "likely at" in line and "(RSVPed)" in line]


def test_contacts_are_seen_at_past_events_only(demo_city):
    """An RSVP to next week's meetup is not a time you saw them: `contacts list` counted it, and its
    last_seen_at was a date still ahead."""
    listed = demo_city.json("contacts", "list")
    past = demo_city.json("past", "--days", "365")
    seen = {c["name"]: sum(c["name"] in {p["name"] for p in e["contacts"] if p["evidence"] == "rsvp"} for e in past)
            for c in listed}
    assert all(c["last_seen_at"] is None or c["last_seen_at"] < NOW.isoformat() for c in listed), listed
    samuel = next(c for c in listed if c["name"] == "Samuel Ortiz")
    assert samuel["events_matched"] == seen["Samuel Ortiz"] > 0


def test_why_names_the_contacts_upcoming_lists_and_counts_the_rest_in_one_line(demo_city):
    """`why` named every contact with any evidence, down to 0%; the text view names those at 5% or more
    (as `upcoming` does) and says how many more were counted; --json keeps every one, as its sum needs."""
    event = next(e for e in demo_city.json("upcoming")
                 if any(c["probability"] < 0.05 for c in demo_city.json("why", e["id"])["social_part"]["contacts"]))
    counted = demo_city.json("why", event["id"])["social_part"]["contacts"]
    likely = [c for c in counted if c["probability"] >= 0.05]
    below = [c for c in counted if c["probability"] < 0.05]
    shown = demo_city("why", event["id"]).stdout
    named = [line for line in shown.splitlines() if re.match(r"\s{6}\S.*: \d+% \(", line)]
    assert len(named) == len(likely) and not re.search(r": [0-4]% \(", shown), shown
    assert all(c["name"] in shown for c in likely) and not any(f"{c['name']}:" in shown for c in below)
    total = sum(c["contribution"] for c in below)
    assert f"and {len(below)} more contact{'s' if len(below) > 1 else ''} counted below 5%, together +{total:.4g}" \
        in shown, shown


def test_reconnect_days_is_the_window_asked_for(tmp_path):
    """Issue 12: the loop over contacts overwrote --days with the last contact's days since a catch-up
    (30 here), so `--days 5` still showed Sam's RSVP nine days out."""
    path, _, store = build(tmp_path)
    store.close()
    cli = Cli(path)
    soon = {e["title"] for e in cli.json("reconnect", "--days", "5")[0]["events"]}
    later = {e["title"] for e in cli.json("reconnect", "--days", "30")[0]["events"]}
    assert "PyCascades 2027" not in soon and "Rust night" in soon
    assert "PyCascades 2027" in later


def test_unknown_names_are_bad_usage(world):
    cli, settings = world
    event_id = cli.json("upcoming")[0]["id"]
    cases = [
        (("why", "zzzzzz"), "no event with id 'zzzzzz'"),
        (("why", "zzzzzz"), "and by `aggregator past`"),  # `why` explains a past event too
        (("attended", "zzzzzz"), "no event with id 'zzzzzz'"),
        (("attended", event_id, "--with", "Dana Leigh"), "did you mean Dana Lee"),
        (("touched", "Sam Ortis"), "did you mean Sam Ortiz"),
        (("touched", "Rvi"), "did you mean Ravi Patel?"),  # a typed word is likened to each part of a name
        (("touched", "Liz"), "no contact named 'Liz'; `aggregator contacts list` shows them"),  # not "Sam Ortiz"
        (("fetch", "--source", "pdx-python-meetup-group-calender"),
         f"did you mean '{settings.sources[0].name}'"),
    ]
    for args, words in cases:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr


def test_logging_and_listing_contacts(tmp_path):
    path, _, store = build(tmp_path)
    store.close()
    cli = Cli(path)
    event = cli.json("past")[0]  # an upcoming one is refused since issue 18
    went = cli("attended", event["id"][:10], "--with", "Dana Lee")
    assert went.returncode == 0 and "met Dana Lee" in went.stdout
    touched = cli("touched", "Samuel", "--on", "2026-11-30")  # the one Sam, by the long form of his name
    assert touched.returncode == 0 and "caught up with Sam Ortiz on 2026-11-30" in touched.stdout, touched.stderr
    listed = cli("contacts", "list")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 3
    assert "last catch-up 2026-11-30" in listed.stdout
    new = tmp_path / "Connections.csv"
    new.write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                   "Nia,Brown,https://www.linkedin.com/in/nia-brown,,Acme,Engineer,01 Jan 2026\n")
    assert cli("contacts", "import", str(new)).returncode == 0
    assert cli("attended", event["id"][:10], "--with", "Nia Brown").returncode == 0
    nia = [line for line in cli("contacts", "list").stdout.splitlines() if "Nia Brown" in line]
    assert nia and "seen at 1 event;" in nia[0], nia  # not "1 events"
    nobody = cli("reconnect").stdout.strip()
    assert nobody.startswith("Nobody is overdue for a catch-up (after 182 days")
    assert "`aggregator touched NAME`" in nobody


def test_log_commands_help_says_which_ids_and_dates(tmp_path):
    cli = Cli(None)
    assert "--on YYYY-MM-DD" in cli("touched", "--help").stdout  # not click's "[%Y-%m-%d]"
    attended = cli("attended", "--help").stdout
    assert "`upcoming` or `past`" in attended and "aggregator past --days 2" in attended


def test_fetch_with_no_sources_says_where_to_add_them(tmp_path):
    path = write_config(tmp_path, [])
    fetched = Cli(path)("fetch")
    assert fetched.returncode == 0
    assert f"No sources configured yet: add some to {path}, then run `aggregator fetch`." in fetched.stdout


def test_empty_paths_say_what_to_do(tmp_path):
    cli = Cli(write_config(tmp_path, [{"name": "a", "kind": "ics", "url": "https://example.org/a.ics"}]))
    nothing = cli("upcoming", env=terminal(60))
    assert nothing.returncode == 0
    assert nothing.stdout.strip() == "No upcoming events in the next 30 days. Run `aggregator fetch` first."
    assert cli("contacts", "list").stdout.strip() == "No contacts yet: aggregator contacts import PATH"
    assert cli("contacts", "duplicates").stdout.strip() == "No contacts yet: aggregator contacts import PATH"
    assert cli("upcoming", "--days", "1").stdout.startswith("No upcoming events in the next day.")  # not "1 days"
    assert cli("past", "--days", "1").stdout.startswith("No events in the last day.")
    assert cli("reconnect").stdout.startswith("No contacts yet: import them with `aggregator contacts import PATH`")
    never = cli("sources", env=terminal(60))
    assert never.returncode == 0 and "never fetched" in never.stdout
    assert "Not fetched yet: run `aggregator fetch` to fetch it." in never.stdout
    (tmp_path / "bare").mkdir()
    bare = Cli(write_config(tmp_path / "bare", []))("sources")
    assert bare.returncode == 0
    assert bare.stdout.strip() == (f"No sources configured yet: add some to {tmp_path / 'bare' / 'config.yaml'}, "
                                   "then run `aggregator fetch`.")


def test_sources_times_are_in_the_users_zone_and_say_so(tmp_path):
    path, settings, store = build(tmp_path)
    try:
        store.runs.record_source(name=settings.sources[0].name, kind="ics", url="https://x.org", now=NOW, error=None)
    finally:
        store.close()
    cli = Cli(path)
    assert cli.json("sources")[0]["last_ok_at"].startswith("2026-12-01T12:00")  # JSON keeps UTC
    for env in ({}, terminal(100)):
        shown = ANSI.sub("", cli("sources", env=env).stdout)
        assert "last ok 2026-12-01 04:00 PST" in shown, shown  # NOW in Portland, zone named


def test_why_takes_any_unique_prefix_and_names_the_candidates_of_a_shared_one(world):
    cli, settings = world
    store = Store(settings.database)
    try:
        ids = sorted(e.id for e in store.events.between(start=NOW.replace(year=2000), end=NOW.replace(year=2100)))
    finally:
        store.close()
    unique = next(i[:n] for n in (1, 2, 3) for i in ids if sum(j.startswith(i[:n]) for j in ids) == 1)
    assert len(unique) <= 3  # "why b15" was refused: four characters were the least
    found = cli("why", unique)
    assert found.returncode == 0, found.stderr
    assert next(i for i in ids if i.startswith(unique)) in found.stdout
    shared = next(i[:1] for i in ids if sum(j.startswith(i[:1]) for j in ids) > 1)
    refused = cli("why", shared)
    assert refused.returncode == 2 and "matches several events: " in refused.stderr
    candidates = [i for i in ids if i.startswith(shared)]
    assert all(i[:10] in refused.stderr for i in candidates[:5]) and "Traceback" not in refused.stderr


def test_a_city_for_a_time_zone_suggests_its_zone(tmp_path):
    for typed, meant in (("America/Portland", "America/Los_Angeles"), ("Europe/Munich", "Europe/Berlin"),
                         ("america/new york", "America/New_York"), ("Europe/Berln", "Europe/Berlin")):
        path = write_config(tmp_path, [], timezone=typed)
        result = Cli(path)("upcoming")
        assert result.returncode == 2 and f"did you mean '{meant}'?" in result.stderr, (typed, result.stderr)


def test_a_fetch_that_reaches_no_source_points_to_the_offline_demo(tmp_path):
    from tests.localserver import refused_url

    one = Cli(write_config(tmp_path, [{"name": "gone", "kind": "ics", "url": refused_url()}]))("fetch")
    assert one.returncode == 1
    assert "1 source: 0 ok, 1 failed" in one.stdout  # "1 sources" before
    assert "`aggregator demo`" in one.stderr and "offline" in one.stderr


def test_a_fetch_with_reachable_sources_does_not_suggest_the_demo(tmp_path, server):
    from tests.localserver import refused_url

    up = server.add("/a.ics", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n",
                    headers={"Content-Type": "text/calendar"})
    sources = [{"name": "up", "kind": "ics", "url": up},
               {"name": "down", "kind": "ics", "url": refused_url()}]
    result = Cli(write_config(tmp_path, sources))("fetch")
    assert "2 sources: 1 ok, 1 failed" in result.stdout and "aggregator demo" not in result.stderr


def test_why_of_a_dropped_event_and_topic_filter(world):
    cli, settings = world
    store = Store(settings.database)
    try:
        from aggregator.model import Event

        store.events.save(settings.sources[0].name, [Event("crypto", "Crypto night", NOW.replace(day=5))],
                          now=NOW, tz=settings.timezone)
        crypto = next(e.id for e in store.events.between(start=NOW, end=NOW.replace(day=6)) if e.title == "Crypto night")
    finally:
        store.close()
    dropped = cli("why", crypto[:10])
    assert dropped.returncode == 0 and "dropped: it matches an excluded topic" in dropped.stdout
    rust = cli("upcoming", "--topic", "rust", env=terminal(80))
    assert "Rust night" in rust.stdout and "Typing in practice" not in rust.stdout
    none = cli("upcoming", "--topic", "cobol")
    assert none.stdout.strip() == "No upcoming events in the next 30 days about cobol."
