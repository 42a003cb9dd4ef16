"""The docs are true: README commands exist and run, every command has help with an example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_quick_start_is_two_commands_and_ci_runs_the_same_tests():
    """Issue 21: the first command installs without the test extras and runs the demo offline; the
    second installs the test extras and runs the tests, as CI does."""
    install, tests = quick_start_commands()
    assert install.strip() == "pip install -e . && aggregator demo"
    setup, run = (part.strip() for part in tests.split("&&"))
    assert setup == "pip install -e '.[test]'"
    ci = (ROOT / ".ci" / "run").read_text()
    assert run in ci
    assert "pip install" in ci and "-e '.[test]'" in ci


def command_names(group=main, prefix=""):
    for name, command in group.commands.items():
        yield prefix + name, command
        if hasattr(command, "commands"):
            yield from command_names(command, prefix + name + " ")


@pytest.mark.parametrize("name,command", list(command_names()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name, command):
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert f"aggregator {name}" in README


def test_every_readme_command_exists():
    documented = set(re.findall(r"^\| `aggregator ([a-z]+(?: [a-z]+)?)", README, re.M))
    known = {name for name, _ in command_names()}
    for entry in documented:
        assert entry in known or entry.split()[0] in known, entry


def test_every_source_kind_is_documented_and_tested():
    """Every built-in kind (an installed third-party plugin documents itself; it must not break this)."""
    from importlib.metadata import entry_points

    built_in = sorted(ep.name for ep in entry_points(group="aggregator.sources") if ep.value.startswith("sources."))
    assert {"ics", "jsonld", "schedule", "sessionize"} <= set(built_in)
    for kind in built_in:
        assert f"| `{kind}` |" in README
        assert (ROOT / "tests" / f"test_{kind}.py").exists(), f"no tests/test_{kind}.py for kind {kind}"


def readme_command_lines() -> list[str]:
    """Every `aggregator ...` line of the README's code blocks (after a pipe too), comments dropped."""
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)\n```", README, re.S):
        for line in block.splitlines():
            for part in re.split(r"\||&&", line.split("  #")[0]):
                part = part.strip()
                if part.startswith("aggregator "):
                    lines.append(part)
    return lines


def test_readme_command_lines_use_commands_and_options_that_exist():
    import shlex

    lines = readme_command_lines()
    assert len(lines) >= 10
    for line in lines:
        words = shlex.split(line)[1:]
        command, options = main, {o for p in main.params for o in p.opts}
        while words and words[0].startswith("-"):  # global options and their values
            option = words.pop(0)
            assert option in options, line
            if option == "--config":
                words.pop(0)
        while words and hasattr(command, "commands") and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        assert not hasattr(command, "commands"), f"{line}: no such command"
        known = {o for p in command.params for o in p.opts}
        for word in words:
            if word.startswith("-") and word != "-":
                assert word in known, f"{line}: {word} is not an option of {command.name}"


def test_shell_completion_as_documented():
    import os
    import subprocess
    import sys

    for shell in ("bash", "zsh", "fish"):
        assert f"_AGGREGATOR_COMPLETE={shell}_source aggregator" in README
    script = Path(sys.executable).with_name("aggregator")
    if not script.exists():
        pytest.skip("the aggregator console script is not installed next to this Python")
    result = subprocess.run([str(script)], env={**os.environ, "_AGGREGATOR_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "complete -o nosort -F" in result.stdout


def test_readme_config_error_example_is_what_the_cli_prints(tmp_path):
    from tests.conftest import Cli

    section = README.split("one run lists every such error", 1)[1].split("```", 2)[1]
    documented = [line for line in section.splitlines() if line.startswith("config.yaml: ")]
    path = tmp_path / "config.yaml"
    path.write_text("timezone: Europe/Berln\nsources:\n  - {name: a, kind: icss, url: 'https://x.org/a.ics'}\n"
                    "fetch: {deadline: .nan, horizon_days: 100000000}\n")
    result = Cli(path)("upcoming")
    assert result.returncode == 2
    printed = result.stderr.replace(str(path), "config.yaml")
    assert len(documented) == 4

    def kinds_elided(text: str) -> str:  # which kinds are installed depends on the machine's plugins
        return re.sub(r"installed kinds: [^;]*;", "installed kinds: ...;", text)

    for line in documented:
        assert kinds_elided(line) in kinds_elided(printed)


def test_the_code_map_names_every_module_and_only_modules_that_exist():
    """README "Code map": a newcomer's first read; a module added or renamed must appear there."""
    section = README.split("### Code map", 1)[1].split("\n## ", 1)[0].split("The fuzz suite", 1)[0]
    named = set(re.findall(r"`([a-z_]+)/?`", section))
    root = Path(__file__).resolve().parents[1] / "aggregator"
    packages = {"store", "ranking"}
    modules = {p.stem for p in root.glob("*.py") if not p.stem.startswith("_")} | packages
    inside = {p.stem for p in (root / "ranking").glob("*.py") if not p.stem.startswith("_")}
    assert inside - named == set(), "ranking modules missing from the code map"
    assert modules - named == set(), "modules missing from the README code map"
    assert {"events", "merges", "runs", "people", "attendance", "feeds", "http_cache", "personal", "codec",
            "database"} <= named
    stored = {p.stem for p in (root / "store").glob("*.py") if not p.stem.startswith("_")}
    assert stored - named <= {"values"}, "store modules missing from the code map"
    first_cells = re.findall(r"^\| ([^|]+) \|", section, re.M)
    listed = {name for cell in first_cells for name in re.findall(r"`([a-z_]+)/?`", cell)}
    assert listed and listed <= modules, "the code map names a module that does not exist"
