"""A small made-up city to try the tool on, offline: `aggregator demo [DIR]`.

`write_demo` writes four groups' iCalendar files (past events with their
attendees, upcoming ones), a LinkedIn-style Connections.csv of ten people, and
a config.yaml tying them together with profile topics and a timezone. Dates are
generated from `now`, so the demo never goes stale; a fixed seed makes the same
`now` always give the same files. Everything is local: sources are relative
paths, which the config turns into file: URLs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

SEED = 14
ZONE = "America/Los_Angeles"
PAST_EVENTS = 6
UPCOMING_EVENTS = 3


@dataclass(frozen=True)
class Group:
    slug: str
    name: str
    talks: tuple[str, ...]
    venue: str
    weekday: int  # 0 = Monday
    regulars: tuple[str, ...]  # attendee keys (see PEOPLE) who come most months
    occasional: tuple[str, ...]  # who comes now and then


# key -> (first, last, email, how calendars write the name: a variant on purpose for some)
PEOPLE = {
    "dana": ("Dana", "Lee", "dana.lee@example.org", "Dana Lee"),
    "sam": ("Samuel", "Ortiz", "sam.ortiz@example.org", "Ortiz, Sam"),
    "jose": ("José", "Núñez", "", "Jose Nunez"),
    "priya": ("Priya", "Raman", "priya@example.net", "priya raman"),
    "mike": ("Michael", "Chen", "", "Mike Chen"),
    "ana": ("Ana", "Souza", "ana.souza@example.com", "A. Souza"),
    "tom": ("Tom", "Becker", "", "Tom Becker"),
    "lena": ("Lena", "Fischer", "lena.fischer@example.org", "Lena Fischer"),
    "kofi": ("Kofi", "Mensah", "", "Kofi Mensah"),
    "ruth": ("Ruth", "Okafor", "ruth@example.com", "Ruth Okafor"),
}
STRANGERS = ("Alex Morgan", "Jordan Blake", "Casey Kim", "Riley Park", "Morgan Diaz", "Taylor Reed")

GROUPS = (
    Group("pdx-python", "PDX Python",
          ("Typing in practice", "Packaging without tears", "Async Python, gently", "Profiling Python code",
           "Testing with pytest fixtures", "Data classes and attrs", "Python 3.13 what's new",
           "Lightning talks", "Writing a CLI with click"),
          "Puppet Labs, 308 SW 2nd Ave, Portland, OR", 2, ("dana", "sam", "jose"), ("priya", "tom")),
    Group("rust-pdx", "Rust PDX",
          ("Rust hack night", "Async Rust deep dive", "Error handling in Rust", "Embedded Rust on a Pico",
           "Rust and WebAssembly", "Ownership for Python programmers", "Unsafe Rust, safely",
           "Rust lightning talks", "Writing a parser with nom"),
          "New Relic, 111 SW 5th Ave, Portland, OR", 3, ("mike", "priya"), ("dana", "kofi")),
    Group("pdx-data", "Portland Data Engineers",
          ("Streaming with Kafka", "dbt in production", "Data quality checks", "DuckDB for analysts",
           "Orchestrating pipelines with Dagster", "Lakehouse formats compared", "SQL window functions",
           "Data contracts", "Airflow war stories"),
          "Central Library, 801 SW 10th Ave, Portland, OR", 1, ("ana", "lena"), ("sam", "ruth")),
    Group("pdx-design", "Portland UX Guild",
          ("Design systems at scale", "Accessible forms", "Research on a shoestring", "Figma tips",
           "Writing for interfaces", "Portfolio reviews", "Service design 101", "Usability testing",
           "Dark patterns to avoid"),
          "Ziba Design, 1044 NW 9th Ave, Portland, OR", 0, ("ruth",), ("tom", "lena")),
)

PROFILE_TOPICS = {"python": 3, "rust": 2, "data": 1}
HOME = {"lat": 45.5152, "lon": -122.6784, "radius_km": 25}


def write_demo(folder: Path, *, now: datetime) -> Path:
    """Write the demo city into `folder` (created if needed) and return its config.yaml path."""
    folder = Path(folder)
    (folder / "calendars").mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    zone = ZoneInfo(ZONE)
    sources = []
    for group in GROUPS:
        path = folder / "calendars" / f"{group.slug}.ics"
        path.write_text(_calendar(group, now.astimezone(zone), rng), encoding="utf-8", newline="")
        sources.append({"name": group.slug, "kind": "ics", "url": f"calendars/{group.slug}.ics",
                        "group": group.name})
    (folder / "Connections.csv").write_text(_connections(now), encoding="utf-8")
    config = {
        "database": "events.db",
        "timezone": ZONE,
        "profile": {"topics": PROFILE_TOPICS, "home": HOME, "contacts": ["Connections.csv"]},
        "sources": sources,
    }
    path = folder / "config.yaml"
    path.write_text("# A made-up city written by `aggregator demo`: edit freely, or point `sources:` at real "
                    "calendars.\n" + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _meeting_days(group: Group, now: datetime) -> tuple[list[datetime], list[datetime]]:
    """Monthly meetings (every fourth week on the group's weekday, 18:30 local): past ones, newest
    last, and upcoming ones, the first within the coming week or two."""
    days_ahead = (group.weekday - now.weekday()) % 7 or 7
    first_upcoming = datetime.combine(now.date() + timedelta(days=days_ahead), time(18, 30), tzinfo=now.tzinfo)
    upcoming = [first_upcoming + timedelta(weeks=4 * i) for i in range(UPCOMING_EVENTS)]
    past = [first_upcoming - timedelta(weeks=4 * i) for i in range(PAST_EVENTS, 0, -1)]
    return past, upcoming


def _calendar(group: Group, now: datetime, rng: random.Random) -> str:
    past, upcoming = _meeting_days(group, now)
    talks = list(group.talks)
    rng.shuffle(talks)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//aggregator//demo//EN", f"X-WR-CALNAME:{group.name}",
             f"X-WR-TIMEZONE:{ZONE}"]
    for number, start in enumerate(past + upcoming):
        attendees = _attendees(group, rng)
        if start > now:  # the next meeting has a couple of RSVPs; later ones only predictions
            attendees = attendees[:2] if start == upcoming[0] else []
        title = talks[number % len(talks)]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{group.slug}-{start:%Y%m%d}@demo.aggregator.invalid",
            f"DTSTAMP:{_utc(now)}",
            f"DTSTART:{_utc(start)}",
            f"DTEND:{_utc(start + timedelta(hours=2))}",
            f"SUMMARY:{_escape(title)}",
            f"DESCRIPTION:{_escape(f'{group.name} meets monthly. This time: {title}.')}",
            f"LOCATION:{_escape(group.venue)}",
            "STATUS:CONFIRMED",
        ]
        for name, email in attendees:
            mailto = email or f"{name.lower().replace(' ', '.').replace(',', '')}@attendee.invalid"
            lines.append(f'ATTENDEE;CN="{name}";PARTSTAT=ACCEPTED:mailto:{mailto}')
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _attendees(group: Group, rng: random.Random) -> list[tuple[str, str]]:
    """Regulars come five times in six, occasional people one time in four, plus a few strangers."""
    keys = [k for k in group.regulars if rng.random() < 5 / 6] + [k for k in group.occasional if rng.random() < 0.25]
    people = [(PEOPLE[k][3], PEOPLE[k][2]) for k in keys]
    people += [(name, "") for name in rng.sample(STRANGERS, rng.randint(2, 4))]
    return people


def _connections(now: datetime) -> str:
    rows = ["First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
    for number, (key, (first, last, email, _)) in enumerate(PEOPLE.items()):
        since = (now - timedelta(days=200 + 97 * number)).astimezone(timezone.utc)
        rows.append(f"{first},{last},https://www.linkedin.com/in/{key}-demo,{email},Demo Co,Engineer,"
                    f"{since:%d %b %Y}")
    return "\n".join(rows) + "\n"


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", r"\;").replace(",", r"\,").replace("\n", r"\n")
