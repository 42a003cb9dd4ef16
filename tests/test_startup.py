"""Every command pays only for what it uses (issue 19): loading the CLI to print `--help` or to parse a
command's flags imports no parser, no HTTP, no store and no ranking; each command imports those in its
body. A query (`upcoming`, and the other read views) loads the config, the store and the ranking, nothing
of the fetch, and with --json not the terminal's rich either. Asserted on the modules a fresh interpreter
has loaded, not on timings (bench/query.py prints `upcoming` and `--help` against a bare `python -c pass`)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("bs4", "ftfy", "lxml", "icalendar", "recurring_ical_events", "requests", "rapidfuzz", "yaml",
         "sqlite_utils", "extruct", "feedparser", "apscheduler", "rich.progress", "aggregator.ranking",
         "aggregator.store", "aggregator.config", "aggregator.agenda", "aggregator.pipeline", "sources")


def loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_loading_the_cli_imports_nothing_heavy():
    loaded = loaded_after("import aggregator.cli")
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_help_of_every_command_imports_nothing_heavy():
    code = ("from click.testing import CliRunner\nfrom aggregator.cli import main\n"
            "for args in (['--help'], ['upcoming', '--help'], ['contacts', 'merge', '--help'], ['digest', '--help'],"
            " ['restore', '--help'], ['fetch', '--help']):\n"
            "    result = CliRunner().invoke(main, args)\n"
            "    assert result.exit_code == 0, (args, result.output)")
    loaded = loaded_after(code)
    assert sorted(m for m in HEAVY if m in loaded) == []


# What `upcoming` reads is SQLite and the config: no parser, no HTTP, no fetch-time matching (calendars,
# dedup, rapidfuzz), no scheduler (a plain schedule.cron is checked without it), no source plugin.
NOT_FOR_UPCOMING = ("bs4", "ftfy", "lxml", "icalendar", "recurring_ical_events", "requests", "rapidfuzz",
                    "extruct", "feedparser", "sqlite_utils", "apscheduler", "asyncio", "tzlocal", "urllib.request",
                    "http.client", "ssl", "aggregator.calendars", "aggregator.dedup", "aggregator.pipeline",
                    "aggregator.http", "aggregator.personal", "aggregator.contacts", "sources")
TERMINAL = ("rich.console", "aggregator.agenda")  # the terminal's: --json prints without them


def commands_load(tmp_path, *commands: list[str]) -> tuple[set[str], list[str]]:
    """The modules one fresh interpreter holds after running `commands` in turn over a small real store
    (tests/agenda_world: contacts, attendance history, a home, an ics source, and a schedule of plain
    numbers), and each command's output. `ID` in a command is the first event `upcoming --json` lists."""
    import yaml

    from tests.agenda_world import build
    from tests.conftest import NOW

    path, _, store = build(tmp_path)
    store.close()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, "schedule": {"cron": "30 5 * * 1"}}), encoding="utf-8")
    out = tmp_path / "out.json"
    code = ("import json\nfrom click.testing import CliRunner\nfrom aggregator.cli import main\n"
            f"outputs, first = [], None\nfor args in {list(commands)!r}:\n"
            "    args = [first if a == 'ID' else a for a in args]\n"
            f"    result = CliRunner().invoke(main, ['--config', {str(path)!r}, *args],"
            f" env={{'AGGREGATOR_NOW': {NOW.isoformat()!r}}})\n"
            "    assert result.exit_code == 0, (args, result.output)\n"
            "    outputs.append(result.output)\n"
            "    first = first or (json.loads(result.output)[0]['id'] if args == ['upcoming', '--json'] else None)\n"
            f"open({str(out)!r}, 'w', encoding='utf-8').write(json.dumps(outputs))")
    return loaded_after(code), json.loads(out.read_text(encoding="utf-8"))


def test_upcoming_json_loads_only_the_store_the_config_and_the_ranking(tmp_path):
    loaded, [output] = commands_load(tmp_path, ["upcoming", "--json"])
    listed = json.loads(output)
    assert any(item["title"] == "Rust night" and item["contacts"] for item in listed)  # ranked, with people
    assert {"aggregator.store", "aggregator.ranking.listing", "aggregator.config"} <= loaded
    assert sorted(m for m in NOT_FOR_UPCOMING + TERMINAL if m in loaded) == []


def test_upcoming_on_the_terminal_loads_rich_but_nothing_of_the_fetch(tmp_path):
    loaded, [output] = commands_load(tmp_path, ["upcoming"])
    assert "Rust night" in output
    assert set(TERMINAL) <= loaded
    assert sorted(m for m in NOT_FOR_UPCOMING if m in loaded) == []


def test_the_other_json_views_load_no_terminal_and_nothing_of_the_fetch(tmp_path):
    views = [["why", "ID", "--json"], ["past", "--json"], ["sources", "--json"], ["reconnect", "--json"],
             ["contacts", "list", "--json"]]
    loaded, outputs = commands_load(tmp_path, ["upcoming", "--json"], *views)
    why, past, sources, reconnect, contacts = (json.loads(text) for text in outputs[1:])
    assert why["title"] and past and sources[0]["name"] == "pdx-python-meetup-group-calendar"
    assert {c["name"] for c in contacts} == {"Dana Lee", "Sam Ortiz", "Ravi Patel"} and isinstance(reconnect, list)
    unneeded = [m for m in NOT_FOR_UPCOMING + TERMINAL if m != "aggregator.contacts"]  # the journal reads contacts
    assert sorted(m for m in unneeded if m in loaded) == []
