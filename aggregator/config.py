"""Load and check config.yaml once, into Settings.

Every error names the file, the key path (``sources[2].url``) and what to do;
an unknown key is a warning, not an error, so a newer config still loads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from aggregator.errors import AggregatorError, ConfigError
from aggregator.source import SourceSpec

DEFAULT_CONFIG = "config.yaml"
ENV_CONFIG = "AGGREGATOR_CONFIG"


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
    warnings: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return self.path.parent

    def source(self, name: str) -> SourceSpec:
        for spec in self.sources:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise AggregatorError(f"no source named {name!r} in {self.path} (sources: {known})")


def config_path(explicit: str | os.PathLike | None) -> Path:
    return Path(explicit or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)


def load(path: str | os.PathLike | None = None, *, kinds: Callable[[], list[str]] | None = None) -> Settings:
    """Read and check a config file. `kinds` lists installed source kinds."""
    path = config_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, None, "file not found; pass --config PATH or set $AGGREGATOR_CONFIG"
        ) from None
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
    return _Checker(path.resolve(), kinds).settings(data or {})


class _Checker:
    def __init__(self, path: Path, kinds: Callable[[], list[str]]):
        self.path = path
        self.kinds = kinds
        self.warnings: list[str] = []

    # -- helpers ---------------------------------------------------------
    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(self.path, key, problem)

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping of keys to values, not {_kind(value)}")
        for name in value:
            if name not in allowed:
                self.warnings.append(
                    f"{self.path}: {key}.{name}: unknown key, ignored "
                    f"(known: {', '.join(sorted(allowed))})"
                )
        return value

    def number(self, data: dict, key: str, prefix: str, default, *, minimum=None, integer=False):
        value = data.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.fail(f"{prefix}{key}", f"must be a {'whole number' if integer else 'number'}, not {value!r}")
        if minimum is not None and value < minimum:
            self.fail(f"{prefix}{key}", f"must be at least {minimum}, not {value!r}")
        return value

    def boolean(self, data: dict, key: str, prefix: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{prefix}{key}", f"must be true or false, not {value!r}")
        return value

    def text(self, data: dict, key: str, prefix: str, default=None, *, required=False):
        value = data.get(key, default)
        if value is None:
            if required:
                self.fail(f"{prefix}{key}", "is required")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{prefix}{key}", f"must be a non-empty string, not {value!r}")
        return value

    def file_path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else self.path.parent / p

    # -- sections --------------------------------------------------------
    def settings(self, data: Any) -> Settings:
        top = self.mapping(
            data, "(top level)", {"database", "timezone", "profile", "sources", "schedule", "fetch", "feed"}
        )
        database = self.file_path(self.text(top, "database", "", "events.db"))
        tz_name = self.text(top, "timezone", "", "UTC")
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail("timezone", f"unknown time zone {tz_name!r}; use an IANA name such as America/Los_Angeles")
        settings = Settings(
            path=self.path,
            database=database,
            timezone=timezone,
            profile=self.profile(top.get("profile")),
            sources=self.sources(top.get("sources")),
            schedule=self.schedule(top.get("schedule")),
            fetch=self.fetch(top.get("fetch")),
            feed=self.feed(top.get("feed")),
        )
        return Settings(**{**settings.__dict__, "warnings": tuple(self.warnings)})

    def profile(self, value: Any) -> Profile:
        p = self.mapping(
            value, "profile",
            {"topics", "exclude_topics", "home", "include_online", "contacts", "reconnect_after_days"},
        )
        topics_raw = p.get("topics") or {}
        if isinstance(topics_raw, list):
            topics_raw = {t: 1 for t in topics_raw}
        if not isinstance(topics_raw, dict):
            self.fail("profile.topics", "must map topics to weights, e.g. {python: 3, rust: 1}")
        topics: dict[str, float] = {}
        for topic, weight in topics_raw.items():
            if not isinstance(topic, str) or not topic.strip():
                self.fail("profile.topics", f"a topic must be a non-empty string, not {topic!r}")
            if weight is None:
                weight = 1
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
                self.fail(f"profile.topics.{topic}", f"weight must be a positive number, not {weight!r}")
            topics[topic.strip().lower()] = float(weight)
        exclude = p.get("exclude_topics") or []
        if isinstance(exclude, str):
            exclude = [exclude]
        if not isinstance(exclude, list) or not all(isinstance(t, str) for t in exclude):
            self.fail("profile.exclude_topics", "must be a list of topics, e.g. [crypto, nft]")
        home = None
        if p.get("home") is not None:
            h = self.mapping(p["home"], "profile.home", {"lat", "lon", "radius_km"})
            for key in ("lat", "lon"):
                if key not in h:
                    self.fail(f"profile.home.{key}", "is required when home is set")
            lat = self.number(h, "lat", "profile.home.", None)
            lon = self.number(h, "lon", "profile.home.", None)
            if not -90 <= lat <= 90:
                self.fail("profile.home.lat", f"must be between -90 and 90, not {lat}")
            if not -180 <= lon <= 180:
                self.fail("profile.home.lon", f"must be between -180 and 180, not {lon}")
            home = Home(float(lat), float(lon), float(self.number(h, "radius_km", "profile.home.", 40, minimum=0)))
        contacts = p.get("contacts") or []
        if isinstance(contacts, str):
            contacts = [contacts]
        if not isinstance(contacts, list) or not all(isinstance(c, str) for c in contacts):
            self.fail("profile.contacts", "must be a list of contact export files")
        return Profile(
            topics=topics,
            exclude_topics=tuple(t.strip().lower() for t in exclude),
            home=home,
            include_online=self.boolean(p, "include_online", "profile.", True),
            contacts=tuple(self.file_path(c) for c in contacts),
            reconnect_after_days=self.number(p, "reconnect_after_days", "profile.", 182, minimum=1, integer=True),
        )

    def sources(self, value: Any) -> tuple[SourceSpec, ...]:
        if value is None:
            self.warnings.append(f"{self.path}: sources: none configured; fetch has nothing to do")
            return ()
        if not isinstance(value, list):
            self.fail("sources", "must be a list of sources, each {name: ..., kind: ..., url: ...}")
        specs: list[SourceSpec] = []
        seen: set[str] = set()
        for i, entry in enumerate(value):
            key = f"sources[{i}]"
            if not isinstance(entry, dict):
                self.fail(key, f"must be a mapping with name, kind and url, not {_kind(entry)}")
            name = self.text(entry, "name", f"{key}.", required=True)
            if name in seen:
                self.fail(f"{key}.name", f"{name!r} is used twice; each source needs a unique name")
            seen.add(name)
            kind = self.text(entry, "kind", f"{key}.", required=True)
            installed = self.kinds()
            if kind not in installed:
                self.fail(f"{key}.kind", f"unknown kind {kind!r}; installed kinds: {', '.join(installed)}")
            url = self.source_url(self.text(entry, "url", f"{key}.", required=True), f"{key}.url")
            group = self.text(entry, "group", f"{key}.")
            priority = self.number(entry, "priority", f"{key}.", 0, integer=True)
            options = {k: v for k, v in entry.items() if k not in {"name", "kind", "url", "group", "priority"}}
            specs.append(SourceSpec(name=name, kind=kind, url=url, group=group, priority=priority, options=options))
        return tuple(specs)

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
        return self.file_path(url).as_uri()

    def schedule(self, value: Any) -> Schedule:
        s = self.mapping(value, "schedule", {"cron"})
        cron = self.text(s, "cron", "schedule.", Schedule.cron)
        fields = cron.split()
        if len(fields) != 5:
            self.fail("schedule.cron", f"{cron!r} must have 5 fields: minute hour day month weekday")
        try:
            from apscheduler.triggers.cron import CronTrigger

            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            self.fail("schedule.cron", f"{cron!r} is not a valid cron expression: {exc}")
        if fields[1] in {"2", "02"}:
            self.warnings.append(
                f"{self.path}: schedule.cron: 02:xx is skipped or run twice on daylight-saving "
                "changes in many zones; 04:15 is safer"
            )
        return Schedule(cron=cron)

    def fetch(self, value: Any) -> FetchSettings:
        f = self.mapping(value, "fetch", set(FetchSettings.__dataclass_fields__))
        d = FetchSettings()
        return FetchSettings(
            concurrency=self.number(f, "concurrency", "fetch.", d.concurrency, minimum=1, integer=True),
            per_host_delay=float(self.number(f, "per_host_delay", "fetch.", d.per_host_delay, minimum=0)),
            timeout=float(self.number(f, "timeout", "fetch.", d.timeout, minimum=0.1)),
            max_bytes=self.number(f, "max_bytes", "fetch.", d.max_bytes, minimum=1, integer=True),
            retries=self.number(f, "retries", "fetch.", d.retries, minimum=0, integer=True),
            deadline=float(self.number(f, "deadline", "fetch.", d.deadline, minimum=0.1)),
            history_days=self.number(f, "history_days", "fetch.", d.history_days, minimum=0, integer=True),
            horizon_days=self.number(f, "horizon_days", "fetch.", d.horizon_days, minimum=1, integer=True),
        )

    def feed(self, value: Any) -> FeedSettings:
        f = self.mapping(value, "feed", set(FeedSettings.__dataclass_fields__))
        d = FeedSettings()
        token = f.get("token")
        if token is not None and (not isinstance(token, str) or not token):
            self.fail("feed.token", "must be a non-empty string, or null for no token")
        return FeedSettings(
            name=self.text(f, "name", "feed.", d.name),
            limit_per_week=self.number(f, "limit_per_week", "feed.", d.limit_per_week, minimum=0, integer=True),
            min_score=float(self.number(f, "min_score", "feed.", d.min_score)),
            days_back=self.number(f, "days_back", "feed.", d.days_back, minimum=0, integer=True),
            days_ahead=self.number(f, "days_ahead", "feed.", d.days_ahead, minimum=1, integer=True),
            token=token,
        )


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), type(value).__name__
    )
