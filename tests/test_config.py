"""config.yaml checking: every error names the file, the key path and the fix; exit 2, no traceback."""

from __future__ import annotations

import pytest
import yaml

from aggregator import config
from aggregator.errors import ConfigError
from tests.conftest import Cli

KINDS = lambda: ["ics"]  # noqa: E731


def load_text(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return config.load(path, kinds=KINDS)


def load_data(tmp_path, data: dict):
    return load_text(tmp_path, yaml.safe_dump(data))


BASE = {"timezone": "America/Los_Angeles", "sources": [{"name": "a", "kind": "ics", "url": "https://x.org/a.ics"}]}


def test_defaults_and_relative_paths(tmp_path):
    settings = load_data(tmp_path, {**BASE, "profile": {"contacts": ["contacts/c.csv"]},
                                    "sources": [{"name": "local", "kind": "ics", "url": "feeds/a.ics"}]})
    assert settings.database == tmp_path / "events.db"
    assert settings.profile.contacts == (tmp_path / "contacts/c.csv",)
    assert settings.sources[0].url == (tmp_path / "feeds/a.ics").as_uri()
    assert settings.fetch.concurrency == 8 and settings.fetch.max_bytes == 20_000_000
    assert settings.schedule.cron == "15 4 * * *"
    assert settings.feed.days_ahead == 365 and settings.feed.token is None
    assert settings.profile.reconnect_after_days == 182


def test_topics_weights_and_extra_source_options(tmp_path):
    settings = load_data(tmp_path, {**BASE, "profile": {"topics": {"Python": 3, "machine learning": 2}},
                                    "sources": [{"name": "a", "kind": "ics", "url": "https://x.org", "group": "G",
                                                 "priority": 2, "follow_links": True}]})
    assert settings.profile.topics == {"python": 3.0, "machine learning": 2.0}
    spec = settings.sources[0]
    assert (spec.group, spec.priority, spec.options) == ("G", 2, {"follow_links": True})


@pytest.mark.parametrize("data,key,words", [
    ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
    ({"sources": [{"kind": "ics", "url": "https://x.org"}]}, "sources[0].name", "required"),
    ({"sources": [{"name": "a", "kind": "nope", "url": "https://x.org"}]}, "sources[0].kind", "installed kinds: ics"),
    ({"sources": [{"name": "a", "kind": "ics", "url": "ftp://x.org/a"}]}, "sources[0].url", "only http(s)"),
    ({"sources": [{"name": "a", "kind": "ics", "url": "https://x"}, {"name": "a", "kind": "ics", "url": "https://y"}]},
     "sources[1].name", "unique"),
    ({"sources": "https://x.org"}, "sources", "must be a list"),
    ({"fetch": {"concurrency": 0}}, "fetch.concurrency", "at least 1"),
    ({"fetch": {"timeout": "slow"}}, "fetch.timeout", "must be a number"),
    ({"profile": {"topics": {"python": -1}}}, "profile.topics.python", "positive"),
    ({"profile": {"home": {"lat": 95, "lon": 0}}}, "profile.home.lat", "between -90 and 90"),
    ({"profile": {"include_online": "yes"}}, "profile.include_online", "true or false"),
    ({"schedule": {"cron": "every night"}}, "schedule.cron", "5 fields"),
    ({"schedule": {"cron": "99 4 * * *"}}, "schedule.cron", "not a valid cron"),
    ({"feed": {"token": ""}}, "feed.token", "non-empty"),
])
def test_errors_name_the_key_and_the_fix(tmp_path, data, key, words):
    with pytest.raises(ConfigError) as info:
        load_data(tmp_path, {**BASE, **data})
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'config.yaml'}: {key}: ")
    assert words in message


def test_unknown_keys_warn_and_still_load(tmp_path):
    settings = load_data(tmp_path, {**BASE, "colour": "blue", "fetch": {"concurency": 3}})
    assert any("colour: unknown key" in w for w in settings.warnings)
    assert any("fetch.concurency: unknown key" in w and "concurrency" in w for w in settings.warnings)


def test_cron_in_the_dst_fold_warns(tmp_path):
    settings = load_data(tmp_path, {**BASE, "schedule": {"cron": "30 2 * * *"}})
    assert any("daylight-saving" in w for w in settings.warnings)


def test_yaml_syntax_error_gives_line(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML at line 3"):
        load_text(tmp_path, "sources:\n  - {name: a, kind: ics\n")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "nope.yaml", kinds=KINDS)


def test_cli_config_error_exits_2_without_traceback(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**BASE, "sources": [{"name": "a", "kind": "meetup-ish", "url": "https://x.org"}]}))
    result = Cli(path)("upcoming")
    assert result.returncode == 2
    assert "sources[0].kind: unknown kind 'meetup-ish'; installed kinds: " in result.stderr
    assert "ics" in result.stderr and "Traceback" not in result.stderr


def test_cli_missing_config_exits_2(tmp_path):
    result = Cli(tmp_path / "missing.yaml")("sources")
    assert result.returncode == 2 and "file not found" in result.stderr


def test_cli_config_from_environment(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(BASE))
    (tmp_path / "elsewhere").mkdir()
    result = Cli(None, cwd=tmp_path / "elsewhere")("sources", "--json", env={"AGGREGATOR_CONFIG": str(path)})
    assert result.returncode == 0 and '"name": "a"' in result.stdout


def test_shipped_config_is_valid():
    from pathlib import Path

    settings = config.load(Path(__file__).resolve().parents[1] / "config.yaml")
    assert len(settings.sources) >= 5
    assert settings.profile.topics and settings.warnings == ()
