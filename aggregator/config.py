"""Load and check config.yaml once, into Settings.

Every problem names the file, the key path (``sources[2].url``) and what to do,
and one run reports all of them, not only the first. An unknown key is a
warning, not an error, so a newer config still loads. Numbers are checked for
type and a sane range here, so a value that would crash or never fire later
(``deadline: .nan``, ``horizon_days: 10**9``) is refused at load time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from aggregator.config_values import Values, did_you_mean, kind_words, type_words
from aggregator.errors import AggregatorError, ConfigError
from aggregator.source import SourceSpec, option_accepts

DEFAULT_CONFIG = "config.yaml"
ENV_CONFIG = "AGGREGATOR_CONFIG"
SOURCE_KEYS = {"name", "kind", "url", "group", "priority"}
MAX_DAYS = 3650  # ten years: more only makes every query and expansion slower
# minute, hour, day, month, weekday: the range of a plain number in each, as APScheduler 3 reads them (weekday 0-6)
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


class UnknownName(AggregatorError):
    """A name typed on the command line (an event id, a source, a contact) that matches nothing: bad usage."""

    exit_code = 2


class ConfigProblems(ConfigError):
    """Every problem of one config file, one `<file>: <key path>: <problem>` line each."""

    def __init__(self, path: Path, problems: list[tuple[str | None, str]], warnings: tuple[str, ...] = ()):
        key, problem = problems[0]
        super().__init__(path, key, problem)
        self.problems, self.warnings = problems, warnings
        self.args = ("\n".join(f"{path}: {k}: {p}" if k else f"{path}: {p}" for k, p in problems),)


@dataclass(frozen=True)
class Home:
    lat: float
    lon: float
    radius_km: float = 40.0


@dataclass(frozen=True)
class Profile:
    topics: dict[str, float] = field(default_factory=dict)
    exclude_topics: tuple[str, ...] = ()
    home: Home | None = None
    include_online: bool = True
    contacts: tuple[Path, ...] = ()
    reconnect_after_days: int = 182
    calendars: tuple[str, ...] = field(default=(), repr=False)  # http(s)/file: URLs; may be secret: never printed


@dataclass(frozen=True)
class FetchSettings:
    concurrency: int = 8
    per_host_delay: float = 1.0
    timeout: float = 30.0
    max_bytes: int = 20_000_000
    retries: int = 2
    deadline: float = 120.0
    history_days: int = 730
    horizon_days: int = 365


@dataclass(frozen=True)
class FeedSettings:
    name: str = "My tech events"
    limit_per_week: int = 10
    min_score: float = 0.0
    days_back: int = 30
    days_ahead: int = 365
    token: str | None = None
    public_url: str | None = None  # the address subscribers use; None: the address the page was requested at


@dataclass(frozen=True)
class Schedule:
    cron: str = "15 4 * * *"


@dataclass(frozen=True)
class Settings:
    path: Path
    database: Path
    timezone: ZoneInfo
    profile: Profile
    sources: tuple[SourceSpec, ...]
    schedule: Schedule = Schedule()
    fetch: FetchSettings = FetchSettings()
    feed: FeedSettings = FeedSettings()
    backups: int = 7  # copies kept beside the database (aggregator.backup); 0: none after a fetch
    warnings: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return self.path.parent

    def source(self, name: str) -> SourceSpec:
        for spec in self.sources:
            if spec.name == name:
                return spec
        known = [s.name for s in self.sources]
        raise UnknownName(f"no source named {name!r} in {self.path}{did_you_mean(name, known)} "
                          f"(sources: {', '.join(known) or 'none configured'})")


def xdg_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "aggregator" / "config.yaml"


def config_path(explicit: str | os.PathLike | None) -> Path:
    """--config, else $AGGREGATOR_CONFIG, else ./config.yaml, else the XDG location (CONTRACT.md)."""
    chosen = explicit or os.environ.get(ENV_CONFIG)
    if chosen:
        return Path(chosen)
    local = Path(DEFAULT_CONFIG)
    return local if local.exists() or not xdg_config_path().exists() else xdg_config_path()


def load(path: str | os.PathLike | None = None, *, kinds: Callable[[], list[str]] | None = None,
         kind_options: Callable[[str], dict | None] | None = None) -> Settings:
    """Read and check a config file. `kinds` lists installed source kinds; `kind_options`
    gives a kind's declared options (name -> type or tuple of types), or None when undeclared."""
    explicit = path or os.environ.get(ENV_CONFIG)
    path = config_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        looked = "" if explicit else f" (looked for ./{DEFAULT_CONFIG} and {xdg_config_path()})"
        raise ConfigError(path, None, f"file not found{looked}; run `aggregator init` to write a starter config, "
                                      "or pass --config PATH or set $AGGREGATOR_CONFIG") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read it: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, None, f"not valid YAML{where}: {problem}") from None
    if kinds is None:
        from aggregator.registry import installed_kinds as kinds
    return _Checker(path.resolve(), kinds, kind_options or declared_options).settings(data or {})


def plainly_valid_cron(fields: list[str]) -> bool:
    """Five fields each `*` or one number in range (the default and most schedules): valid as APScheduler
    would judge them, without importing it. Anything else (ranges, steps, names) is left to APScheduler."""
    return len(fields) == 5 and all(f == "*" or (f.isascii() and f.isdigit() and low <= int(f) <= high)
                                    for f, (low, high) in zip(fields, CRON_RANGES, strict=True))


def declared_options(kind: str) -> dict | None:
    """The `options` a kind class declares (the plugin option convention), or None."""
    from aggregator.registry import load_source

    try:
        declared = getattr(load_source(kind), "options", None)
    except AggregatorError:
        return None
    return declared if isinstance(declared, dict) else None


class _Checker(Values):
    """Checks one parsed config, section by section, into Settings."""

    def settings(self, data: Any) -> Settings:
        top = self.mapping(
            data, "(top level)", {"database", "timezone", "profile", "sources", "schedule", "fetch", "feed", "backups"}
        )
        database = self.file_path(self.text(top, "database", "", "events.db"))
        settings = Settings(
            path=self.path,
            database=database,
            timezone=self.timezone(self.text(top, "timezone", "", "UTC")),
            profile=self.profile(top.get("profile")),
            sources=self.sources(top.get("sources")),
            schedule=self.schedule(top.get("schedule")),
            fetch=self.fetch(top.get("fetch")),
            feed=self.feed(top.get("feed")),
            backups=self.number(top, "backups", "", Settings.backups, minimum=0, maximum=1000, integer=True),
            warnings=tuple(self.warnings),
        )
        if self.problems:
            raise ConfigProblems(self.path, self.problems, tuple(self.warnings))
        return settings

    def timezone(self, name: str) -> ZoneInfo:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            from aggregator import timezones  # tzdata's names are read only for a wrong one

            meant = timezones.suggest(name)
            hint = f"; did you mean {meant!r}?" if meant else did_you_mean(name, available_timezones())
            self.fail("timezone", f"unknown time zone {name!r}; use an IANA name such as America/Los_Angeles"
                                  f"{hint}")
            return ZoneInfo("UTC")

    def profile(self, value: Any) -> Profile:
        p = self.mapping(
            value, "profile",
            {"topics", "exclude_topics", "home", "include_online", "contacts", "reconnect_after_days", "calendars"},
        )
        return Profile(
            topics=self.topics(p.get("topics")),
            exclude_topics=tuple(t.strip().lower() for t in
                                 self.strings(p.get("exclude_topics"), "profile.exclude_topics", "[crypto, nft]")),
            home=self.home(p.get("home")),
            include_online=self.boolean(p, "include_online", "profile.", True),
            contacts=tuple(self.file_path(c) for c in
                           self.strings(p.get("contacts"), "profile.contacts", "[contacts/Connections.csv]")),
            reconnect_after_days=self.number(p, "reconnect_after_days", "profile.", 182, minimum=1,
                                             maximum=100 * 365, integer=True),
            calendars=self.calendars(p.get("calendars")),
        )

    def calendars(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        from aggregator.calendars import calendar_entries  # matching's module (dedup, rapidfuzz): only when set

        found, problems = calendar_entries(value, self.file_path)
        self.problems.extend(problems)
        return found

    def topics(self, value: Any) -> dict[str, float]:
        if not value:
            return {}
        if isinstance(value, list):
            if not all(isinstance(t, str) for t in value):
                self.fail("profile.topics", f"a list of topics must hold words or phrases, not {value!r}; "
                                            "e.g. [python, rust] or {python: 3, rust: 1}")
                return {}
            value = {t: 1 for t in value}
        if not isinstance(value, dict):
            self.fail("profile.topics", "must map topics to weights, e.g. {python: 3, rust: 1}")
            return {}
        topics: dict[str, float] = {}
        for topic, weight in value.items():
            if not isinstance(topic, str) or not topic.strip():
                self.fail("profile.topics", f"a topic must be a non-empty string, not {topic!r}")
                continue
            weight = 1 if weight is None else weight
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1000 \
                    or not math.isfinite(weight):
                self.fail(f"profile.topics.{topic}", f"weight must be a positive number up to 1000, not {weight!r}")
                continue
            topics[topic.strip().lower()] = float(weight)
        return topics

    def home(self, value: Any) -> Home | None:
        if value is None:
            return None
        h = self.mapping(value, "profile.home", {"lat", "lon", "radius_km"})
        if not h:
            return None
        missing = [key for key in ("lat", "lon") if key not in h]
        for key in missing:
            self.fail(f"profile.home.{key}", "is required when home is set")
        lat = self.number(h, "lat", "profile.home.", None)
        lon = self.number(h, "lon", "profile.home.", None)
        if lat is not None and not -90 <= lat <= 90:
            self.fail("profile.home.lat", f"must be between -90 and 90, not {lat}")
            lat = None
        if lon is not None and not -180 <= lon <= 180:
            self.fail("profile.home.lon", f"must be between -180 and 180, not {lon}")
            lon = None
        radius = self.number(h, "radius_km", "profile.home.", 40, minimum=0, maximum=20_000)
        if lat is None or lon is None:
            return None
        return Home(float(lat), float(lon), float(radius))

    def sources(self, value: Any) -> tuple[SourceSpec, ...]:
        if value is None:
            self.warn("sources", "none configured; fetch has nothing to do")
            return ()
        if not isinstance(value, list):
            self.fail("sources", "must be a list of sources, each {name: ..., kind: ..., url: ...}")
            return ()
        specs: list[SourceSpec] = []
        seen: set[str] = set()
        for i, entry in enumerate(value):
            spec = self.source(entry, f"sources[{i}]", seen)
            if spec is not None:
                specs.append(spec)
        return tuple(specs)

    def source(self, entry: Any, key: str, seen: set[str]) -> SourceSpec | None:
        if not isinstance(entry, dict):
            self.fail(key, f"must be a mapping with name, kind and url, not {kind_words(entry)}")
            return None
        before = len(self.problems)
        name = self.text(entry, "name", f"{key}.", required=True)
        if name in seen:
            self.fail(f"{key}.name", f"{name!r} is used twice; each source needs a unique name")
        seen.add(name)
        kind = self.text(entry, "kind", f"{key}.", required=True)
        installed = self.kinds()
        if kind is not None and kind not in installed:
            self.fail(f"{key}.kind", f"unknown kind {kind!r}; installed kinds: {', '.join(installed)}"
                                     f"{did_you_mean(kind, installed)}")
        url = self.text(entry, "url", f"{key}.", required=True)
        url = self.source_url(url, f"{key}.url") if url else url
        group = self.text(entry, "group", f"{key}.")
        priority = self.number(entry, "priority", f"{key}.", 0, minimum=-1000, maximum=1000, integer=True)
        options = {k: v for k, v in entry.items() if k not in SOURCE_KEYS}
        if options and kind in installed:
            self.check_options(options, kind, key)
        if len(self.problems) > before:
            return None
        return SourceSpec(name=name, kind=kind, url=url, group=group, priority=priority, options=options)

    def check_options(self, options: dict, kind: str, key: str) -> None:
        """Against the options the kind declares; a kind that declares none is not checked."""
        declared = self.kind_options(kind)
        if declared is None:
            return
        for option, value in options.items():
            if option not in declared:
                valid = ", ".join(sorted(declared)) or "none"
                self.warn(f"{key}.{option}", f"kind {kind!r} has no option {option!r}, ignored"
                                             f"{did_you_mean(str(option), declared)} (its options: {valid})")
                continue
            wanted = declared[option]
            if not option_accepts(wanted, value):
                names = " or ".join(type_words(t) for t in (wanted if isinstance(wanted, tuple) else (wanted,)))
                self.fail(f"{key}.{option}", f"must be {names}, not {value!r}")

    def source_url(self, url: str, key: str) -> str:
        url = url.strip()
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            if not urlsplit(url).netloc:
                self.fail(key, f"{url!r} has no host")
            return url
        if scheme == "file":
            return url
        if scheme and len(scheme) > 1:  # a one-letter scheme is a Windows drive
            self.fail(key, f"only http(s) URLs or local files are fetched, not {scheme}:")
            return url
        return self.file_path(url).as_uri()

    def schedule(self, value: Any) -> Schedule:
        s = self.mapping(value, "schedule", {"cron"})
        cron = self.text(s, "cron", "schedule.", Schedule.cron)
        fields = cron.split()
        if len(fields) != 5:
            self.fail("schedule.cron", f"{cron!r} must have 5 fields: minute hour day month weekday")
            return Schedule()
        try:
            if not plainly_valid_cron(fields):  # APScheduler takes 14 ms to import: every command checks the config
                from apscheduler.triggers.cron import CronTrigger

                CronTrigger.from_crontab(cron)
        except ValueError as exc:
            self.fail("schedule.cron", f"{cron!r} is not a valid cron expression: {exc}")
            return Schedule()
        if fields[1] in {"2", "02"}:
            self.warn("schedule.cron", "02:xx is skipped or run twice on daylight-saving changes in many zones; "
                                       "04:15 is safer")
        return Schedule(cron=cron)

    def fetch(self, value: Any) -> FetchSettings:
        f = self.mapping(value, "fetch", set(FetchSettings.__dataclass_fields__))
        d = FetchSettings()
        n = lambda key, **limits: self.number(f, key, "fetch.", getattr(d, key), **limits)  # noqa: E731
        return FetchSettings(
            concurrency=n("concurrency", minimum=1, maximum=64, integer=True),
            per_host_delay=float(n("per_host_delay", minimum=0, maximum=3600)),
            timeout=float(n("timeout", minimum=0.1, maximum=3600)),
            max_bytes=n("max_bytes", minimum=1, maximum=2_000_000_000, integer=True),
            retries=n("retries", minimum=0, maximum=10, integer=True),
            deadline=float(n("deadline", minimum=0.1, maximum=86_400)),
            history_days=n("history_days", minimum=0, maximum=MAX_DAYS, integer=True),
            horizon_days=n("horizon_days", minimum=1, maximum=MAX_DAYS, integer=True),
        )

    def feed(self, value: Any) -> FeedSettings:
        f = self.mapping(value, "feed", set(FeedSettings.__dataclass_fields__))
        d = FeedSettings()
        token = f.get("token")
        if token is not None and (not isinstance(token, str) or not token):
            self.fail("feed.token", "must be a non-empty string, or null for no token")
            token = None
        n = lambda key, **limits: self.number(f, key, "feed.", getattr(d, key), **limits)  # noqa: E731
        return FeedSettings(
            name=self.text(f, "name", "feed.", d.name),
            limit_per_week=n("limit_per_week", minimum=0, maximum=10_000, integer=True),
            min_score=float(n("min_score")),
            days_back=n("days_back", minimum=0, maximum=MAX_DAYS, integer=True),
            days_ahead=n("days_ahead", minimum=1, maximum=MAX_DAYS, integer=True),
            token=token,
            public_url=self.public_url(f.get("public_url")),
        )

    def public_url(self, value: Any) -> str | None:
        """feed.public_url: an absolute http(s) address, kept with one trailing slash (links are made under it)."""
        if value is None:
            return None
        text = value.strip() if isinstance(value, str) else ""
        try:
            parts = urlsplit(text)
            valid = (parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
                     and not parts.query and not parts.fragment and not any(c.isspace() for c in text))
        except ValueError:  # a port that is not a number, a broken [IPv6] literal
            valid = False
        if not valid:
            self.fail("feed.public_url", f"must be an http(s) address such as https://events.example.org/, "
                                         f"not {value!r}")
            return None
        return text.rstrip("/") + "/"
