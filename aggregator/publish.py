"""`aggregator publish DIR`: the page and the feeds as a static site any web host or CDN serves.

    DIR/index.html                      the page (the server's `/`)
    DIR/feed.ics                        the ranked feed
    DIR/topics/<name>.ics, <name>.html  each profile topic's feed and page
    DIR/events/<name>.ics               one calendar per event a page lists ("Add to calendar")

Links between the files are relative; subscribe links are absolute under
`feed.public_url` when it is set (a static page cannot know its own address
otherwise: its script fills it in). Each file goes to a temporary file beside
it, then is renamed over the old one, and only when its bytes changed: an
unchanged feed keeps its bytes and its modification time, so hosts keep their
ETags and calendar apps get 304s. Pages are written after the files they link,
and event and topic files no page lists any more are removed last, so a host
never serves a page linking a missing file. Nothing else in DIR is touched (a
Git checkout's .git, a CNAME file), and a folder whose index.html this command
did not write is refused when publishing would replace or remove a file there,
unless `force`.

A static host checks no token: with `feed.token` set, publishing is refused
unless `public` (people left out) or `force`.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aggregator import feed as feed_module
from aggregator import page as page_module
from aggregator import ranking
from aggregator.config import Settings
from aggregator.errors import AggregatorError
from aggregator.ranking import Ranked
from aggregator.server import fetch_status
from aggregator.store import Store

OWNED = ("events", "topics")  # folders whose stale .ics/.html files are removed
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class PublishRefused(AggregatorError):
    """Publishing would make something public the config keeps private: bad usage (exit 2)."""

    exit_code = 2


@dataclass
class Site:
    """What a publish run wrote: paths relative to the folder."""

    folder: Path
    topics: list[str]
    people: bool  # contacts' names are on it
    events: int = 0  # event calendars
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def publish(store: Store, settings: Settings, folder: Path, *, now: datetime, public: bool = False,
            force: bool = False) -> Site:
    """Write the static site to `folder` (created if need be); see the module doc."""
    if settings.feed.token and not (public or force):
        raise PublishRefused(
            "feed.token is set, but a static site checks no token: anyone who finds it reads it, and it names "
            "your contacts; publish with --public (people left out), or --force to publish everything anyway")
    site = Site(folder=folder, topics=list(settings.profile.topics), people=not public)
    write_site(folder, build_site(store, settings, site, now=now), site, force=force)
    return site


def build_site(store: Store, settings: Settings, site: Site, *, now: datetime) -> dict[str, bytes]:
    """Every file of the site, by its path relative to the folder (people left out unless `site.people`)."""
    public = not site.people
    topics = site.topics
    names = topic_names(topics)
    files: dict[str, bytes] = {}
    status = fetch_status(store)
    calendars: dict[str, bytes] = {}  # event id -> its VEVENT, as the feeds publish it
    listed: dict[str, Ranked] = {}
    pages: list[tuple[str | None, list[Ranked]]] = []
    for topic in [None, *topics]:
        built = feed_module.build(store, settings, now=now, topic=topic, public=public)
        site.warnings += [f"left out of {feed_module.feed_key(topic)}: {problem}" for problem in built.skipped]
        files[f"topics/{names[topic]}.ics" if topic else "feed.ics"] = built.body
        for event_id, vevent in built.vevents.items():
            calendars.setdefault(event_id, vevent)
        window = page_module.WINDOW
        items = ranking.upcoming(store, settings, now=now, days=window.days, limit=window.limit, topic=topic)
        if public:
            items = [feed_module.without_people(item) for item in items]
        listed.update((item.id, item) for item in items)
        pages.append((topic, items))
    event_files = event_names(listed)
    for event_id, item in listed.items():
        vevent = calendars.get(event_id) or feed_module.event_vevent(item)
        files[f"events/{event_files[event_id]}.ics"] = feed_module.single_calendar(settings, vevent)
    for topic, items in pages:  # the pages last: they link the files above
        links = page_module.Links(settings.feed.public_url, files=names, up="../" if topic else "",
                                  event_files=event_files)
        text = page_module.render(items, settings, links, now=now, window=page_module.WINDOW, topic=topic,
                                  status=status)
        files[f"topics/{names[topic]}.html" if topic else "index.html"] = text.encode("utf-8")
    site.events = len(listed)
    return files


def topic_names(topics: list[str]) -> dict[str, str]:
    """Each topic's file name: lower-case ASCII words joined by '-' ("machine learning" -> machine-learning),
    unique (a second "C++" and "C#" -> c-2)."""
    names: dict[str, str] = {}
    for topic in topics:
        ascii_text = unicodedata.normalize("NFKD", topic).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "topic"
        name, n = base, 1
        while name in names.values():
            n += 1
            name = f"{base}-{n}"
        names[topic] = name
    return names


def event_names(items: dict[str, Ranked]) -> dict[str, str]:
    """An event's file name: its id when that is a plain file name, else a digest of it."""
    return {ident: ident if SAFE_NAME.fullmatch(ident) else hashlib.sha256(ident.encode()).hexdigest()[:16]
            for ident in items}


# What marks a page this command wrote (the footer: sites published before the generator tag)
OUR_PAGE = (b'<meta name="generator" content="aggregator">', b"From aggregator; ranked on this machine.")


def write_site(folder: Path, files: dict[str, bytes], site: Site, *, force: bool = False) -> None:
    """Each changed file through a temporary file and a rename, pages last; then stale files removed.
    Files it did not write are never replaced or removed unless `force`: `publish ~/www` replaced the
    home page there and deleted the .html files of its events/ folder."""
    if folder.exists() and not folder.is_dir():
        raise PublishRefused(f"{folder} is a file, not a folder: give the folder the site goes to")
    foreign = [] if force or is_our_site(folder) else not_ours(folder, files)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise PublishRefused(f"{folder} holds files publish did not write ({shown}): give an empty folder or one "
                             "a previous publish wrote, or --force to replace them")
    pages_last = sorted(files, key=lambda path: (path == "index.html", path.endswith(".html"), path))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for relative in pages_last:
            if replace_if_changed(folder / relative, files[relative]):
                site.changed.append(relative)
            else:
                site.unchanged += 1
        for owned in OWNED:
            for path in sorted((folder / owned).glob("*")):
                relative = f"{owned}/{path.name}"
                if path.is_file() and path.suffix in (".ics", ".html") and relative not in files:
                    path.unlink()
                    site.removed.append(relative)
    except OSError as exc:
        raise AggregatorError(f"cannot write the site to {folder}: {exc.strerror or exc} "
                              f"({exc.filename or folder})") from None


def is_our_site(folder: Path) -> bool:
    """Whether the folder's index.html is a page this command wrote."""
    try:
        with open(folder / "index.html", "rb") as page:
            head = page.read(200_000)
    except OSError:
        return False
    return any(mark in head for mark in OUR_PAGE)


def not_ours(folder: Path, files: dict[str, bytes]) -> list[str]:
    """What publishing would replace or remove in a folder that holds no site of ours."""
    replaced = [relative for relative in files if (folder / relative).exists()]
    removed = [f"{owned}/{path.name}" for owned in OWNED if (folder / owned).is_dir()
               for path in sorted((folder / owned).glob("*")) if path.suffix in (".ics", ".html")]
    return sorted(set(replaced + removed))


def replace_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically unless it holds those bytes already; True when written."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # a web server reads it as another user
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True
