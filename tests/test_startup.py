"""Every command pays only for what it uses (issue 19): loading the CLI to print `--help` or to parse a
command's flags imports no parser, no HTTP, no store and no ranking; each command imports those in its
body. Asserted on the modules a fresh interpreter has loaded, not on timings (bench/query.py prints
`--help` against a bare `python -c pass`)."""

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
