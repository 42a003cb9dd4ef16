"""The demo city: written offline, fetched and ranked by the real CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from aggregator.demo import write_demo
from tests.conftest import NOW, Cli


def test_the_demo_fetches_offline_and_lists_events_with_contacts(tmp_path):
    config = write_demo(tmp_path / "demo", now=NOW)
    cli = Cli(config, now=NOW)
    fetched = cli("fetch", "--json")
    assert fetched.returncode == 0, fetched.stderr
    report = json.loads(fetched.stdout)
    assert len(report["sources"]) >= 3 and all(s["ok"] and s["events"] for s in report["sources"]), report
    events = cli.json("upcoming", "--limit", "0", "--days", "60")
    assert len(events) >= 5
    assert all(datetime.fromisoformat(e["start"]) > NOW for e in events)
    with_contacts = [e for e in events if e["contacts"]]
    assert with_contacts, "no upcoming event names a contact: attendance history did not reach the ranking"
    names = {c["name"] for e in with_contacts for c in e["contacts"]}
    assert "José Núñez" in names  # listed as "Jose Nunez" in the calendars: a name variant matched
    assert any(c["evidence"] == "predicted" for e in with_contacts for c in e["contacts"])


def test_the_demo_is_deterministic_and_never_stale(tmp_path):
    first = write_demo(tmp_path / "a", now=NOW).parent
    again = write_demo(tmp_path / "b", now=NOW).parent
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files and all((first / f).read_bytes() == (again / f).read_bytes() for f in files)
    later = NOW + timedelta(days=400)
    moved = write_demo(tmp_path / "c", now=later).parent
    calendar = (moved / "calendars" / "pdx-python.ics").read_text(encoding="utf-8")
    starts = [datetime.strptime(line[8:], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
              for line in calendar.splitlines() if line.startswith("DTSTART:")]
    assert any(s < later for s in starts) and any(later < s < later + timedelta(days=30) for s in starts)


def test_the_demo_command_writes_fetches_and_says_what_to_try(tmp_path):
    """CONTRACT.md: `aggregator demo [DIR]`, then `--config DIR/config.yaml upcoming --json` lists ≥ 5 events."""
    cli = Cli(None, now=NOW, cwd=tmp_path)
    result = cli("demo", "city")
    assert result.returncode == 0, result.stderr
    config = tmp_path / "city" / "config.yaml"
    assert config.exists() and f"--config {Path('city') / 'config.yaml'} upcoming" in result.stdout
    events = Cli(config, now=NOW).json("upcoming")
    assert len(events) >= 5 and any(e["contacts"] for e in events)


def test_the_demo_command_defaults_to_a_folder_in_the_current_directory(tmp_path):
    result = Cli(None, now=NOW, cwd=tmp_path)("demo")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "aggregator-demo" / "config.yaml").exists()


def test_the_demo_offers_its_config_as_an_environment_variable_that_works(tmp_path):
    """Issue 21: the closing message offers `export AGGREGATOR_CONFIG=...`, quoted for the shell."""
    import shlex

    result = Cli(None, now=NOW, cwd=tmp_path)("demo", "my city")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "export AGGREGATOR_CONFIG=" in line)
    name, value = shlex.split(line.split("export ", 1)[1])[0].split("=", 1)
    assert Path(value) == (tmp_path / "my city" / "config.yaml").resolve()
    events = Cli(None, now=NOW, cwd=tmp_path)("upcoming", "--json", env={name: value})
    assert events.returncode == 0 and len(json.loads(events.stdout)) >= 5


def test_reconnect_on_a_terminal_lines_up_its_columns_and_says_evidence_in_words(tmp_path):
    import re

    config = write_demo(tmp_path / "demo", now=NOW)
    cli = Cli(config, now=NOW)
    assert cli("fetch").returncode == 0
    shown = cli("reconnect", env={"TTY_COMPATIBLE": "1", "COLUMNS": "120"}).stdout
    rows = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in shown.splitlines() if line.startswith("    ")]
    assert len(rows) >= 10
    ids = {re.search(r"[0-9a-f]{10}$", row).start() for row in rows}
    evidence = {re.search(r"RSVPed|usually|often|sometimes|might", row).start() for row in rows}
    assert len(ids) == 1 and len(evidence) == 1, rows  # one column each, whatever the words' length
    assert any("RSVPed" in row for row in rows) and not any("100%" in row for row in rows)
