"""The `ics` kind over other calendar projects' test calendars (../shared/corpus/ics-peers),
against icalendar + recurring-ical-events (bench/ics_peers.py holds the shared reading).

Skipped when ../shared is absent. Where we differ from the reference on purpose, the file
is listed in WE_ARE_RIGHT with the reason, and a named test pins our answer.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar.timezone import tzp

from bench import ics_peers
from sources import ics
from tests.conftest import CORPUS, make_ctx

SHARED = CORPUS.parent
PEERS = SHARED / "corpus" / "ics-peers"
UTC = timezone.utc
pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not PEERS.is_dir(), reason="../shared/corpus is absent")]

WE_ARE_RIGHT = {
    # A VEVENT nested inside an unknown X- component: RFC 5545 events are children of
    # VCALENDAR; the reference walks into the custom component and counts it.
    "ics-peers/icalendar/issue_178_custom_component_contains_other.ics": "nested event is no event",
    # "New Zealand Standard Time" is Windows' id for Pacific/Auckland: 13:00 on 20 Nov 2019 is
    # NZDT (UTC+13), 00:00Z; the reference reads the feed's odd VTIMEZONE (12:00Z).
    "ics-peers/khal/tz_windows_format.ics": "Windows TZID mapped to its IANA zone",
    # Outlook display-name TZIDs with no VTIMEZONE: we map them to IANA zones, the reference
    # reads the times as floating.
    "ics/outlook-owa-display-name-tzids-no-vtimezone.ics": "display-name TZIDs mapped",
    "ics/thunderbird-outlook-gmt-offset-tzid-no-vtimezone.ics": "GMT-offset TZIDs read as their offset",
    # Floating times at a venue whose LOCATION names its country or US state and ZIP: read in the
    # venue's zone (CONTRACT.md); the reference (and the bench, reading floating as UTC) cannot.
    "ics/broken-lastfm-event-feed-blank-lines-swapped-geo.ics": "floating times in the venue's zone (Netherlands)",
    "ics/eventful-search-results-portland-2008.ics": "floating times in the venue's zone (Oregon 97214)",
    "ics/upcoming-yahoo-event-with-vvenue-2008.ics": "floating times in the venue's zone (Oregon 97214 US)",
}


def peer_files() -> list[Path]:
    return ics_peers.corpus_files(SHARED) if PEERS.is_dir() else []


def relative(path: Path) -> str:
    return str(path.relative_to(SHARED / "corpus"))


@pytest.fixture(scope="module")
def outcomes():
    """Every file read alone (icalendar's zone cache emptied first): name -> (state, starts)."""
    results = {}
    for path in peer_files():
        tzp.use_zoneinfo()
        results[relative(path)] = ics_peers.outcome(path.read_bytes())
    return results


def test_no_file_raises_anything_but_a_source_error(outcomes):
    crashed = {name: state for name, (state, _) in outcomes.items() if state.startswith("crashed")}
    assert crashed == {}


def test_occurrences_match_recurring_ical_events_wherever_it_reads_the_file(outcomes):
    differing = []
    for path in peer_files():
        name = relative(path)
        state, ours = outcomes[name]
        if state != "read" or name in WE_ARE_RIGHT:
            continue
        expected = ics_peers.reference(path.read_bytes())
        if expected is not None and expected != ours:
            differing.append(name)
    assert differing == []


def test_every_x_wr_timezone_input_reads_to_the_instants_of_its_output(outcomes):
    inputs = sorted((PEERS / "x-wr-timezone").glob("*.in.ics"))
    assert inputs
    for path in inputs:
        state, ours = outcomes[relative(path)]
        out = path.with_name(path.name.replace(".in.ics", ".out.ics")).read_bytes()
        answer = ics_peers.reference(out, standardize=False)  # the .out file is already standard
        assert state == "read" and ours == answer, path.name


def test_results_do_not_depend_on_a_feed_read_before_with_other_rules_for_the_same_tzids(outcomes):
    dependent = []
    for path in peer_files():
        data = path.read_bytes()
        state, alone = outcomes[relative(path)]
        poison = ics_peers.poison_for(data)
        if poison is None or state != "read":
            continue
        tzp.use_zoneinfo()
        ics_peers.outcome(poison)
        if ics_peers.outcome(data)[1] != alone:
            dependent.append(relative(path))
    assert dependent == []


def read_file(name: str, window):
    warnings: list[str] = []
    events = ics.parse((SHARED / "corpus" / name).read_bytes(), "", ctx=make_ctx(window=window, warnings=warnings))
    return sorted(events, key=lambda e: e.start)


def test_windows_new_zealand_standard_time_is_pacific_auckland_with_its_summer_time():
    window = (datetime(2019, 11, 1, tzinfo=UTC), datetime(2019, 12, 1, tzinfo=UTC))
    [event] = read_file("ics-peers/khal/tz_windows_format.ics", window)
    assert event.timezone == "Pacific/Auckland"
    assert event.start.astimezone(UTC) == datetime(2019, 11, 20, 0, 0, tzinfo=UTC)  # 13:00 NZDT (UTC+13)


def test_an_event_nested_in_a_custom_component_is_not_one_of_the_calendars_events():
    window = (datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 12, 31, tzinfo=UTC))
    events = read_file("ics-peers/icalendar/issue_178_custom_component_contains_other.ics", window)
    assert date(2015, 1, 22) not in {e.start for e in events}


def test_floating_times_are_read_in_the_zone_the_location_names_for_a_user_anywhere():
    """A Berlin user subscribing to Portland's Eventful and Yahoo exports, and a Portland user
    to Last.fm's Deventer concerts, get the venues' wall times, not their own."""
    berlin, portland = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")
    window = (datetime(2008, 1, 1, tzinfo=UTC), datetime(2011, 1, 1, tzinfo=UTC))

    def starts(name, zone):
        events = ics.parse((SHARED / "corpus" / name).read_bytes(), "", ctx=make_ctx(window=window, tz=zone))
        return {e.title: (e.start, e.timezone) for e in events}

    [ignite] = starts("ics/upcoming-yahoo-event-with-vvenue-2008.ics", berlin).values()
    assert ignite == (datetime(2008, 2, 5, 18, 0, tzinfo=portland), "America/Los_Angeles")
    eventful = starts("ics/eventful-search-results-portland-2008.ics", berlin)
    cubespace = [start for start, zone in eventful.values() if start == datetime(2008, 7, 8, 10, 0, tzinfo=portland)]
    assert cubespace  # "CubeSpace @ 622 SE Grand Ave, Portland, Oregon 97214": 10:00 in Portland
    concerts = starts("ics/broken-lastfm-event-feed-blank-lines-swapped-geo.ics", portland)
    first = min(start for start, _ in concerts.values())
    assert first == datetime(2010, 2, 10, 20, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))  # Deventer Schouwburg
