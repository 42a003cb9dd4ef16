"""The `schedule` kind: frab/pretalx schedule.json and pentabarf/frab schedule.xml."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from aggregator.errors import SourceError
from aggregator.http import Http
from aggregator.normalise import normalise
from aggregator.source import SourceSpec
from sources import schedule
from tests.conftest import CORPUS, Cli, fixture_bytes, make_ctx, write_config

FRAB_CAMP = CORPUS / "json" / "frab-schedule-chaos-communication-camp-2019.json"
PRETALX_RC3 = CORPUS / "json" / "pretalx-schedule-rc3-channels-2020.json"
BERLIN = ZoneInfo("Europe/Berlin")


def parse_fixture(name: str, **options):
    warnings: list[str] = []
    events = schedule.parse(fixture_bytes(f"schedule/{name}"), "https://conf.example.org/schedule.json",
                            ctx=make_ctx(warnings=warnings), **options)
    return {e.title: e for e in events}, warnings


def expected_start(day: dict, talk: dict, zone_name: str | None) -> datetime:
    """The talk's instant worked out from the file alone: the day's date + start, next day when the
    day runs past midnight and start is before the day's start, in the named zone or the talk's offset."""
    wall = datetime.combine(date.fromisoformat(day["date"]), time.fromisoformat(talk["start"]))
    day_start = datetime.fromisoformat(day["day_start"])
    if day["day_end"][:10] > day["date"] and wall.time() < day_start.time():
        wall += timedelta(days=1)
    if zone_name:
        return wall.replace(tzinfo=ZoneInfo(zone_name))
    sign, hours, minutes = re.search(r"([+-])(\d\d):(\d\d)$", talk["date"]).groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes)) * (1 if sign == "+" else -1)
    return wall.replace(tzinfo=timezone(offset))


@pytest.mark.corpus
@pytest.mark.parametrize("path, talks, speakers", [(FRAB_CAMP, 79, 96), (PRETALX_RC3, 48, 57)],
                         ids=["frab-camp2019", "pretalx-rc3"])
def test_corpus_schedules_every_talk_at_its_instant_with_its_speakers(path, talks, speakers):
    if not path.exists():
        pytest.skip("../shared/corpus is absent")
    raw = json.loads(path.read_bytes())["schedule"]["conference"]
    warnings: list[str] = []
    events = {e.source_uid: e for e in schedule.parse(path.read_bytes(), "", ctx=make_ctx(warnings=warnings))}
    assert warnings == []
    seen = 0
    for day in raw["days"]:
        for room, room_talks in day["rooms"].items():
            for talk in room_talks:
                seen += 1
                event = events[talk["guid"]]
                start = expected_start(day, talk, raw.get("time_zone_name"))
                assert event.start == start and event.start.utcoffset() == start.utcoffset(), talk["title"]
                assert event.start == datetime.fromisoformat(talk["date"])  # the file's own full stamp agrees
                hours, minutes = map(int, talk["duration"].split(":"))
                assert event.end.astimezone(timezone.utc) - start == timedelta(hours=hours, minutes=minutes)
                assert event.venue.name == f"{room}, {raw['title']}"
                assert event.group == raw["title"] and event.url == talk["url"]
                assert event.tags == ((talk["track"],) if talk["track"] else ())
                names = [" ".join(p["public_name"].split()) for p in talk["persons"]]
                assert [p.name for p in event.attendees] == names
                assert all(p.role == "speaker" for p in event.attendees)
    assert seen == len(events) == talks
    assert sum(len(e.attendees) for e in events.values()) == speakers


@pytest.mark.corpus
def test_corpus_pretalx_zone_missing_uses_each_talks_offset_and_links_speaker_pages():
    if not PRETALX_RC3.exists():
        pytest.skip("../shared/corpus is absent")
    assert json.loads(PRETALX_RC3.read_bytes())["schedule"]["conference"].get("time_zone_name") is None
    events = schedule.parse(PRETALX_RC3.read_bytes(), "", ctx=make_ctx())
    assert {e.start.utcoffset() for e in events} == {timedelta(hours=1)}
    assert all("\r" not in (e.description or "") for e in events)
    fiege = next(p for e in events for p in e.attendees if p.name == "Chris Fiege")
    assert fiege.url == "https://pretalx.rc3.studio/rc3-channels-2020/speaker/SCD9VJ/"


def test_xml_schedule_rooms_persons_cancelled_and_venue():
    events, warnings = parse_fixture("devroom_conference.xml")
    assert set(events) == {"Welcome to OSDD 2027", "Packaging Python without tears", "Night owls: lightning talks",
                           "Rust for Pythonistas: a workshop"}
    welcome = events["Welcome to OSDD 2027"]
    assert welcome.start == datetime(2027, 2, 6, 9, 30, tzinfo=ZoneInfo("Europe/Brussels"))
    assert welcome.end == datetime(2027, 2, 6, 10, 20, tzinfo=ZoneInfo("Europe/Brussels"))
    assert welcome.timezone == "Europe/Brussels"
    assert welcome.description == "Opening words by the organisers."  # HTML stripped
    assert welcome.venue.name == "Janson, Campus Solbosch" and welcome.venue.city == "Brussels"
    assert welcome.url == "https://osdd.example.org/2027/schedule/event/welcome/"  # relative url joined to base_url
    assert welcome.group == "Open Source Developer Days 2027" and welcome.tags == ("Keynotes",)
    assert [(p.name, p.role) for p in welcome.attendees] == [("Priya Raman", "speaker"), ("Tomás Ortega", "speaker")]
    assert welcome.source_uid == "3f8e1c9a-0b7e-4c59-9d7f-1a2b3c4d5e01"
    cancelled = events["Packaging Python without tears"]  # "CANCELLED: " marker taken off the title
    assert cancelled.status == "cancelled" and welcome.status == "confirmed"
    assert any("half past noon" in w and "skipped" in w for w in warnings)


def test_xml_talk_after_midnight_belongs_to_the_next_calendar_day():
    events, _ = parse_fixture("devroom_conference.xml")
    night = events["Night owls: lightning talks"]  # listed under 2027-02-06, whose day runs to 01:00
    assert night.start == datetime(2027, 2, 7, 0, 15, tzinfo=ZoneInfo("Europe/Brussels"))
    assert night.description == "Five minutes each\n\nShort talks after midnight."


def test_dst_night_times_and_lengths_are_real_time():
    events, warnings = parse_fixture("dst_and_past_midnight.json")
    assert warnings == []
    before = events["Before the clocks change"]
    assert before.start == datetime(2027, 3, 27, 23, 30, tzinfo=BERLIN)
    across = events["Across the DST gap"]  # 01:30 CET, listed under the 27th; one real hour later is 03:30 CEST
    assert across.start.isoformat() == "2027-03-28T01:30:00+01:00"
    assert across.end.isoformat() == "2027-03-28T03:30:00+02:00"
    assert across.end.astimezone(timezone.utc) - across.start == timedelta(hours=1)  # in UTC: real time
    after = events["After the change"]
    assert after.start.isoformat() == "2027-03-28T03:00:00+02:00"
    assert after.description == "Summer time now."
    assert events["Sunday morning"].start.isoformat() == "2027-03-28T10:00:00+02:00"


def test_zone_missing_uses_talk_offset_then_option_then_the_city_of_the_title():
    """No time_zone_name: each talk's own offset; a talk without one is read in the city the
    title names ("DevConf Chicago 2027"), with a warning saying so (the config's zone when no
    city is named: see the Springfield test below)."""
    events, warnings = parse_fixture("no_time_zone_name.json")
    typed = events["Typed Python at scale"]
    assert typed.start.isoformat() == "2027-06-10T09:00:00-05:00"
    assert typed.timezone == "America/Chicago"  # its offset is Chicago's at that moment: the zone is named
    undated = events["A talk without a date"]  # no offset of its own: the title's city, not Portland
    assert undated.start.isoformat() == "2027-06-10T11:00:00-05:00"
    assert any("America/Chicago" in w and "'DevConf Chicago 2027'" in w for w in warnings)
    with_option, _ = parse_fixture("no_time_zone_name.json", timezone="America/Chicago")
    assert with_option["A talk without a date"].start.isoformat() == "2027-06-10T11:00:00-05:00"
    assert with_option["Typed Python at scale"].timezone == "America/Chicago"  # same offset: the zone is named
    assert events["Withdrawn talk"].status == "cancelled"  # state: canceled
    assert any("no title" in w for w in warnings) and len(events) == 3
    assert [p.url for p in typed.attendees] == ["https://pretalx.example.org/devconf-2027/speaker/PR1YA0/",
                                                "https://pretalx.example.org/devconf-2027/speaker/JG0001/"]


def test_schedule_2_flat_events_with_iso_start_end_and_participants():
    day = {"index": 0, "date": "2027-12-27", "start": "2027-12-27T10:00:00+01:00", "end": "2027-12-28T03:00:00+01:00"}
    talk = {"guid": "e1", "title": "Late talk", "start": "2027-12-28T01:00:00+01:00",
            "end": "2027-12-28T01:45:00+01:00", "room": {"name": "Saal Zuse", "guid": "r1"},
            "url": "https://hub.example.org/event/e1/", "track": "Hardware",
            "participants": [{"name": "Lena Vogel", "role": "speaker"}, {"name": "Stage Crew", "role": "angel"}]}
    body = json.dumps({"schedule": {"version": "2", "events": [talk], "conference": {
        "acronym": "hub2027", "title": "Hub Conf", "time_zone_name": "Europe/Berlin", "days": [day],
        "start": "2027-12-27T10:00:00+01:00", "end": "2027-12-30T18:00:00+01:00"}}})
    [event] = schedule.parse(body.encode(), "", ctx=make_ctx())
    assert event.start.isoformat() == "2027-12-28T01:00:00+01:00"
    assert event.end.isoformat() == "2027-12-28T01:45:00+01:00"
    assert event.venue.name == "Saal Zuse, Hub Conf" and event.tags == ("Hardware",)
    assert [(p.name, p.role) for p in event.attendees] == [("Lena Vogel", "speaker")]


def test_bad_timezone_option_is_a_clear_error():
    with pytest.raises(SourceError, match="option timezone: unknown time zone 'Mars/Olympus'"):
        parse_fixture("no_time_zone_name.json", timezone="Mars/Olympus")


def test_source_uids_are_stable_between_runs():
    first, _ = parse_fixture("devroom_conference.xml")
    second, _ = parse_fixture("devroom_conference.xml")
    assert {t: e.source_uid for t, e in first.items()} == {t: e.source_uid for t, e in second.items()}


@pytest.mark.parametrize("body, message", [
    (b"", "neither JSON nor XML"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "neither JSON nor XML"),
    (b"<html><body>Schedule coming soon</body></html>", "expected <schedule>"),
    (b"<schedule><conference><title>x", "XML does not parse"),
    (b'{"schedule": {"version": "1"}}', "no schedule.conference.days"),
    (b"[1, 2, 3]", "no schedule.conference.days"),
    (b'{"sessions": [], "speakers": []}', "no schedule.conference.days"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_garbage_is_a_source_error_that_says_what_is_wrong(body, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        schedule.parse(body, "https://conf.example.org/schedule.json", ctx=make_ctx())


def test_fields_of_the_wrong_type_skip_that_talk_or_that_field_only():
    talks = [
        {"title": "Fine talk", "start": "10:00", "duration": "00:30", "guid": "g1",
         "persons": [5, "x", {"public_name": {"a": 1}}, {"public_name": "Ana Lima"}]},
        {"title": "Persons is a number", "start": "11:00", "duration": "99:99", "guid": "g2", "persons": 5,
         "track": ["a"], "url": 5},
        {"title": {"de": "Ein Vortrag", "en": "A talk"}, "start": "12:00", "guid": "g3",
         "abstract": {"de": "Nur deutsch"}},  # per-language text, as newer pretalx exports give it
        {"title": "No usable time", "start": "noon", "date": "2027-99-01T10:00:00+01:00", "guid": "g4"},
    ]
    body = json.dumps({"schedule": {"conference": {"title": "Odd Conf", "time_zone_name": ["x"], "days": [
        {"date": "2027-05-01", "rooms": {"A": talks, "B": "not a list"}}, 5, {"rooms": "x"}]}}}).encode()
    warnings: list[str] = []
    events = {e.source_uid: e for e in schedule.parse(body, "", ctx=make_ctx(warnings=warnings))}
    assert [p.name for p in events["g1"].attendees] == ["Ana Lima"]
    assert events["g2"].attendees == () and events["g2"].end is None and events["g2"].url is None
    assert events["g3"].title == "A talk" and events["g3"].description == "Nur deutsch"
    assert "g4" not in events and any("No usable time" in w for w in warnings)
    assert any("unknown time zone" in w for w in warnings)


def test_xml_external_entities_are_not_resolved(tmp_path):
    """Guards against XXE: a schedule.xml must not read local files into event text."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE schedule [<!ENTITY leak SYSTEM "file://{secret}">]>
<schedule><conference><title>Leak &leak;</title></conference>
<day date="2027-01-01"><room name="A"><event id="1"><start>10:00</start><duration>00:30</duration>
<title>Talk &leak;</title></event></room></day></schedule>""".encode()
    events = schedule.parse(body, "", ctx=make_ctx())
    assert len(events) == 1 and "TOP-SECRET" not in events[0].title and "TOP-SECRET" not in (events[0].group or "")


def test_parse_stops_at_the_deadline():
    ctx = make_ctx()
    ctx.deadline = 0.0  # already spent
    with pytest.raises(SourceError, match="time budget"):
        schedule.parse(fixture_bytes("schedule/devroom_conference.xml"), "", ctx=ctx)


def test_collect_fetches_over_http_and_follows_options(server):
    url = server.add("/osdd/schedule.xml", fixture_bytes("schedule/devroom_conference.xml"),
                     headers={"Content-Type": "application/xml"})
    spec = SourceSpec(name="osdd", kind="schedule", url=url, group="OSDD", options={"venue": "ULB"})
    http = Http()
    try:
        events = schedule.ScheduleSource().collect(spec, http, make_ctx())
    finally:
        http.close()
    assert len(events) == 4 and {e.venue.name.split(", ")[-1] for e in events} == {"ULB"}
    assert {normalise(e, spec).group for e in events} == {"OSDD"}  # the source's group: wins over the conference title
    assert schedule.ScheduleSource.full_snapshot is True
    assert schedule.ScheduleSource.options == {"timezone": str, "venue": str}


def test_cli_fetch_then_upcoming_lists_talks(tmp_path, server):
    url = server.add("/devconf/schedule.json", fixture_bytes("schedule/dst_and_past_midnight.json"),
                     headers={"Content-Type": "application/json"})
    cli = Cli(write_config(tmp_path, [{"name": "nightconf", "kind": "schedule", "url": url}]))
    result = cli("fetch")
    assert result.returncode == 0, result.stderr
    events = {e["title"]: e for e in cli.json("upcoming", "--limit", "0", "--days", "200")}
    assert set(events) == {"Before the clocks change", "Across the DST gap", "After the change", "Sunday morning"}
    across = events["Across the DST gap"]
    assert across["start"] == "2027-03-28T01:30:00+01:00" and across["end"] == "2027-03-28T03:30:00+02:00"
    assert across["location"] == "Saal 1, Night Conf 2027" and across["group"] == "Night Conf 2027"
    assert across["timezone"] == "Europe/Berlin"


def test_cli_garbage_schedule_fails_only_that_source_without_traceback(tmp_path, server):
    url = server.add("/broken/schedule.json", b"<html>Not found, try later</html>",
                     headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [{"name": "broken-conf", "kind": "schedule", "url": url}]))
    result = cli("fetch")
    assert "Traceback" not in result.stderr + result.stdout
    assert "not a conference schedule" in result.stdout + result.stderr


OLD_PENTABARF = b"""<?xml version="1.0" encoding="UTF-8"?>
<schedule>
  <conference><title>FOSDEM 2008</title><venue>ULB (Universit\xc3\xa9 Libre de Bruxelles)</venue>
    <city>%(city)s</city><start>2008-02-23</start><end>2008-02-24</end></conference>
  <day index="1" date="2008-02-23">
  <event id="11"><start>15:00</start><duration>00:45</duration><room>Chavanne</room>
    <title>%(title)s</title><track>Desktop</track><persons><person id="1">Ada Lovelace</person></persons></event>
  <event id="12"><start>16:00</start><duration>01:00</duration><room>Janson</room>
    <title>CANCELLED Kernel news</title><track>Kernel</track></event>
  </day>
</schedule>"""


def old_layout(city: str = "Brussels", title: str = "AIGLX") -> bytes:
    return OLD_PENTABARF % {b"city": city.encode(), b"title": title.encode()}


def test_the_old_pentabarf_layout_each_event_under_its_day_with_a_room_child_is_read():
    """Issue 20: FOSDEM 2007-2012 have no <room name=...> wrapper; they gave 0 talks, reported ok."""
    warnings: list[str] = []
    ctx = make_ctx(warnings=warnings)
    events = {e.title: e for e in schedule.parse(old_layout(), "", ctx=ctx)}
    assert set(events) == {"AIGLX", "Kernel news"}
    aiglx = events["AIGLX"]
    assert aiglx.venue.name == "Chavanne, ULB (Université Libre de Bruxelles)" and aiglx.tags == ("Desktop",)
    assert [p.name for p in aiglx.attendees] == ["Ada Lovelace"]
    assert events["Kernel news"].status == "cancelled" and events["Kernel news"].venue.name.startswith("Janson")
    assert ctx.counts == {"talks": [2, 2]} and ctx.shortfall() is None
    assert warnings == []


def test_a_zoneless_schedule_is_read_in_the_city_it_names_not_the_users_zone():
    """Issue 20: FOSDEM 2013-2024 carry no zone; <city>Brussels</city> places them (9 hours off for a
    Portland user otherwise), and the `timezone` option still wins."""
    warnings: list[str] = []
    [talk, _] = schedule.parse(old_layout(), "", ctx=make_ctx(warnings=warnings))
    assert talk.start == datetime(2008, 2, 23, 15, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    assert talk.timezone == "Europe/Brussels" and warnings == []
    [chosen, _] = schedule.parse(old_layout(), "", ctx=make_ctx(), timezone="Europe/Lisbon")
    assert chosen.timezone == "Europe/Lisbon"


@pytest.mark.parametrize("city", ["Springfield", "Cordoba", ""])
def test_a_zoneless_schedule_whose_city_places_nothing_warns_naming_the_zone_it_used(city):
    warnings: list[str] = []
    [talk, _] = schedule.parse(old_layout(city), "", ctx=make_ctx(warnings=warnings))
    assert talk.timezone == "America/Los_Angeles"
    [warning] = warnings
    assert "names no time zone" in warning and "America/Los_Angeles" in warning and "timezone:" in warning
    assert (repr(city) in warning) == bool(city)


def test_a_schedule_whose_talks_cannot_be_read_says_so_through_the_context():
    """No talk has a start: the kind reports 2 talks held, 0 read, which the pipeline shows as a warning."""
    ctx = make_ctx()
    data = old_layout().replace(b"<start>15:00</start>", b"").replace(b"<start>16:00</start>", b"")
    assert schedule.parse(data, "", ctx=ctx) == []
    assert ctx.shortfall() == "the input held 2 talks; none was read"


def test_cli_a_schedule_that_held_talks_and_gave_none_is_a_sources_warning(tmp_path, server):
    """End to end: fetch exits 0 (nothing failed), but `sources --json` says why it is doubtful."""
    data = old_layout().replace(b"<start>15:00</start>", b"<start>later</start>").replace(b"<start>16:00</start>", b"")
    url = server.add("/fosdem/schedule.xml", data, headers={"Content-Type": "application/xml"})
    cli = Cli(write_config(tmp_path, [{"name": "fosdem", "kind": "schedule", "url": url}]))
    result = cli("fetch")
    assert result.returncode == 0, result.stderr
    assert "the input held 2 talks; none was read" in result.stderr
    [health] = cli.json("sources")
    assert health["ok"] is False
    assert health["warning"].startswith("the input held 2 talks; none was read (first warning: talk 'AIGLX': no start")


def test_talks_in_a_layout_the_reader_does_not_know_are_still_counted_as_held():
    """Every <event> of the file counts: talks grouped under some other element are a shortfall, not ok."""
    ctx = make_ctx()
    data = (b"<schedule><conference><title>X</title><city>Brussels</city></conference>"
            b"<track name='a'><event id='1'><start>10:00</start><title>T</title></event></track></schedule>")
    assert schedule.parse(data, "", ctx=ctx) == []
    assert ctx.shortfall() == "the input held 1 talks; none was read"


def test_a_zoneless_schedule_whose_title_names_a_city_is_read_there_with_a_warning_naming_it():
    warnings: list[str] = []
    data = old_layout("").replace(b"<title>FOSDEM 2008</title>", b"<title>PyData Buenos Aires 2008</title>")
    [talk, _] = schedule.parse(data, "", ctx=make_ctx(warnings=warnings))
    assert talk.timezone == "America/Argentina/Buenos_Aires"
    [warning] = warnings
    assert "America/Argentina/Buenos_Aires" in warning and "'PyData Buenos Aires 2008'" in warning
