"""Shared fixtures: saved fixture files, a pinned clock, temporary configs, the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from aggregator.model import AttendanceRow, Event, StoredEvent
from aggregator.source import Context

FIXTURES = Path(__file__).parent / "fixtures"
# ../shared beside the checkout (as CI lays it); $AGGREGATOR_SHARED names another place (a git worktree's).
SHARED = Path(os.environ.get("AGGREGATOR_SHARED") or Path(__file__).resolve().parents[2] / "shared")
CORPUS = SHARED / "corpus"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
PORTLAND = ZoneInfo("America/Los_Angeles")


# Every Python subprocess a test starts (the real CLI, `aggregator serve`) runs under the same guard
# as this process: tests/offline/sitecustomize.py installs it there.
OFFLINE = Path(__file__).parent / "offline"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(OFFLINE), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every in-process connection and name lookup goes through the guard: refuse any that would
    leave the machine (tests/offline/netguard.py)."""
    import socket

    from tests.offline import netguard

    connect, connect_ex, getaddrinfo = netguard.guarded(socket.socket.connect, socket.socket.connect_ex,
                                                        socket.getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def stored_event(event: Event, *, ident: str | None = None, source: str = "src", tz=timezone.utc,
                 **bookkeeping) -> StoredEvent:
    """A StoredEvent for pure tests (no SQLite): all-day events start at midnight in `tz`, as the store places them."""
    def utc(value):
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc)
        return datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(timezone.utc)

    stamp = bookkeeping.pop("updated_at", NOW)
    return StoredEvent(id=ident or event.source_uid, source=source, event=event, start_utc=utc(event.start),
                       end_utc=bookkeeping.pop("end_utc", utc(event.effective_end())),
                       content_hash=bookkeeping.pop("content_hash", ""), sequence=bookkeeping.pop("sequence", 0),
                       first_seen=stamp, last_seen=stamp, updated_at=stamp, **bookkeeping)


def seen(contact_id: int | None, evidence: str = "feed", status: str = "going", event_id: str = "e") -> AttendanceRow:
    """One AttendanceRow for pure tests."""
    return AttendanceRow(event_id, f"contact:{contact_id}", None, None, None, status, evidence, "", contact_id)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_ctx(*, now: datetime = NOW, tz: ZoneInfo = PORTLAND, window=None, warnings: list | None = None) -> Context:
    sink = warnings if warnings is not None else []
    window = window or (datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2028, 1, 1, tzinfo=timezone.utc))
    return Context(timezone=tz, window=window, now=now, warn=sink.append)


@pytest.fixture
def ctx():
    return make_ctx()


def write_config(folder: Path, sources: list[dict], **overrides) -> Path:
    """A config.yaml in `folder` with fast, test-friendly fetch settings."""
    data = {
        "database": "events.db",
        "timezone": "America/Los_Angeles",
        "profile": {"topics": {"python": 3, "rust": 1}, "exclude_topics": ["crypto"]},
        "sources": sources,
        "fetch": {"per_host_delay": 0, "timeout": 5, "retries": 0, "deadline": 20},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Cli:
    """Runs the installed `aggregator` command in a subprocess, as a user would."""

    def __init__(self, config: Path | None, now: datetime = NOW, cwd: Path | None = None):
        self.config = config
        self.now = now
        self.cwd = cwd or (config.parent if config is not None else None)

    def __call__(self, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "aggregator"]
        if self.config is not None:
            command += ["--config", str(self.config)]
        full_env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
        full_env.update({"AGGREGATOR_NOW": self.now.isoformat(), "COLUMNS": "200", **(env or {})})
        return subprocess.run(command + list(args), capture_output=True, text=True, env=full_env,
                              timeout=timeout, cwd=self.cwd)

    def json(self, *args: str):
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli_for():
    return Cli


@pytest.fixture
def server():
    from tests.localserver import LocalServer

    srv = LocalServer()
    yield srv
    srv.close()


def require(present: bool, what: str, how: str) -> None:
    """Tools beyond Python (a browser, node): CI installs them and must have them; elsewhere say how."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI; .ci/run should have installed it ({how})")
    pytest.skip(f"{what} is not installed on this machine ({how})")


@pytest.fixture(scope="session")
def ical_js() -> Path:
    """The ical.js reader script, with ical.js installed from the npm registry if need be."""
    import shutil

    folder = Path(__file__).parent / "js"
    require(shutil.which("node") is not None and shutil.which("npm") is not None, "node and npm",
            "apt-get install nodejs npm")
    if not (folder / "node_modules" / "ical.js").exists():
        subprocess.run(["npm", "--prefix", str(folder), "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       check=True, capture_output=True, timeout=300)
    return folder / "read_ical.mjs"
