"""The user's own calendar: matching (pure), the `profile.calendars` key, redaction, and the fetch step
on local files with the real store (the HTTP path and the CLI: test_calendars_e2e)."""

import sqlite3
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from aggregator import config, pipeline
from aggregator.calendars import match_calendar, redact_text, redact_url
from aggregator.dedup import Listing
from aggregator.model import Event, Person, Venue
from aggregator.store import Store
from tests.conftest import write_config

TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def listing(id_, start, title, **kw):
    return Listing(id=id_, source=kw.pop("source", "pdx-python"), start=start, title=title, **kw)


def mine(uid, start, title, **kw):
    return Event(source_uid=uid, title=title, start=start, end=start + timedelta(hours=2), **kw)


def test_a_past_entry_of_the_same_meetup_is_a_visit_with_the_people_it_lists():
    start = datetime(2026, 11, 5, 18, 30, tzinfo=TZ)
    stored = [listing("e1", start, "PDX Python: Typing in practice", group="PDX Python", venue="Puppet Labs"),
              listing("e2", start + timedelta(days=7), "PDX Python: Packaging", group="PDX Python")]
    dana = Person(name="Dana Lee", email="dana@example.org")
    entry = mine("g-1", start.astimezone(timezone.utc), "Typing in practice", venue=Venue(name="Puppet Labs"),
                 attendees=(dana,))
    [match] = match_calendar([entry], stored, now=NOW, tz=TZ)
    assert match.event_id == "e1" and match.past and match.people == (dana,)


def test_a_future_entry_says_the_user_is_going():
    start = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    stored = [listing("e3", start, "Rust hack night: async", group="PDX Rust", url="https://example.org/events/77")]
    entry = mine("g-2", start + timedelta(minutes=5), "Going: rust thing", url="https://example.org/events/77")
    [match] = match_calendar([entry], stored, now=NOW, tz=TZ)
    assert match.event_id == "e3" and not match.past


def test_private_entries_that_match_nothing_are_not_events():
    start = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    stored = [listing("e1", start, "PDX Python: Typing in practice", group="PDX Python")]
    assert match_calendar([mine("dentist", start, "Dentist appointment")], stored, now=NOW, tz=TZ) == []


def test_a_shared_group_page_url_is_not_decisive():
    start = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    group_page = "https://example.org/pdx-python/"
    stored = [listing("e4", start, "Lightning talks", url=group_page),
              listing("e5", start + timedelta(hours=3), "Board meeting", url=group_page)]
    entry = mine("g-3", start + timedelta(hours=3), "Dinner with family", url=group_page)
    assert match_calendar([entry], stored, now=NOW, tz=TZ) == []


def test_a_cancelled_personal_entry_never_matches():
    start = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    stored = [listing("e6", start, "PDX Python: Typing in practice")]
    entry = mine("g-4", start, "PDX Python: Typing in practice", status="cancelled")
    assert match_calendar([entry], stored, now=NOW, tz=TZ) == []


def test_all_day_entries_match_all_day_listings_only():
    day = date(2026, 12, 12)
    start = datetime(2026, 12, 12, 0, 0, tzinfo=TZ)
    stored = [listing("conf", start, "PyCascades 2026 conference", all_day=True),
              listing("talk", start + timedelta(minutes=10), "PyCascades 2026 conference", source="other")]
    entry = Event(source_uid="g-5", title="PyCascades 2026 conference", start=day, end=day + timedelta(days=1),
                  all_day=True)
    [match] = match_calendar([entry], stored, now=NOW, tz=TZ)
    assert match.event_id == "conf"


GOOGLE = "https://calendar.google.com/calendar/ical/me%40gmail.com/private-0a1b2c3d4e5f/basic.ics"


def test_a_secret_address_is_shown_as_scheme_and_host_only():
    assert redact_url(GOOGLE) == "https://calendar.google.com/…"
    assert redact_url("webcal://outlook.office365.com/owa/calendar/abc/def/reachcalendar.ics") == \
        "webcal://outlook.office365.com/…"
    assert redact_url("file:///home/me/cal/work.ics") == "work.ics"
    # an error message naming the address, or a redirect's target with its own token, is redacted too
    message = f"cannot fetch {GOOGLE}: redirected to https://accounts.example/login?token=s3cr3t"
    assert redact_text(message, GOOGLE) == \
        "cannot fetch https://calendar.google.com/…: redirected to https://accounts.example/…"


def load(tmp_path, calendars):
    return config.load(write_config(tmp_path, [], profile={"calendars": calendars}), kinds=lambda: ["ics"])


def test_calendars_key_takes_urls_and_files_relative_to_the_config(tmp_path):
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "work.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    settings = load(tmp_path, [GOOGLE, "cal/work.ics", "webcal://example.org/me.ics"])
    assert settings.profile.calendars == (GOOGLE, (tmp_path / "cal" / "work.ics").as_uri(), "https://example.org/me.ics")
    assert settings.sources == ()  # a personal calendar is never a source
    assert "private-" not in repr(settings)  # a logged or printed Settings never shows the secret address
    assert load(tmp_path, GOOGLE).profile.calendars == (GOOGLE,)  # one calendar alone is a list of one


def test_a_file_url_calendar_is_read_at_its_decoded_path(tmp_path):
    (tmp_path / "my cal").mkdir()
    (tmp_path / "my cal" / "work.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    url = (tmp_path / "my cal" / "work.ics").as_uri()  # file:///.../my%20cal/work.ics
    assert "%20" in url and load(tmp_path, [url]).profile.calendars == (url,)
    with pytest.raises(config.ConfigProblems, match=r"profile.calendars\[0\]: file not found: .*my cal/gone.ics"):
        load(tmp_path, [url.replace("work.ics", "gone.ics")])


@pytest.mark.parametrize("calendars, key, words", [
    (["missing.ics"], "profile.calendars[0]", "file not found"),
    ([GOOGLE, "ftp://example.org/private-0a1b2c3d4e5f.ics"], "profile.calendars[1]", "not ftp:"),
    (["https:///private-0a1b2c3d4e5f/basic.ics"], "profile.calendars[0]", "no host"),
    ([{"url": GOOGLE}], "profile.calendars[0]", "calendar URL or a file"),
    ({"work": GOOGLE}, "profile.calendars", "a list"),
])
def test_a_bad_calendar_is_a_config_error_naming_the_key_and_never_the_secret(tmp_path, calendars, key, words):
    with pytest.raises(config.ConfigProblems) as caught:
        load(tmp_path, calendars)
    text = str(caught.value)
    assert f"{key}: " in text and words in text
    assert "private-0a1b2c3d4e5f" not in text


def ics(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def vevent(uid: str, start: str, title: str, *lines: str) -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261001T000000Z\r\nDTSTART:{start}\r\n"
            f"SUMMARY:{title}\r\nLOCATION:Puppet Labs\r\n" + "".join(f"{x}\r\n" for x in lines) + "END:VEVENT\r\n")


def test_a_cross_posted_meetup_is_credited_to_its_canonical_event(tmp_path):
    """Two sources list one upcoming meetup (merged); the personal entry's evidence lands on the canonical event,
    read from a local file (no HTTP), with its contact found by email."""
    talk = "Typing in practice with mypy"
    (tmp_path / "meetup.ics").write_text(ics(vevent("m1", "20261211T023000Z", f"PDX Python: {talk}")))
    (tmp_path / "luma.ics").write_text(ics(vevent("l1", "20261211T023000Z", talk)))
    (tmp_path / "mine.ics").write_text(ics(vevent("p1", "20261211T023500Z", talk,
                                                  "ATTENDEE;CN=D. Lee:mailto:dana@example.org")))
    (tmp_path / "contacts.csv").write_text("First Name,Last Name,E-mail 1 - Value\nDana,Lee,dana@example.org\n")
    sources = [{"name": "meetup", "kind": "ics", "url": "meetup.ics", "group": "PDX Python", "priority": 1},
               {"name": "luma", "kind": "ics", "url": "luma.ics"}]
    settings = config.load(write_config(tmp_path, sources, profile={"contacts": ["contacts.csv"],
                                                                    "calendars": ["mine.ics"]}))
    store = Store(settings.database)
    try:
        report = pipeline.run_fetch(settings, store, now=lambda: NOW)
        assert report.exit_code == 0, report.notes
        assert "your calendar mine.ics: 0 past and 1 upcoming events matched" in report.notes
        ids = [row[0] for row in store.database.conn.execute("select id from events")]
        going = store.personal.going(ids)
        assert len(ids) == 2 and going == {store.personal.canonical(ids)[ids[0]][0]}  # the canonical one only
    finally:
        store.close()
    with sqlite3.connect(settings.database) as db:
        canonical = {row[0] for row in db.execute("select canonical_id from events")}
        assert len(canonical) == 1  # the two listings were merged
        rows = db.execute("select event_id, contact_id, status from attendance where evidence = 'manual'").fetchall()
        assert rows == [(canonical.pop(), 1, "going")]
        assert db.execute("select last_contacted from contacts").fetchone()[0] is None  # going is not meeting


def test_a_calendar_over_the_size_cap_is_named_and_the_sources_still_stored(tmp_path):
    (tmp_path / "meetup.ics").write_text(ics(vevent("m1", "20261211T023000Z", "PDX Python: Typing in practice")))
    (tmp_path / "huge.ics").write_text(ics(*(vevent(f"p{i}", "20261211T023000Z", "Busy") for i in range(400))))
    settings = config.load(write_config(tmp_path, [{"name": "meetup", "kind": "ics", "url": "meetup.ics"}],
                                        profile={"calendars": ["huge.ics"]}, fetch={"max_bytes": 20_000}))
    store = Store(settings.database)
    try:
        report = pipeline.run_fetch(settings, store, now=lambda: NOW)
        assert report.exit_code == 1 and report.sources[0].ok and report.sources[0].new == 1
        assert any(p.startswith("calendar not read: huge.ics: ") and "cap" in p for p in report.problems)
        assert store.personal.going([e.id for e in store.events.between(start=NOW, end=NOW + timedelta(days=30))]) \
            == set()
    finally:
        store.close()


def test_a_store_failure_while_writing_the_evidence_is_a_named_problem_not_a_traceback(tmp_path, monkeypatch):
    (tmp_path / "meetup.ics").write_text(ics(vevent("m1", "20261211T023000Z", "PDX Python: Typing in practice")))
    (tmp_path / "mine.ics").write_text(ics(vevent("p1", "20261211T023000Z", "PDX Python: Typing in practice")))
    settings = config.load(write_config(tmp_path, [{"name": "meetup", "kind": "ics", "url": "meetup.ics"}],
                                        profile={"calendars": ["mine.ics"]}))
    store = Store(settings.database)

    def full(*_args, **_kw):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.personal, "replace", full)
    try:
        report = pipeline.run_fetch(settings, store, now=lambda: NOW)
        assert report.exit_code == 1 and report.sources[0].new == 1
        assert report.problems == ["evidence from your calendars not stored: OperationalError: database or disk is full"]
    finally:
        store.close()
