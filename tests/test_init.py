"""`aggregator init` and where the config is looked for (CONTRACT.md): --config, $AGGREGATOR_CONFIG,
./config.yaml, then $XDG_CONFIG_HOME/aggregator/config.yaml. The starter config itself loads."""

from __future__ import annotations

import re

import pytest

from aggregator import config, starter
from tests.conftest import Cli


def test_starter_config_loads_and_so_does_every_example_source(tmp_path):
    path = starter.write_starter(tmp_path / "config.yaml", timezone="Europe/Berlin")
    settings = config.load(path)
    assert settings.timezone.key == "Europe/Berlin" and settings.profile.topics == {"python": 3.0, "data": 1.0}
    assert settings.sources == ()
    assert [w for w in settings.warnings if "none configured" not in w] == []
    # uncommenting the examples, as the file tells the user to, gives a valid config too
    text = path.read_text()
    examples = re.sub(r"(?m)^  # - ", "  - ", text)
    examples = re.sub(r"(?m)^  # (home|contacts):", r"  \1:", examples)
    (tmp_path / "all.yaml").write_text(examples)
    (tmp_path / "contacts").mkdir()
    every = config.load(tmp_path / "all.yaml")
    assert len(every.sources) == 6 and every.warnings == ()
    assert {s.kind for s in every.sources} == {"meetup", "ics", "jsonld", "luma", "rss", "confs_tech"}
    assert every.profile.home is not None


@pytest.mark.parametrize("environ,link,expected", [
    ({"TZ": "Asia/Tokyo"}, None, "Asia/Tokyo"),
    ({"TZ": ":Europe/Paris"}, None, "Europe/Paris"),
    ({"TZ": "Not/AZone"}, "/usr/share/zoneinfo/America/Chicago", "America/Chicago"),
    ({}, "/usr/share/zoneinfo/Australia/Sydney", "Australia/Sydney"),
    ({}, None, "UTC"),
    ({"TZ": "/etc/passwd"}, None, "UTC"),
])
def test_guess_timezone(tmp_path, environ, link, expected):
    localtime = tmp_path / "localtime"
    if link:
        localtime.symlink_to(link)
    assert starter.guess_timezone(environ, localtime) == expected


def test_init_writes_to_xdg_and_commands_find_it_there(tmp_path):
    home = tmp_path / "xdg"
    work = tmp_path / "work"
    work.mkdir()
    env = {"XDG_CONFIG_HOME": str(home), "TZ": "America/Denver"}
    cli = Cli(None, cwd=work)
    result = cli("init", env=env)
    written = home / "aggregator" / "config.yaml"
    assert result.returncode == 0, result.stderr
    assert str(written) in result.stdout and "aggregator fetch" in result.stdout
    assert "timezone: America/Denver" in written.read_text()
    found = cli("sources", "--json", env=env)
    assert found.returncode == 0 and found.stdout.strip() == "[]"  # the XDG file was found, and it has no sources
    assert (home / "aggregator" / "events.db").exists()  # relative paths resolve against the config's folder
    empty = cli("upcoming", env=env)  # a new user's next step is to add sources, not to fetch nothing
    assert empty.returncode == 0
    assert empty.stdout.strip() == (f"No sources configured yet: add some to {written}, "
                                    "then run `aggregator fetch`.")


def test_init_keeps_an_existing_file_unless_forced(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("timezone: UTC\n")
    cli = Cli(path)
    refused = cli("init")
    assert refused.returncode == 1 and "already exists" in refused.stderr and "--force" in refused.stderr
    assert path.read_text() == "timezone: UTC\n"
    forced = cli("init", "--force")
    assert forced.returncode == 0 and "profile:" in path.read_text()
    assert f"aggregator --config {path} fetch" in forced.stdout  # not the default place: say --config


def test_local_config_wins_over_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("AGGREGATOR_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    xdg = config.xdg_config_path()
    xdg.parent.mkdir(parents=True)
    xdg.write_text("timezone: UTC\n")
    assert config.config_path(None) == xdg
    (tmp_path / "config.yaml").write_text("timezone: UTC\n")
    assert config.config_path(None).resolve() == (tmp_path / "config.yaml").resolve()
    monkeypatch.setenv("AGGREGATOR_CONFIG", str(tmp_path / "other.yaml"))
    assert config.config_path(None) == tmp_path / "other.yaml"


def test_no_config_anywhere_says_where_it_looked_and_to_run_init(tmp_path):
    result = Cli(None, cwd=tmp_path)("upcoming", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert result.returncode == 2 and "aggregator init" in result.stderr
    assert str(tmp_path / "xdg" / "aggregator" / "config.yaml") in result.stderr
