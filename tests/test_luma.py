"""The `luma` kind: event pages (JSON-LD and embedded data with hosts) and calendar feeds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sources import luma
from tests.conftest import CORPUS, Cli, fixture_bytes, make_ctx, write_config

UTC = timezone.utc


def test_online_event_page_with_hosts():
    [e] = luma.parse(fixture_bytes("html/luma_online_event_utc_millis.html"), "https://lu.ma/ai-builders-dec",
                     ctx=make_ctx())
    assert e.title == "AI Builders Online" and e.online
    assert e.start == datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    assert e.timezone == "America/Los_Angeles"
    assert e.group == "Portland AI Builders"
    assert [(p.name, p.url) for p in e.attendees] == [("Mei Wang", "https://lu.ma/user/meiwang"), ("Omar Said", None)]
    assert e.url == "https://lu.ma/ai-builders-dec"


def test_calendar_ics_and_page_through_the_cli(tmp_path, server):
    server.add("/ics/get", fixture_bytes("ics/meetup_group_feed.ics"))
    server.add("/ai-builders-dec", fixture_bytes("html/luma_online_event_utc_millis.html"),
               headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [
        {"name": "luma-cal", "kind": "luma", "url": server.url("/ics/get") + "?entity=calendar&id=cal-1"},
        {"name": "luma-page", "kind": "luma", "url": server.url("/ai-builders-dec")},
    ]))
    assert cli("fetch").returncode == 0
    titles = {e["title"] for e in cli.json("upcoming", "--limit", "0", "--days", "60")}
    assert {"Typing in practice", "AI Builders Online"} <= titles


# -- Luma's own calendar export (issue 20) -------------------------------------------------------
LUMA_EXPORT = CORPUS / "ics" / "luma-calendar-network-school.ics"
WIDE = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def hosts(event) -> list[tuple[str, str, str | None, str | None]]:
    return [(p.name, p.status, p.role, p.email) for p in event.attendees]


def test_a_luma_export_names_its_hosts_and_its_calendar_is_the_group():
    events = {e.title: e for e in luma.parse_calendar(fixture_bytes("ics/luma_calendar_export_hosts.ics"),
                                                      "https://api.lu.ma/ics/get", ctx=make_ctx(window=WIDE))}
    monthly = events["Builders monthly: caches & queues"]
    # ORGANIZER and "Hosted by" name the same people once; Luma's relay address is nobody's email.
    assert hosts(monthly) == [("Sam Ortiz", "going", "host", None), ("Priya Raman", "going", "host", None)]
    assert hosts(events["Typing in practice"]) == [("Mei Wang", "going", "host", None),
                                                   ("PDX Builders", "going", "host", None)]  # "& 3 others" is no one
    assert hosts(events["Rust night (listed from another site)"]) == [("Rust PDX", "going", "host", None)]
    assert {e.group for e in events.values()} == {"PDX Builders"}  # not each ORGANIZER


def test_another_calendars_organizer_is_still_no_host():
    text = fixture_bytes("ics/luma_calendar_export_hosts.ics").decode()
    plain = text.replace("-//Luma//", "-//Example//").replace("@events.lu.ma", "@example.org") \
        .replace("calendar-invite@lu.ma", "events@example.org")
    events = luma.parse_calendar(plain.encode(), "", ctx=make_ctx(window=WIDE))
    assert all(not e.attendees for e in events)
    assert {e.group for e in events} == {"PDX Builders"}  # one organiser address: the calendar, as before


@pytest.mark.corpus
def test_the_real_luma_export_gives_hosts_not_mentions_and_one_group():
    if not LUMA_EXPORT.exists():
        pytest.skip("../shared/corpus/ics is absent")
    data = LUMA_EXPORT.read_bytes()
    events = luma.parse_calendar(data, "https://api.lu.ma/ics/get", ctx=make_ctx(window=WIDE))
    assert len(events) == data.count(b"BEGIN:VEVENT") == 291
    assert {e.group for e in events} == {"Network School"}
    assert all(e.attendees and {p.role for p in e.attendees} == {"host"} for e in events)
    assert not any(p.email for e in events for p in e.attendees)
    brazil = next(e for e in events if e.title == "Network States Brazil Meetup #13")
    assert [p.name for p in brazil.attendees] == ["Jean Hansen", "Ariel Amar"]


def test_a_contact_hosting_on_luma_is_host_evidence_through_the_cli(tmp_path, server):
    url = server.add("/ics/get", fixture_bytes("ics/luma_calendar_export_hosts.ics"),
                     headers={"Content-Type": "text/calendar"})
    cli = Cli(write_config(tmp_path, [{"name": "builders", "kind": "luma",
                                       "url": url + "?entity=calendar&id=cal-1"}]))
    (tmp_path / "Connections.csv").write_text(
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Priya,Raman,https://www.linkedin.com/in/priya-raman,,Acme,Engineer,12 Mar 2021\n", encoding="utf-8")
    assert cli("contacts", "import", str(tmp_path / "Connections.csv")).returncode == 0
    assert cli("fetch").returncode == 0
    by_title = {e["title"]: e for e in cli.json("upcoming", "--limit", "0", "--days", "60")}
    monthly = by_title["Builders monthly: caches & queues"]
    assert [(c["name"], c["evidence"], c["probability"]) for c in monthly["contacts"]] == [("Priya Raman", "host", 0.9)]
    assert monthly["group"] == "PDX Builders"
