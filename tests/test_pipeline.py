"""The fetch run's own rules, with plugin-less fake kinds and the real store: time budget,
per-source cap, normalisation, contacts files that fail, health of a source that stored nothing."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from datetime import timedelta

from aggregator import address_books, config, pipeline
from aggregator.errors import AggregatorError, SourceError
from aggregator.health import source_health
from aggregator.model import Event, Person, Venue
from aggregator.store import Store, utc_text
from tests.conftest import NOW, write_config

ICS_HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"


class FakeKind:
    """A kind without a plugin package: `collect` is whatever the test gives."""

    kind = "fake"

    def __init__(self, collect):
        self.collect = collect


def setup(tmp_path, monkeypatch, kinds: dict, **overrides):
    """Settings with one source per entry of `kinds` (name -> its collect function); each
    source's kind is its own name, loaded without any plugin package."""
    sources = [{"name": name, "kind": name, "url": f"http://127.0.0.1:9/{name}.ics"} for name in kinds]
    settings = config.load(write_config(tmp_path, sources, **overrides), kinds=lambda: list(kinds))
    monkeypatch.setattr(pipeline, "load_source", lambda kind: FakeKind(kinds[kind]))
    return settings


def run(settings, **kw):
    store = Store(settings.database)
    try:
        return pipeline.run_fetch(settings, store, now=lambda: NOW, **kw), store
    except BaseException:
        store.close()
        raise


def event(uid: str, days: float = 3, **kw) -> Event:
    return Event(source_uid=uid, title=kw.pop("title", f"Event {uid}"), start=NOW + timedelta(days=days), **kw)


def test_a_parse_over_the_time_budget_fails_its_source_keeps_its_events_and_the_run_goes_on(tmp_path, monkeypatch):
    """Issue 11 #3b: fetch.deadline covers parsing, not only HTTP."""
    calls = {"n": 0}

    def slow(spec, http, ctx):
        calls["n"] += 1
        if calls["n"] == 1:  # the first run stores two events
            return [event("a"), event("b")]
        while True:  # a parse loop that never ends, checking the budget as kinds are told to
            time.sleep(0.01)
            ctx.check_deadline()

    def quick(spec, http, ctx):
        return [event("q")]

    settings = setup(tmp_path, monkeypatch, {"slow": slow, "quick": quick}, fetch={"deadline": 0.5})
    first, store = run(settings)
    assert first.exit_code == 0
    began = time.monotonic()
    second, _ = run(settings)
    assert time.monotonic() - began < 15
    failed = {s.name: s for s in second.sources}
    assert failed["slow"].error == ("took longer than 0.5 s to fetch and parse (fetch.deadline); "
                                    "its stored events are kept")
    assert failed["quick"].ok and second.exit_code == 1
    assert store.events.count("slow") == 2


def test_a_kind_that_parses_everything_before_returning_is_held_to_the_budget(tmp_path, monkeypatch):
    def busy(spec, http, ctx):
        time.sleep(0.6)  # never calls check_deadline
        return [event("a")]

    settings = setup(tmp_path, monkeypatch, {"busy": busy}, fetch={"deadline": 0.2})
    report, store = run(settings)
    assert "took longer than 0.2 s to fetch and parse" in report.sources[0].error
    assert store.events.count("busy") == 0


def test_at_most_the_cap_is_kept_nearest_first_with_a_warning(tmp_path, monkeypatch):
    """Issue 11 #2: an endless series cannot fill the database."""
    monkeypatch.setattr(pipeline, "MAX_EVENTS_PER_SOURCE", 100)

    def many(spec, http, ctx):
        for day in range(-300, 700):
            yield event(f"d{day}", days=day + 0.5)

    settings = setup(tmp_path, monkeypatch, {"many": many})
    report, store = run(settings)
    [source] = report.sources
    assert source.ok and source.events == 100 and source.new == 100
    assert any("1,000 occurrences; only the 100 nearest to now were kept" in w for w in source.warnings)
    with sqlite3.connect(settings.database) as db:
        uids = {r[0] for r in db.execute("select source_uid from events")}
    assert uids == {f"d{day}" for day in range(-50, 50)}


def test_an_endless_rrule_feed_is_capped(tmp_path, monkeypatch, server):
    """The real ics kind over HTTP: a few hundred bytes, an RRULE without end."""
    monkeypatch.setattr(pipeline, "MAX_EVENTS_PER_SOURCE", 200)
    body = (ICS_HEAD + "BEGIN:VEVENT\r\nUID:forever@x\r\nDTSTART:20250101T180000Z\r\nDURATION:PT1H\r\n"
            "RRULE:FREQ=DAILY\r\nSUMMARY:Every day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    url = server.add("/forever.ics", body)
    settings = config.load(write_config(tmp_path, [{"name": "forever", "kind": "ics", "url": url}]))
    report, store = run(settings)
    [source] = report.sources
    assert source.ok, source.error
    assert source.events == 200 and store.events.count("forever") == 200
    assert any("only the 200 nearest to now were kept" in w for w in source.warnings)
    with sqlite3.connect(settings.database) as db:
        first, last = db.execute("select min(start_utc), max(start_utc) from events").fetchone()
    next_one = NOW.replace(hour=18)  # 6 h after NOW; the one before is 18 h before: 100 kept on each side
    assert (first, last) == (utc_text(next_one - timedelta(days=100)), utc_text(next_one + timedelta(days=99)))


def test_every_event_is_normalised_before_it_is_stored(tmp_path, monkeypatch):
    """Issue 9 step 4: one normalisation step in the pipeline, whatever the kind yields."""
    dirty = event("x", title="CANCELLED - Rust \x1b[31mnight\x1b[0m\n", url="javascript:alert(1)",
                  end=NOW, group="Kind's group", venue=Venue("Hall\x07", lat=123.0, lon=45.0),
                  tags=("rust", "Rust", "\x00"),
                  attendees=(Person("Dana\rLee", "https://x.org/da na", "DANA@X.ORG"), Person(None, "ftp://x"),
                             Person("Kim", role="speaker")))

    settings = setup(tmp_path, monkeypatch, {"dirty": lambda spec, http, ctx: [dirty]})
    settings = dataclasses.replace(  # the source's `group:` override
        settings, sources=(dataclasses.replace(settings.sources[0], group="Configured group"),))
    report, store = run(settings)
    assert report.sources[0].ok, report.sources[0].error
    [stored] = store.events.between(start=NOW - timedelta(days=1), end=NOW + timedelta(days=10),
                                    include_cancelled=True)
    e = stored.event
    assert e.title == "Rust night" and e.status == "cancelled"
    assert e.url is None and e.end is None
    assert e.group == "Configured group"
    assert (e.venue.name, e.venue.lat, e.venue.lon) == ("Hall", None, None)
    assert e.tags == ("rust",)
    people = {(a.name, a.url, a.email, a.evidence) for a in store.attendance.of_events([stored.id])[stored.id]}
    assert people == {("DanaLee", None, "dana@x.org", "feed"), ("Kim", None, None, "speaker")}


def test_bad_contacts_files_are_named_skipped_and_the_sources_still_fetched(tmp_path, monkeypatch):
    """Issue 11 #4 / 12: a contacts file that is missing or breaks its parser never stops the fetch."""
    broken = tmp_path / "google.csv"
    broken.write_text("Name,E-mail 1 - Value\nDana,\rdana@x.org\n")
    missing = tmp_path / "gone.vcf"
    settings = setup(tmp_path, monkeypatch, {"src": lambda spec, http, ctx: [event("a")]},
                     profile={"topics": {"python": 1}, "contacts": [str(broken), str(missing)]})

    def parser_bug(store, path, **kw):
        if path.name == "google.csv":
            raise ValueError("new-line character seen in unquoted field \x1b]8;;http://evil\x07")
        raise AggregatorError(f"contacts file not found: {path}")

    monkeypatch.setattr(address_books, "import_file", parser_bug)
    report, store = run(settings)
    assert report.sources[0].ok and store.events.count("src") == 1
    assert report.exit_code == 1
    assert len(report.problems) == 2
    assert "google.csv" in report.problems[0] and "ValueError: new-line character" in report.problems[0]
    assert "\x1b" not in report.problems[0] and "\x07" not in report.problems[0]
    assert "gone.vcf" in report.problems[1] and "not found" in report.problems[1]
    assert report.problems[0] in report.notes  # the CLI prints notes on stderr


def test_a_source_whose_every_page_failed_is_not_ok(tmp_path, monkeypatch):
    """Issue 12 health: zero events and only warnings is a broken source, not a quiet one."""
    def all_pages_fail(spec, http, ctx):
        ctx.warn("https://x.org/e/1: HTTP 500")
        ctx.warn("https://x.org/e/2: HTTP 500")
        return []

    settings = setup(tmp_path, monkeypatch, {"pages": all_pages_fail})
    report, store = run(settings)
    [health] = source_health(settings, store, NOW)
    assert health["ok"] is False
    assert health["warning"].startswith("no events stored: every page it followed failed (2 warnings; first: ")
    assert report.sources[0].suspect == health["warning"]


def test_errors_and_warnings_are_stored_on_one_line_without_escapes(tmp_path, monkeypatch):
    """Issue 11 #7: a server's reason phrase or a parser's message cannot rewrite a terminal."""
    def hostile(spec, http, ctx):
        raise SourceError("HTTP 500 \x1b[2J\x1b]0;pwned\x07Bad\nGateway\r")

    settings = setup(tmp_path, monkeypatch, {"hostile": hostile})
    report, store = run(settings)
    stored = store.runs.source_rows()["hostile"]["last_error"]
    assert stored == "HTTP 500 Bad Gateway"
    with sqlite3.connect(settings.database) as db:
        errors = db.execute("select errors from fetch_runs").fetchone()[0]
    assert "\\u001b" not in errors and "Bad Gateway" in errors


def test_nothing_reads_the_clock_but_the_caller(tmp_path, monkeypatch):
    """Clock injected: a run at a pinned `now` stamps that time everywhere it writes."""
    settings = setup(tmp_path, monkeypatch, {"src": lambda spec, http, ctx: [event("a")]})
    report, store = run(settings)
    with sqlite3.connect(settings.database) as db:
        stamps = db.execute("select first_seen, updated_at from events").fetchone()
        run_row = db.execute("select started, finished from fetch_runs").fetchone()
    assert set(stamps) == set(run_row) == {"2026-12-01T12:00:00Z"}


def test_a_source_whose_input_held_far_more_than_it_read_is_not_ok_and_says_why(tmp_path, monkeypatch):
    """Issue 20: a kind tells ctx.count_input what its input held; reading none, or under half, is a
    `sources` warning though nothing failed; reading most of it is healthy."""
    def few(spec, http, ctx):
        ctx.warn("talk 'X': no start time; skipped")
        ctx.count_input(10, 3, "talks")
        return [event("a"), event("b"), event("c")]

    def most(spec, http, ctx):
        ctx.count_input(4, 2, "events")  # one page
        ctx.count_input(6, 6, "events")  # another: 8 of 10 in all
        return [event(str(n)) for n in range(8)]

    def none(spec, http, ctx):
        ctx.count_input(215, 0, "talks")
        return []

    settings = setup(tmp_path, monkeypatch, {"few": few, "most": most, "none": none})
    report, store = run(settings)
    assert report.exit_code == 0  # doubtful, not failed
    health = {h["name"]: h for h in source_health(settings, store, NOW)}
    assert health["few"]["warning"] == ("the input held 10 talks; only 3 were read "
                                        "(first warning: talk 'X': no start time; skipped)")
    assert health["few"]["ok"] is False and store.events.count("few") == 3
    assert health["most"]["warning"] is None and health["most"]["ok"] is True
    assert health["none"]["warning"] == "the input held 215 talks; none was read"
    assert health["none"]["ok"] is False
