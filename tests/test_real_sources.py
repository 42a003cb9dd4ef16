"""Every kind over ../shared/corpus/real-sources (MANIFEST.md there): each file's events read vs
what the file holds, read independently (bench/real_sources.py holds the readings; the bench runs
them over the whole fetch window, these tests over a narrower one to stay fast).

Skipped only when ../shared is absent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench import real_sources
from sources import eventbrite, jsonld
from tests.conftest import CORPUS, Cli, write_config

REAL = CORPUS / "real-sources"
pytestmark = [pytest.mark.corpus,
              pytest.mark.skipif(not REAL.is_dir(), reason="../shared/corpus/real-sources is not present")]


def files(folder: str, pattern: str) -> list:
    return sorted((REAL / folder).rglob(pattern)) if REAL.is_dir() else []


@pytest.mark.parametrize("path", files("fosdem", "*.xml"), ids=lambda p: p.name)
def test_every_fosdem_schedule_gives_every_talk_at_its_brussels_time(path):
    """Issue 20: 2007-2011 (event under day) gave 0 talks; 2013-2015 (no zone in the file) were read in
    the user's zone. Read by a Portland user, each talk is at the file's day + start in Brussels."""
    [row] = real_sources.schedule_rows(REAL, [path])
    assert row.held > 200
    assert row.read == row.held and row.matched == row.held, row
    assert row.note == ""  # no "names no time zone" warning: <city>Brussels</city> settles it


def test_the_sessionize_dump_gives_every_session():
    [row] = real_sources.sessionize_rows(REAL)
    assert row.held == row.read == row.matched == 15


@pytest.mark.parametrize("path", files("extruct-songkick", "*.html"), ids=lambda p: p.stem[:30])
def test_every_songkick_page_gives_what_extructs_golden_extraction_holds(path):
    [row] = real_sources.page_rows(REAL, [path])
    assert row.read == row.held and row.matched == row.held, row


@pytest.mark.parametrize("path", files("extruct-songkick", "*.html"), ids=lambda p: p.stem[:30])
def test_the_eventbrite_reader_finds_the_same_events_as_the_jsonld_one(path):
    """The two page kinds share schemaorg; the series rule of Eventbrite must not touch a page of gigs."""
    data = path.read_bytes()
    ours = jsonld.parse(data, "https://www.songkick.com/", ctx=real_sources.context())
    theirs = eventbrite.parse(data, "https://www.songkick.com/", ctx=real_sources.context())
    assert [(e.title, e.start, e.end) for e in theirs] == [(e.title, e.start, e.end) for e in ours]


@pytest.mark.parametrize("path", files("community-calendar", "*.ics"), ids=lambda p: f"{p.parent.name}/{p.stem[:40]}")
def test_every_ical_feed_gives_what_icalendar_and_recurring_ical_events_read(path, monkeypatch):
    """The ics kind (and the feed half of the meetup kind) over 96 real feeds, in the two months around
    the day they were fetched."""
    monkeypatch.setattr(real_sources, "WINDOW", (real_sources.FETCHED - timedelta(days=30),
                                                 real_sources.FETCHED + timedelta(days=30)))
    [row] = real_sources.ical_rows(REAL, paths=[path])
    assert row.held >= 0, row.note
    assert row.read == row.held and row.matched == row.held, row


def test_cli_the_2007_fosdem_schedule_is_stored_whole_and_healthy(tmp_path, server):
    """End to end over the real file: 215 talks stored, no warning; before, 0 stored and ok."""
    url = server.add("/2007/schedule/xml", (REAL / "fosdem" / "2007.xml").read_bytes(),
                     headers={"Content-Type": "application/xml"})
    cli = Cli(write_config(tmp_path, [{"name": "fosdem-2007", "kind": "schedule", "url": url}]))
    result = cli("fetch")
    assert result.returncode == 0, result.stderr
    [health] = cli.json("sources")
    assert health["events"] == 215 and health["warning"] is None and health["ok"] is True
