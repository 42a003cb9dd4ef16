"""A venue's zone from its address (CONTRACT.md: a time with no offset is the venue's when known)."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator import places
from sources import schemaorg
from tests.conftest import CORPUS, make_ctx

LA = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(("country", "region", "home", "expected"), [
    ("DE", None, None, "Europe/Berlin"),  # one principal zone ("most of Germany")
    ("Germany", "Bayern", "US", "Europe/Berlin"),
    ("España", None, None, "Europe/Madrid"),  # "Spain (mainland)"
    ("US", "PA", None, "America/New_York"),
    ("United States of America", "Texas", None, "America/Chicago"),
    (None, "OR", "US", "America/Los_Angeles"),  # no country: the user's own
    (None, "WA", "AU", "Australia/Perth"),  # the same code means Western Australia to an Australian
    (None, "WA", "US", "America/Los_Angeles"),
    ("Canada", "Québec", None, "America/Toronto"),
    ("US", None, None, None),  # several zones, no region: not guessed
    ("Atlantis", None, None, None),
    (None, None, "DE", None),  # an address naming neither says nothing of the venue
    (None, "Bayern", "DE", "Europe/Berlin"),  # a region of the user's own country
    (None, "California", "DE", "America/Los_Angeles"),  # a region named in full that is abroad
    (None, "CA", "DE", "Europe/Berlin"),  # a two-letter code is read as the user's country's
])
def test_zone_for_country_and_region(country, region, home, expected):
    found = places.zone_for(country, region, home=home)
    assert (found.key if found else None) == expected


def test_country_of_the_users_zone():
    assert places.country_of_zone(LA) == "US"
    assert places.country_of_zone(ZoneInfo("Europe/Berlin")) == "DE"
    assert places.country_of_zone(ZoneInfo("UTC")) is None


def test_venue_zone_reads_places_addresses_lists_and_one_line_us_addresses():
    berlin = {"@type": "Place", "name": "c-base", "address": {"@type": "PostalAddress", "addressLocality": "Berlin",
                                                              "addressCountry": {"@type": "Country", "name": "DE"}}}
    assert places.venue_zone(berlin, LA).key == "Europe/Berlin"
    assert places.venue_zone([{"@type": "VirtualLocation", "url": "https://x"}, berlin], LA).key == "Europe/Berlin"
    assert places.venue_zone("Wells Fargo Center, 3601 S Broad St, Philadelphia, PA 19148", LA).key == \
        "America/New_York"
    assert places.venue_zone("Kulturbrauerei, Schönhauser Allee 36, 10435 Berlin", LA) is None  # not guessed
    assert places.venue_zone({"address": {"addressLocality": "Berlin"}}, LA) is None  # a city alone: not guessed
    assert places.venue_zone(None, LA) is None
    assert places.venue_zone({"address": ["junk", {"addressRegion": "NY"}]}, LA).key == "America/New_York"


def page(location: dict, start: str) -> bytes:
    data = {"@context": "https://schema.org", "@type": "Event", "name": "Rust night", "startDate": start,
            "endDate": start[:11] + "21:00", "location": location, "url": "https://example.org/e/1"}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'.encode()


def test_a_time_without_offset_is_the_venues_and_an_offset_is_kept():
    """A Portland user reading a Berlin page: 19:00 there is 10:00 in Portland, not 19:00."""
    berlin = {"@type": "Place", "name": "c-base", "address": {"addressLocality": "Berlin", "addressCountry": "DE"}}
    [event] = schemaorg.parse_page(page(berlin, "2026-12-03T19:00"), "https://example.org/", ctx=make_ctx(tz=LA))
    assert event.start == datetime(2026, 12, 3, 19, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert event.end == datetime(2026, 12, 3, 21, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert event.timezone == "Europe/Berlin"
    [offset] = schemaorg.parse_page(page(berlin, "2026-12-03T19:00-08:00"), "https://example.org/", ctx=make_ctx(tz=LA))
    assert offset.start.utcoffset().total_seconds() == -8 * 3600  # what the page says wins
    local = {"@type": "Place", "name": "Library", "address": {"addressLocality": "Portland"}}
    [here] = schemaorg.parse_page(page(local, "2026-12-03T19:00"), "https://example.org/", ctx=make_ctx(tz=LA))
    assert here.start == datetime(2026, 12, 3, 19, 0, tzinfo=LA) and here.timezone == "America/Los_Angeles"


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "html").is_dir(), reason="../shared/corpus is not present")
def test_the_philadelphia_game_of_the_extruct_sample_is_at_8pm_eastern():
    """corpus/html/schemaorg-spec-event-microdata-example.html: meta startDate "2016-04-21T20:00", a
    PostalAddress in Philadelphia, PA and no country; the page itself says "8:00 p.m."."""
    data = (CORPUS / "html" / "schemaorg-spec-event-microdata-example.html").read_bytes()
    [event] = schemaorg.parse_page(data, "https://example.org/", ctx=make_ctx(tz=LA))
    assert event.start == datetime(2016, 4, 21, 20, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(("text", "expected"), [
    ("Deventer Schouwburg, Netherlands", "Europe/Amsterdam"),
    ("Bagdad Theater @ 3702 S.E. Hawthorne Blvd, Portland, Oregon 97214 US", "America/Los_Angeles"),
    ("Wells Fargo Center, Philadelphia, PA 19148", "America/New_York"),
    ("Portland, Oregon, USA", "America/Los_Angeles"),
    ("c-base, Rungestraße 20, 10179 Berlin, Germany", "Europe/Berlin"),
    ("Room 5, United Kingdom", "Europe/London"),
    ("Somewhere, DE", None),  # Germany or Delaware: not guessed
    ("Main St, Springfield, USA", None),  # which Springfield: not guessed
    ("Online event", None),
    ("Berlin", None),
    ("Atlanta, Georgia", "America/New_York"),  # the state, for a user in the US
    ("The Sebright Arms, 31-35 Coate St, London E2 9AG", "Europe/London"),  # a UK postcode (an ics LOCATION)
])
def test_text_zone_of_a_one_line_location(text, expected):
    found = places.text_zone(text, LA)
    assert (found.key if found else None) == expected


def test_a_country_that_is_also_a_state_is_not_guessed_abroad():
    assert places.text_zone("Rustaveli Theatre, Tbilisi, Georgia", ZoneInfo("Europe/Berlin")) is None
    assert places.text_zone("Rustaveli Theatre, Tbilisi, Georgia", LA).key == "America/New_York"  # read as the state


def test_an_ics_floating_time_at_a_named_venue_is_the_venues():
    """A floating DTSTART (no TZID, no X-WR-TIMEZONE) whose LOCATION names the country; a calendar
    that declares its zone keeps it whatever the location says."""
    from sources import ics

    def read(extra: str) -> datetime:
        text = ("BEGIN:VCALENDAR\r\n" + extra + "BEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Concert\r\n"
                "DTSTART:20261210T203000\r\nLOCATION:Paradiso\\, Amsterdam\\, Netherlands\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n")
        [event] = ics.parse(text.encode(), "", ctx=make_ctx(tz=LA))
        return event.start

    assert read("") == datetime(2026, 12, 10, 20, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert read("X-WR-TIMEZONE:America/New_York\r\n") == datetime(2026, 12, 10, 20, 30,
                                                                  tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(("region", "home", "expected"), [
    ("England", "US", "Europe/London"),
    ("Scotland", "DE", "Europe/London"),
    ("Wales", None, "Europe/London"),
    ("Northern Ireland", "US", "Europe/London"),
    ("Belgium", "US", "Europe/Brussels"),  # a region naming a country
    ("Georgia", "US", "America/New_York"),  # the user's own state first
    ("Bayern", "DE", "Europe/Berlin"),
])
def test_a_region_that_is_a_country_places_the_venue(region, home, expected):
    """Issue 20: an OutSavvy venue "..., London, England" with no addressCountry was read in the user's zone."""
    found = places.zone_for(None, region, home=home)
    assert (found.key if found else None) == expected


OUTSAVVY_PLACE = {"@type": "Place", "name": "The Sebright Arms",
                  "address": {"@type": "PostalAddress", "streetAddress": "118 Bethnal Green Road, London, E2 6DG",
                              "addressLocality": "London", "addressRegion": "England"},
                  "geo": {"@type": "GeoCoordinates", "latitude": 51.5265, "longitude": -0.0705}}


@pytest.mark.parametrize("location", [
    OUTSAVVY_PLACE,
    {**OUTSAVVY_PLACE, "address": {"streetAddress": "118 Bethnal Green Road", "postalCode": "E2 6DG"}},
    {**OUTSAVVY_PLACE, "address": {"addressLocality": "London, England"}},
    {**OUTSAVVY_PLACE, "address": "118 Bethnal Green Road, London, E2 6DG, London, England"},
    {"@type": "Place", "name": "Pub", "geo": OUTSAVVY_PLACE["geo"]},  # the coordinates alone
])
def test_a_london_venue_without_a_country_is_in_london(location):
    assert places.venue_zone(location, LA).key == "Europe/London"
    assert places.venue_zone(location, ZoneInfo("Europe/Berlin")).key == "Europe/London"


def test_the_outsavvy_event_reads_at_london_time_for_a_portland_user():
    [event] = schemaorg.parse_page(page(OUTSAVVY_PLACE, "2026-12-03T19:30"), "https://example.org/", ctx=make_ctx(tz=LA))
    assert event.start == datetime(2026, 12, 3, 19, 30, tzinfo=ZoneInfo("Europe/London"))
    assert event.timezone == "Europe/London"


@pytest.mark.parametrize(("text", "expected"), [
    ("118 Bethnal Green Road, E2 6DG", "Europe/London"),
    ("10 Downing St, London SW1A 2AA", "Europe/London"),
    ("M1 1AE Manchester", "Europe/London"),
    ("290 Bremner Blvd, Toronto, ON M5V 3L9", "America/Toronto"),
    ("1055 Canada Pl, Vancouver V6C 0C3", "America/Vancouver"),
    ("Suite E2, 6 Main Street", None),  # no postcode: "E2" and "6" apart
    ("Room B12 3AB", "Europe/London"),  # the full shape is the evidence, whatever comes before it
    ("Order 2024 AD", None),
    ("K1A0B1", None),  # without its space: not taken
])
def test_a_postcode_of_a_distinctive_shape_names_its_country(text, expected):
    found = places.postcode_zone(text)
    assert (found.key if found else None) == expected


@pytest.mark.parametrize(("lat", "lon", "expected"), [
    (51.5265, -0.0705, "Europe/London"),  # Bethnal Green
    (55.9533, -3.1883, "Europe/London"),  # Edinburgh
    (54.597, -5.93, "Europe/London"),  # Belfast
    (53.35, -6.26, "Europe/Dublin"),  # Dublin
    (-36.85, 174.76, "Pacific/Auckland"),
    (35.68, 139.76, "Asia/Tokyo"),
    (50.95, 1.86, None),  # Calais: France, across the strait
    (50.72, 1.61, None),  # Boulogne-sur-Mer
    (50.06, 1.37, None),  # Le Tréport
    (51.12, 1.31, "Europe/London"),  # Dover
    (50.82, -0.14, "Europe/London"),  # Brighton
    (55.0, -7.3, None),  # Derry, near the Irish border: not guessed
    (54.95, -7.73, None),  # Letterkenny, Ireland, across that border
    (35.1, 129.0, None),  # Busan: Korea
    (45.52, -122.68, None),  # Portland: a country of several zones, no box
    (None, None, None),
])
def test_coordinates_inside_a_single_zone_box_place_the_venue_and_nothing_else_is_guessed(lat, lon, expected):
    found = places.coordinates_zone(lat, lon)
    assert (found.key if found else None) == expected


def test_every_zone_box_names_a_real_zone_and_is_well_formed():
    for south, north, west, east, zone in places.ZONE_BOXES:
        assert south < north and west < east and ZoneInfo(zone)


@pytest.mark.parametrize(("text", "expected"), [
    ("Brussels", "Europe/Brussels"),
    ("Brussels, Belgium", "Europe/Brussels"),
    ("Ghent, Belgium", "Europe/Brussels"),  # the country settles it
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("London", "Europe/London"),
    ("Paris, Texas", None),  # a namesake in another country
    ("Paris, TX", None),
    ("Cordoba", None),  # Argentina or Spain
    ("Springfield", None),
    ("ULB (Université Libre de Bruxelles)", None),  # not a zone's name
    ("", None),
])
def test_city_zone_places_a_conference_city_that_names_a_tzdata_zone(text, expected):
    found = places.city_zone(text, LA)
    assert (found.key if found else None) == expected


@pytest.mark.parametrize(("title", "expected"), [
    ("PyData Berlin 2026", "Europe/Berlin"),
    ("PyCon Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("FOSDEM 2007", None),
    ("Berlin meets Paris", None),  # two zones: not guessed
    (None, None),
])
def test_city_named_in_a_title(title, expected):
    found = places.city_named_in(title)
    assert (found.key if found else None) == expected
