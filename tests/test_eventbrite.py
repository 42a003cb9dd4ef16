"""The `eventbrite` kind: organizer and event pages through their JSON-LD."""

from __future__ import annotations

from sources import eventbrite
from tests.conftest import Cli, fixture_bytes, make_ctx, write_config


def test_event_page_graph_subtype():
    [e] = eventbrite.parse(fixture_bytes("html/eventbrite_graph_business_event.html"),
                           "https://www.eventbrite.com/e/portland-tech-mixer-tickets-555", ctx=make_ctx())
    assert e.title == "Portland Tech Mixer" and e.group == "PDX Tech Collective"
    assert e.description == "Meet founders & engineers."


def test_organizer_page_follows_event_links(tmp_path, server):
    server.add("/o/pdx-tech-123", b'<html><body><a href="/e/portland-tech-mixer-tickets-555">Mixer</a>'
                                     b'<a href="/e/another-mixer-tickets-777">Sold out</a></body></html>',
               headers={"Content-Type": "text/html"})
    server.add("/e/portland-tech-mixer-tickets-555", fixture_bytes("html/eventbrite_graph_business_event.html"),
               headers={"Content-Type": "text/html"})
    server.add("/e/another-mixer-tickets-777", b"gone", 404)
    cli = Cli(write_config(tmp_path, [{"name": "eb", "kind": "eventbrite", "url": server.url("/o/pdx-tech-123")}]))
    result = cli("fetch")
    assert result.returncode == 0
    assert "HTTP 404" in result.stderr  # one dead event page: a warning, not a failure
    assert [e["title"] for e in cli.json("upcoming", "--days", "30")] == ["Portland Tech Mixer"]


import json  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

LONDON = ZoneInfo("Europe/London")
PUB = {"@type": "Place", "name": "The Sebright Arms",
       "address": {"@type": "PostalAddress", "streetAddress": "31-35 Coate Street", "addressLocality": "London",
                   "addressRegion": "England", "postalCode": "E2 9AG"}}


def quiz(**extra) -> dict:
    """A weekly quiz night as Eventbrite's organiser page lists it: its first start and its last end."""
    return {"@type": "Event", "name": "Thursday Pub Quiz", "startDate": "2026-12-03T19:30:00",
            "endDate": "2028-01-27T22:00:00", "location": PUB,
            "url": "https://www.eventbrite.co.uk/e/thursday-pub-quiz-tickets-1001", **extra}


def organiser_page(*events: dict) -> bytes:
    listing = {"@context": "https://schema.org", "@type": "ItemList",
               "itemListElement": [{"@type": "ListItem", "position": n, "item": e} for n, e in enumerate(events, 1)]}
    links = "".join(f'<a href="{e["url"]}">{e["name"]}</a>' for e in events)
    return f'<html><script type="application/ld+json">{json.dumps(listing)}</script>{links}</html>'.encode()


def test_a_series_listed_from_first_start_to_last_end_keeps_its_first_night_not_a_14_month_event():
    """Issue 20: an organiser page's weekly quiz night became one event spanning 14 months."""
    warnings: list[str] = []
    [night] = eventbrite.parse(organiser_page(quiz()), "https://www.eventbrite.co.uk/o/quiz-1",
                               ctx=make_ctx(warnings=warnings))
    assert night.start == datetime(2026, 12, 3, 19, 30, tzinfo=LONDON)  # a London pub, for a Portland user
    assert night.end == datetime(2026, 12, 3, 22, 0, tzinfo=LONDON)
    [warning] = warnings
    assert "'Thursday Pub Quiz' runs from 2026-12-03 to 2028-01-27" in warning and "first occurrence" in warning


def test_a_festival_of_a_few_days_stays_one_event():
    festival = quiz(name="Beer Festival", startDate="2026-12-03T12:00:00", endDate="2026-12-06T23:00:00")
    [event] = eventbrite.parse(organiser_page(festival), "https://www.eventbrite.co.uk/o/x", ctx=make_ctx())
    assert event.end - event.start == timedelta(days=3, hours=11)


def test_a_series_with_a_weekly_schedule_gives_each_night_inside_the_window():
    schedule = {"@type": "Schedule", "repeatFrequency": "P1W", "byDay": "https://schema.org/Thursday",
                "startDate": "2026-12-03", "endDate": "2028-01-27", "startTime": "19:30:00", "endTime": "22:00:00",
                "scheduleTimezone": "Europe/London"}
    window = (datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc))
    nights = eventbrite.parse(organiser_page(quiz(eventSchedule=schedule)), "https://www.eventbrite.co.uk/o/x",
                              ctx=make_ctx(window=window))
    assert [n.start.day for n in nights] == [3, 10, 17, 24, 31]
    assert all(n.start.weekday() == 3 and n.end - n.start == timedelta(hours=2, minutes=30) for n in nights)
    assert len({n.source_uid for n in nights}) == 5 and nights[0].timezone == "Europe/London"


def test_a_series_that_lists_its_dates_gives_those_dates_and_not_itself():
    series = {"@context": "https://schema.org", "@type": "EventSeries", "name": "Thursday Pub Quiz",
              "startDate": "2026-12-03T19:30:00+00:00", "endDate": "2027-12-30T22:00:00+00:00",
              "subEvent": [{"@type": "Event", "name": "Thursday Pub Quiz", "startDate": f"2026-12-{d:02d}T19:30:00+00:00",
                            "endDate": f"2026-12-{d:02d}T22:00:00+00:00", "location": PUB,
                            "url": f"https://www.eventbrite.co.uk/e/thursday-pub-quiz-tickets-{d}"} for d in (3, 10)]}
    page = f'<script type="application/ld+json">{json.dumps(series)}</script>'.encode()
    ctx = make_ctx()
    nights = eventbrite.parse(page, "https://www.eventbrite.co.uk/e/x", ctx=ctx)
    assert [(n.start.day, n.end.hour) for n in nights] == [(3, 22), (10, 22)]
    assert ctx.counts == {"events": [3, 3]}  # the series and its two nights, all accounted for


def test_a_festival_of_a_few_days_that_lists_its_gigs_stays_an_event_beside_them():
    gigs = [{"@type": "MusicEvent", "name": f"Band {n}", "startDate": f"2026-12-0{n}T20:00:00+00:00"} for n in (4, 5)]
    festival = {"@context": "https://schema.org", "@type": "Festival", "name": "Winter Fest", "subEvent": gigs,
                "startDate": "2026-12-04", "endDate": "2026-12-06", "url": "https://fest.example/"}
    page = f'<script type="application/ld+json">{json.dumps(festival)}</script>'.encode()
    events = eventbrite.parse(page, "https://fest.example/", ctx=make_ctx())
    assert sorted(e.title for e in events) == ["Band 4", "Band 5", "Winter Fest"]


def test_a_marked_series_on_any_page_is_not_one_long_event_but_a_long_unmarked_event_is():
    """The jsonld kind: an EventSeries is a series wherever it is; an unmarked six-week exhibition stays one event."""
    from sources import jsonld

    series = {**quiz(), "@type": "EventSeries"}
    exhibition = quiz(name="Turner prints", url="https://gallery.example/turner")
    page = f'<script type="application/ld+json">{json.dumps([series, exhibition])}</script>'.encode()
    events = {e.title: e for e in jsonld.parse(page, "https://gallery.example/", ctx=make_ctx())}
    assert events["Thursday Pub Quiz"].end == datetime(2026, 12, 3, 22, 0, tzinfo=LONDON)
    assert events["Turner prints"].end == datetime(2028, 1, 27, 22, 0, tzinfo=LONDON)


def test_cli_an_organiser_series_is_read_from_its_event_page_which_lists_the_nights(tmp_path, server):
    """End to end: the organiser page gives the 14-month span; its event page gives the nights."""
    event_path = "/e/thursday-pub-quiz-tickets-1001"
    listed = quiz(url=server.url(event_path), startDate="2026-12-03T19:30:00+00:00",
                  endDate="2028-01-27T22:00:00+00:00")
    server.add("/o/quiz-1", organiser_page(listed), headers={"Content-Type": "text/html"})
    nights = [{"@type": "Event", "name": "Thursday Pub Quiz", "location": PUB,
               "startDate": f"{d}T19:30:00+00:00", "endDate": f"{d}T22:00:00+00:00"}
              for d in ("2026-12-03", "2026-12-10", "2026-12-17")]
    series = {"@context": "https://schema.org", "@type": "Event", "name": "Thursday Pub Quiz",
              "url": server.url(event_path), "startDate": "2026-12-03T19:30:00+00:00",
              "endDate": "2028-01-27T22:00:00+00:00", "location": PUB, "subEvent": nights}
    server.add(event_path, f'<script type="application/ld+json">{json.dumps(series)}</script>'.encode(),
               headers={"Content-Type": "text/html"})
    cli = Cli(write_config(tmp_path, [{"name": "quiz", "kind": "eventbrite", "url": server.url("/o/quiz-1")}]))
    result = cli("fetch")
    assert result.returncode == 0, result.stderr
    events = cli.json("upcoming", "--days", "30", "--limit", "0")
    assert [e["start"][:10] for e in events] == ["2026-12-03", "2026-12-10", "2026-12-17"]
    assert all(e["end"][11:16] == "22:00" for e in events)
