"""The real CLI against local HTTP servers and a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from tests.conftest import Cli, fixture_bytes, write_config
from tests.localserver import refused_url

FEED = fixture_bytes("ics/meetup_group_feed.ics")
CONTRACT_KEYS = {"id", "title", "start", "end", "all_day", "timezone", "url", "location", "online",
                 "group", "sources", "status", "score", "reasons", "contacts"}


def good_setup(tmp_path, server, extra_sources=()):
    url = server.add("/pdx-python.ics", FEED, headers={"Content-Type": "text/calendar; charset=utf-8"})
    sources = [{"name": "pdx-python", "kind": "ics", "url": url, "group": "PDX Python"}, *extra_sources]
    return Cli(write_config(tmp_path, sources))


def test_fetch_then_upcoming_json_has_the_contract_shape(tmp_path, server):
    cli = good_setup(tmp_path, server)
    result = cli("fetch")
    assert result.returncode == 0, result.stderr
    assert "pdx-python" in result.stdout and "2 events (2 new" in result.stdout
    events = cli.json("upcoming", "--limit", "0", "--days", "60")
    assert {e["title"] for e in events} == {"Typing in practice", "Project night"}
    first = next(e for e in events if e["title"] == "Typing in practice")
    assert CONTRACT_KEYS <= set(first)
    assert first["start"] == "2026-12-03T18:30:00-08:00"
    assert first["end"] == "2026-12-03T20:30:00-08:00"
    assert first["all_day"] is False
    assert first["timezone"] == "America/Los_Angeles"
    assert first["group"] == "PDX Python"
    assert first["sources"] == ["pdx-python"]
    assert first["status"] == "confirmed"
    assert first["reasons"] == ["topic: python"]  # "PDX Python" matches the profile's python topic
    assert first["location"] == "Puppet Labs (308 SW 2nd Ave, Portland, OR)"
    assert isinstance(first["score"], float) and first["score"] > 0
    assert first["contacts"] == []
    assert (tmp_path / "events.db").exists()


def test_second_fetch_creates_no_duplicates_and_keeps_ids(tmp_path, server):
    cli = good_setup(tmp_path, server)
    assert cli("fetch").returncode == 0
    ids_before = [e["id"] for e in cli.json("upcoming", "--limit", "0", "--days", "60")]
    second = cli("fetch", "--json")
    report = json.loads(second.stdout)
    assert report["sources"][0]["new"] == 0 and report["sources"][0]["unchanged"] == 2
    assert report["sources"][0]["removed"] == 0
    ids_after = [e["id"] for e in cli.json("upcoming", "--limit", "0", "--days", "60")]
    assert ids_before == ids_after
    with sqlite3.connect(tmp_path / "events.db") as db:
        assert db.execute("select count(*) from events").fetchone()[0] == 2
        assert db.execute("select count(*) from fetch_runs where finished is not null").fetchone()[0] == 2


def test_failures_are_isolated_named_and_exit_1(tmp_path, server):
    broken = [
        {"name": "server-error", "kind": "ics", "url": server.add("/500.ics", b"oops", 500)},
        {"name": "refused", "kind": "ics", "url": refused_url()},
        {"name": "html-page", "kind": "ics", "url": server.add("/page", fixture_bytes("not_a_calendar.html"),
                                                              headers={"Content-Type": "text/html"})},
        {"name": "truncated", "kind": "ics", "url": server.add("/cut.ics", fixture_bytes("ics/truncated_feed.ics"))},
    ]
    cli = good_setup(tmp_path, server, broken)
    result = cli("fetch")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failed = {line.split()[1]: line for line in lines if line.startswith("FAILED")}
    assert set(failed) == {"server-error", "refused", "html-page", "truncated"}
    assert "HTTP 500" in failed["server-error"]
    assert "connection refused" in failed["refused"]
    assert "HTML page" in failed["html-page"]
    assert "truncated" in failed["truncated"]
    assert any(line.startswith("ok") and "pdx-python" in line for line in lines)
    assert "Traceback" not in result.stderr
    assert len(cli.json("upcoming", "--days", "60")) == 2

    health = {h["name"]: h for h in cli.json("sources")}
    assert health["pdx-python"]["last_error"] is None and health["pdx-python"]["events"] == 2
    assert "HTTP 500" in health["server-error"]["last_error"]
    assert health["refused"]["last_ok_at"] is None


def test_a_later_failure_keeps_the_stored_events(tmp_path, server):
    cli = good_setup(tmp_path, server)
    assert cli("fetch").returncode == 0
    server.add("/pdx-python.ics", b"<html>maintenance</html>", 503)
    result = cli("fetch")
    assert result.returncode == 1 and "HTTP 503" in result.stdout
    assert {e["title"] for e in cli.json("upcoming", "--days", "60")} == {"Typing in practice", "Project night"}
    [health] = cli.json("sources")
    assert health["last_ok_at"] is not None and "503" in health["last_error"]
    assert health["events"] == 2


def test_a_killed_fetch_leaves_a_sound_database(tmp_path, server):
    cli = good_setup(tmp_path, server)
    assert cli("fetch").returncode == 0
    slow = server.add("/slow.ics", FEED, delay=30)
    config = write_config(tmp_path, [
        {"name": "pdx-python", "kind": "ics", "url": server.url("/pdx-python.ics")},
        {"name": "slow", "kind": "ics", "url": slow},
    ], fetch={"timeout": 60, "deadline": 60})
    env = {**os.environ, "AGGREGATOR_NOW": cli.now.isoformat()}
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(config), "fetch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 20
    while not server.hits_for("/slow.ics") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with sqlite3.connect(tmp_path / "events.db") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert db.execute("select count(*) from events").fetchone()[0] == 2
    # the lock died with the process: the next run goes ahead
    server.add("/slow.ics", FEED)
    assert Cli(config)("fetch").returncode == 0


def test_only_named_sources_are_fetched(tmp_path, server):
    other = server.add("/other.ics", FEED)
    cli = good_setup(tmp_path, server, [{"name": "other", "kind": "ics", "url": other}])
    result = cli("fetch", "--source", "other")
    assert result.returncode == 0
    assert server.hits_for("/pdx-python.ics") == []
    unknown = cli("fetch", "--source", "nope")
    assert unknown.returncode == 2 and "no source named 'nope'" in unknown.stderr  # bad usage per CONTRACT.md


def test_sources_json_lists_every_source_before_any_fetch(tmp_path, server):
    cli = good_setup(tmp_path, server)
    [health] = cli.json("sources")
    assert health == {"name": "pdx-python", "kind": "ics", "url": server.url("/pdx-python.ics"),
                      "last_run_at": None, "last_ok_at": None, "last_error": None,
                      "consecutive_failures": 0, "events": 0, "upcoming": 0, "last_new_at": None,
                      "stale": False, "warning": None, "ok": False}  # "ok" added (issue 12): never fetched


def test_upcoming_options_days_limit_topic_sort(tmp_path, server):
    rust = server.add("/rust.ics", fixture_bytes("ics/recurring_weekly_with_exceptions.ics"))
    cli = good_setup(tmp_path, server, [{"name": "pdx-rust", "kind": "ics", "url": rust}])
    assert cli("fetch").returncode == 0
    everything = cli.json("upcoming", "--limit", "0", "--days", "60")
    # python (weight 3) in a title outweighs rust (weight 1); python only in the group's name ("Project
    # night" of PDX Python) counts a third of its weight (issue 18), no more than rust in a title
    assert everything[0]["title"] == "Typing in practice"
    assert all("Rust" in e["title"] for e in everything[1:] if e["title"] != "Project night")
    assert all(e["status"] != "cancelled" for e in everything)
    with_cancelled = cli.json("upcoming", "--limit", "0", "--days", "60", "--include-cancelled")
    assert len(with_cancelled) == len(everything) + 1
    by_start = cli.json("upcoming", "--limit", "0", "--days", "60", "--sort", "start")
    assert [e["start"] for e in by_start] == sorted(e["start"] for e in by_start)
    assert len(cli.json("upcoming", "--limit", "2", "--days", "60")) == 2
    week = cli.json("upcoming", "--days", "7", "--limit", "0")
    assert {e["title"] for e in week} == {"Typing in practice", "Rust hack night"}
    rust_only = cli.json("upcoming", "--topic", "rust", "--limit", "0", "--days", "60")
    assert rust_only and all("Rust" in e["title"] or e["group"] == "PDX Rust" for e in rust_only)


def test_upcoming_text_output_and_empty_hint(tmp_path, server):
    cli = good_setup(tmp_path, server)
    empty = cli("upcoming")
    assert empty.returncode == 0 and "Run `aggregator fetch` first" in empty.stdout
    cli("fetch")
    text = cli("upcoming", "--days", "60")
    assert "Thu 2026-12-03 18:30  Typing in practice [PDX Python]" in text.stdout
    assert "topic: python" in text.stdout


def test_no_network_names_each_unreachable_source_in_one_line(tmp_path):
    sources = [{"name": f"site{i}", "kind": "ics", "url": refused_url()} for i in range(3)]
    result = Cli(write_config(tmp_path, sources))("fetch")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 3 and all("connection refused" in line for line in failed)
    assert "Traceback" not in result.stderr


def test_a_second_fetch_while_one_runs_says_so_and_exits_1(tmp_path, server):
    release = threading.Event()  # the feed answers only once the second fetch has been refused
    slow = server.add("/slow.ics", lambda headers: release.wait(30) and FEED)
    config = write_config(tmp_path, [{"name": "slow", "kind": "ics", "url": slow}])
    env = {**os.environ, "AGGREGATOR_NOW": "2026-12-01T12:00:00+00:00"}
    first = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(config), "fetch"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 20
    while not server.hits_for("/slow.ics") and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        second = Cli(config)("fetch")
    finally:
        release.set()
    assert second.returncode == 1
    assert "another fetch is running" in second.stderr
    assert first.wait(30) == 0


def test_sources_on_one_host_take_turns_while_hosts_overlap(tmp_path, server):
    names = []
    for i in range(3):
        server.add(f"/a{i}.ics", FEED.replace(b"event_3000", f"a{i}_3000".encode()), delay=0.3)
        names.append({"name": f"a{i}", "kind": "ics", "url": server.url(f"/a{i}.ics")})
    for i in range(2):
        server.add(f"/b{i}.ics", FEED.replace(b"event_3000", f"b{i}_3000".encode()), delay=0.3)
        names.append({"name": f"b{i}", "kind": "ics", "url": f"http://localhost:{server.port}/b{i}.ics"})
    cli = Cli(write_config(tmp_path, names, fetch={"concurrency": 4}))
    assert cli("fetch").returncode == 0
    feeds = [h for h in server.hits if h.path.endswith(".ics")]
    one_host = sorted((h for h in feeds if h.headers["host"].startswith("127.0.0.1")), key=lambda h: h.started)
    assert len(one_host) == 3
    assert all(b.started >= a.finished for a, b in zip(one_host, one_host[1:], strict=False))
    assert server.max_in_flight >= 2  # the other host was fetched meanwhile


def test_an_unchanged_second_run_is_answered_by_304s(tmp_path, server):
    url = server.add("/pdx-python.ics", FEED, headers={"ETag": '"feed-v1"', "Content-Type": "text/calendar"})
    cli = Cli(write_config(tmp_path, [{"name": "pdx-python", "kind": "ics", "url": url}]))
    assert cli("fetch").returncode == 0
    second = cli("fetch", "--json")
    assert json.loads(second.stdout)["sources"][0]["unchanged"] == 2
    assert [h.status for h in server.hits_for("/pdx-python.ics")] == [200, 304]


def test_a_missing_contacts_file_is_named_the_sources_fetched_and_the_exit_is_1(tmp_path, server):
    """Issue 11 #4: contacts problems never stop the fetch, but the run does not pass as clean."""
    url = server.add("/pdx-python.ics", FEED)
    config = write_config(tmp_path, [{"name": "pdx-python", "kind": "ics", "url": url}],
                          profile={"topics": {"python": 1}, "contacts": ["gone.csv"]})
    result = Cli(config)("fetch")
    assert result.returncode == 1
    assert "gone.csv" in result.stderr and "not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert "2 events (2 new" in result.stdout


def test_fetch_json_says_why_a_run_with_every_source_ok_exits_1(tmp_path, server):
    """A broken contacts file fails the run (exit 1) though every source is fine: a script reading
    `fetch --json` learns why from `problems`; imports it did make are `notes`."""
    url = server.add("/pdx-python.ics", FEED, headers={"Content-Type": "text/calendar; charset=utf-8"})
    (tmp_path / "good.csv").write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                                       "Dana,Lee,https://www.linkedin.com/in/dana,,,,01 Jan 2026\n", encoding="utf-8")
    cli = Cli(write_config(tmp_path, [{"name": "pdx-python", "kind": "ics", "url": url}],
                           profile={"contacts": ["good.csv", "missing.csv"]}))
    result = cli("fetch", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [s["ok"] for s in report["sources"]] == [True]
    assert len(report["problems"]) == 1 and "missing.csv" in report["problems"][0]
    assert any("good.csv" in note for note in report["notes"])
    assert set(report["problems"]) <= set(report["notes"])


def test_a_body_rejected_as_html_says_only_that(tmp_path, server):
    """The ics repair pass would drop each of the page's lines as a stray one: when the body is no
    feed at all, those warnings are noise, and the one line that says what came back is all."""
    page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body>\n" + b"".join(
        b"<p>line %d of a login page</p>\n" % i for i in range(200)) + b"</body></html>\n"
    url = server.add("/login", page, headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [{"name": "html-page", "kind": "ics", "url": url}]))
    result = cli("fetch")
    assert result.returncode == 1
    assert "not an iCalendar feed: got an HTML page" in result.stdout
    said = result.stdout + result.stderr
    assert "stray" not in said and "more" not in said, said
    report = json.loads(cli("fetch", "--json").stdout)
    assert report["sources"][0]["warnings"] == 0, report
