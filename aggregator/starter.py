"""`aggregator init`: a commented starter config, in the user's time zone, and what to do next."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.errors import AggregatorError

LOCALTIME = Path("/etc/localtime")

TEMPLATE = """\
# aggregator: your config. Every key is described in the README ("Configuration").
# Relative paths are relative to this file's folder.
database: events.db
timezone: {timezone}              # guessed from this machine; any IANA name works

profile:
  topics:                         # what you care about, weighted; phrases work
    python: 3
    data: 1
  exclude_topics: []              # events about these are dropped, e.g. [crypto]
  # home: {{lat: 45.523, lon: -122.676, radius_km: 40}}   # far events rank lower
  include_online: true
  # contacts: [contacts/Connections.csv]               # re-imported on each fetch when changed
  reconnect_after_days: 182

# Where events come from. Uncomment the examples you want (remove the leading '# ')
# and change their URLs to your city's groups, or add your own:
#   name: what you type after `fetch --source`; kind: the page's format; group: the series.
sources:
  # - {{name: my-meetup-group, kind: meetup, url: "https://www.meetup.com/pdxpython/", group: PDX Python}}
  # - {{name: city-calendar, kind: ics, url: "https://calagator.org/events.ics"}}
  # - {{name: venue-events, kind: jsonld, url: "https://example.org/events", follow_links: true}}
  # - {{name: luma-calendar, kind: luma, url: "https://lu.ma/pdx"}}
  # - {{name: community-blog, kind: rss, url: "https://example.org/events/feed/"}}
  # - {{name: python-conferences, kind: confs_tech, url: "https://raw.githubusercontent.com/tech-conferences/conference-data/main/conferences/2027/python.json"}}

schedule:
  cron: "15 4 * * *"              # nightly fetch (`aggregator schedule`), in `timezone`

feed:
  name: My tech events
  limit_per_week: 10
  token: null                     # set one before serving beyond this machine

backups: 7                        # copies of the database kept in events.db.backups/ (`aggregator restore`)
"""


def guess_timezone(environ: dict[str, str] | None = None, localtime: Path = LOCALTIME) -> str:
    """The machine's zone: $TZ, else where /etc/localtime links to, else UTC."""
    environ = os.environ if environ is None else environ
    candidates = [environ.get("TZ", "").lstrip(":")]
    try:
        target = str(localtime.resolve()) if localtime.is_symlink() else ""
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        if name and not name.startswith("/") and _is_zone(name):
            return name
    return "UTC"


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def starter_text(timezone: str) -> str:
    return TEMPLATE.format(timezone=timezone)


def write_starter(path: Path, *, force: bool = False, timezone: str | None = None) -> Path:
    """Write the starter config to `path`; an AggregatorError (exit 1) when it exists and not `force`."""
    if path.exists() and not force:
        raise AggregatorError(f"{path} already exists; edit it, or pass --force to replace it with a fresh one")
    if path.is_dir():
        raise AggregatorError(f"{path} is a folder; give a file path to --config")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_text(timezone or guess_timezone()), encoding="utf-8")
    except OSError as exc:
        raise AggregatorError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def next_steps(path: Path, *, default_location: bool) -> list[str]:
    """What to do after init; `--config PATH` in each command unless the file is found by default."""
    command = "aggregator" if default_location else f"aggregator --config {path}"
    return [
        f"wrote {path}",
        "next:",
        f"  1. edit it: your topics, and uncomment or add your sources ({path})",
        f"  2. {command} contacts import ~/Downloads/Connections.csv   (optional: LinkedIn, Google or vCard)",
        f"  3. {command} fetch",
        f"  4. {command} upcoming",
    ]
