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
    install, tests = quick_start_commands()
    assert "pip install" in install and "aggregator fetch" in install
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci
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
    from aggregator.registry import installed_kinds

    for kind in installed_kinds():
        assert f"| `{kind}` |" in README
        assert (ROOT / "tests" / f"test_{kind}.py").exists(), f"no tests/test_{kind}.py for kind {kind}"
