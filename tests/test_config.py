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


def test_plain_cron_fields_are_judged_as_apscheduler_judges_them():
    """A schedule of `*` and plain numbers is checked without importing APScheduler (issue 19): every
    field it passes, APScheduler accepts too; what it leaves (ranges, steps, names) APScheduler judges."""
    from apscheduler.triggers.cron import CronTrigger

    def accepted(fields):
        try:
            CronTrigger.from_crontab(" ".join(fields), timezone="UTC")
            return True
        except ValueError:
            return False

    for position in range(5):
        for value in [*map(str, range(-1, 62)), "00", "007", "*", "٣", "²", "+5", "1-5", "*/15", "mon", "1,2"]:
            fields = ["*"] * 5
            fields[position] = value
            if config.plainly_valid_cron(fields):
                assert accepted(fields), fields
            elif value.isascii() and value.isdigit():
                assert not accepted(fields), fields  # a plain number out of range: APScheduler refuses it too
    assert config.plainly_valid_cron("15 4 * * *".split())  # the default
    assert not config.plainly_valid_cron("*/15 1-5 * jan mon".split())  # left to APScheduler


@pytest.mark.parametrize("cron, valid", [("0 6 * * 0", True), ("0 6 * * 7", False), ("0 24 * * *", False),
                                         ("0 6 31 2 *", True), ("*/20 6-8 * * mon-fri", True)])
def test_plain_and_full_cron_give_the_same_verdict_through_load(tmp_path, cron, valid):
    if valid:
        assert load_data(tmp_path, {**BASE, "schedule": {"cron": cron}}).schedule.cron == cron
    else:
        with pytest.raises(ConfigError, match="schedule.cron: .* is not a valid cron expression"):
            load_data(tmp_path, {**BASE, "schedule": {"cron": cron}})


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


# -- every problem at once, suggestions, values that passed and crashed later (issue 11 #8) --------
BAD = """\
timezone: Europe/Berln
profile:
  topics: [[python]]
  exclude_topics: crypto
sources:
  - {name: a, kind: icss, url: "https://x.org/a.ics"}
  - {name: b, kind: ics, url: "ftp://x.org/b"}
fetch:
  concurency: 4
  deadline: .nan
  horizon_days: 100000000
feed:
  days_ahead: .inf
"""


def test_every_problem_is_reported_in_one_run(tmp_path):
    with pytest.raises(config.ConfigProblems) as info:
        load_text(tmp_path, BAD)
    lines = str(info.value).splitlines()
    path = tmp_path / "config.yaml"
    assert all(line.startswith(f"{path}: ") for line in lines)
    keys = [key for key, _ in info.value.problems]
    assert keys == ["timezone", "profile.topics", "sources[0].kind", "sources[1].url", "fetch.deadline",
                    "fetch.horizon_days", "feed.days_ahead"]
    assert "did you mean 'Europe/Berlin'?" in lines[0]
    assert "did you mean 'ics'?" in lines[2]
    assert "finite" in lines[4] and "at most 3650" in lines[5] and "finite" in lines[6]


def test_unknown_key_suggests_the_known_one(tmp_path):
    settings = load_data(tmp_path, {**BASE, "fetch": {"concurency": 3}, "profil": {}})
    assert any("fetch.concurency: unknown key, ignored; did you mean 'concurrency'?" in w for w in settings.warnings)
    assert any("profil: unknown key, ignored; did you mean 'profile'?" in w for w in settings.warnings)


@pytest.mark.parametrize("data,key,words", [
    ({"profile": {"topics": [["python"]]}}, "profile.topics", "words or phrases"),
    ({"profile": {"topics": {"python": float("inf")}}}, "profile.topics.python", "positive number"),
    ({"fetch": {"deadline": float("nan")}}, "fetch.deadline", "finite"),
    ({"fetch": {"horizon_days": 10**9}}, "fetch.horizon_days", "at most 3650"),
    ({"fetch": {"concurrency": 10_000}}, "fetch.concurrency", "at most 64"),
    ({"feed": {"days_ahead": 10**12}}, "feed.days_ahead", "at most 3650"),
    ({"feed": {"min_score": float("nan")}}, "feed.min_score", "finite"),
    ({"profile": {"exclude_topics": [1, 2]}}, "profile.exclude_topics", "list of strings"),
    ({"profile": {"reconnect_after_days": 10**9}}, "profile.reconnect_after_days", "at most"),
    ({"sources": [{"name": "a", "kind": "ics", "url": "https://x.org", "priority": 10**20}]},
     "sources[0].priority", "at most 1000"),
])
def test_values_that_used_to_crash_later_are_refused_at_load(tmp_path, data, key, words):
    with pytest.raises(ConfigError) as info:
        load_data(tmp_path, {**BASE, **data})
    assert f": {key}: " in str(info.value) and words in str(info.value)


OPTIONS = {"max_pages": int, "follow_links": bool, "link_pattern": str, "ratio": (int, float)}


def load_with_options(tmp_path, source: dict, declared=OPTIONS):
    return load_data(tmp_path, {**BASE, "sources": [{"name": "a", "kind": "ics", "url": "https://x.org", **source}]}) \
        if declared is None else config._Checker(tmp_path / "config.yaml", KINDS, lambda kind: declared).settings(
            {**BASE, "sources": [{"name": "a", "kind": "ics", "url": "https://x.org", **source}]})


def test_declared_kind_options_are_checked(tmp_path):
    good = load_with_options(tmp_path, {"max_pages": 5, "follow_links": True, "ratio": 2})
    assert good.sources[0].options == {"max_pages": 5, "follow_links": True, "ratio": 2}
    with pytest.raises(ConfigError) as info:
        load_with_options(tmp_path, {"max_pages": "lots", "follow_links": "yes"})
    assert "sources[0].max_pages: must be a whole number, not 'lots'" in str(info.value)
    assert "sources[0].follow_links: must be true or false, not 'yes'" in str(info.value)
    with pytest.raises(ConfigError, match="must be a whole number"):
        load_with_options(tmp_path, {"max_pages": True})  # YAML's true is not a page count
    unknown = load_with_options(tmp_path, {"max_page": 5})
    [warning] = unknown.warnings
    assert "sources[0].max_page: kind 'ics' has no option 'max_page'" in warning
    assert "did you mean 'max_pages'?" in warning and "follow_links, link_pattern, max_pages, ratio" in warning


def test_kinds_that_declare_no_options_are_not_checked(tmp_path):
    settings = config._Checker(tmp_path / "config.yaml", KINDS, lambda kind: None).settings(
        {**BASE, "sources": [{"name": "a", "kind": "ics", "url": "https://x.org", "anything": ["goes"]}]})
    assert settings.sources[0].options == {"anything": ["goes"]} and settings.warnings == ()


def test_declared_options_are_read_from_the_installed_kind_class(monkeypatch):
    from aggregator import registry

    class Declared:
        kind = "x"
        options = {"max_pages": int}

        def collect(self, spec, http, ctx):
            return []

    monkeypatch.setattr(registry, "load_source", lambda kind: Declared())
    assert config.declared_options("x") == {"max_pages": int}
    monkeypatch.setattr(registry, "load_source", lambda kind: object())
    assert config.declared_options("x") is None


def test_cli_bad_config_prints_every_problem_and_exits_2(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(BAD)
    result = Cli(path)("upcoming")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if str(path) in line and "unknown key" not in line]
    assert len(errors) == 7
    assert "warning:" in result.stderr and "fetch.concurency" in result.stderr
