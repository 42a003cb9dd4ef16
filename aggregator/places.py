"""A venue's time zone from its postal address, for times a page writes without a UTC offset.

CONTRACT.md: a time written with no zone is read in the venue's zone when known,
else in the config's `timezone`. A Philadelphia page saying "2016-04-21T20:00"
means 20:00 in Philadelphia, not in the user's Portland. Known here means:

- the address names a country with one zone, or whose first zone in tzdata's
  zone.tab is its principal one ("most of Germany", "Spain (mainland)"); or
- a country of several zones and a region this module's tables place (US states,
  Canadian provinces and territories, Australian states and territories);
- an address with no country is taken to be in the user's own country (the
  country of the config's `timezone`): local pages rarely write it;
- a one-line US address ending "ST 12345" names its state;
- a region that is a country ("England", "Scotland", "Wales", "Northern Ireland",
  "Belgium") names that country;
- a postcode of a distinctive shape names its country: a UK postcode ("E2 6DG",
  "SW1A 1AA": outward code, space, digit and two letters) or a Canadian one
  ("K1A 0B1", whose first letter is the province);
- coordinates inside one of a few boxes drawn well inside a single-zone land
  (`ZONE_BOXES`: Great Britain, Ireland south of the border, New Zealand's two
  main islands, Honshu), never near a border with another zone.

Anything else (a city alone, a country of several zones without a region, a
point outside those boxes) is not guessed: the config's zone stays. A conference
schedule, which names its city and nothing else, may ask `city_zone`: a city
that gives its name to a tzdata zone ("Brussels" -> Europe/Brussels).
Pure apart from reading tzdata's tables once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from aggregator import timezones
from aggregator.identity import fold

# Countries whose first zone.tab zone is the principal one although its comment does not say "most".
PRINCIPAL = {"CN": "Asia/Shanghai", "AR": "America/Argentina/Buenos_Aires", "UA": "Europe/Kyiv",
             "MY": "Asia/Kuala_Lumpur", "EC": "America/Guayaquil", "CD": "Africa/Kinshasa"}
# Regions of countries with several zones: zone -> region codes and names (the most populous
# zone of a state that spans two).
REGIONS = {
    "US": {
        "America/New_York": "CT DE DC FL GA IN KY ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV "
                            "connecticut delaware district-of-columbia florida georgia indiana kentucky maine "
                            "maryland massachusetts michigan new-hampshire new-jersey new-york north-carolina "
                            "ohio pennsylvania rhode-island south-carolina vermont virginia west-virginia",
        "America/Chicago": "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI alabama arkansas illinois iowa kansas "
                           "louisiana minnesota mississippi missouri nebraska north-dakota oklahoma south-dakota "
                           "tennessee texas wisconsin",
        "America/Denver": "CO MT NM UT WY ID colorado montana new-mexico utah wyoming idaho",
        "America/Phoenix": "AZ arizona",
        "America/Los_Angeles": "CA NV OR WA california nevada oregon washington",
        "America/Anchorage": "AK alaska",
        "Pacific/Honolulu": "HI hawaii",
        "America/Puerto_Rico": "PR puerto-rico",
    },
    "CA": {
        "America/Vancouver": "BC british-columbia",
        "America/Edmonton": "AB NT alberta northwest-territories",
        "America/Regina": "SK saskatchewan",
        "America/Winnipeg": "MB manitoba",
        "America/Toronto": "ON QC ontario quebec québec",
        "America/Halifax": "NB NS PE new-brunswick nova-scotia prince-edward-island",
        "America/St_Johns": "NL newfoundland-and-labrador newfoundland",
        "America/Whitehorse": "YT yukon",
        "America/Iqaluit": "NU nunavut",
    },
    "AU": {
        "Australia/Sydney": "NSW ACT new-south-wales australian-capital-territory",
        "Australia/Melbourne": "VIC victoria",
        "Australia/Brisbane": "QLD queensland",
        "Australia/Adelaide": "SA south-australia",
        "Australia/Perth": "WA western-australia",
        "Australia/Hobart": "TAS tasmania",
        "Australia/Darwin": "NT northern-territory",
    },
}
COUNTRY_ALIASES = {"usa": "US", "u.s.a.": "US", "u.s.": "US", "united states of america": "US", "america": "US",
                   "uk": "GB", "united kingdom": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
                   "northern ireland": "GB", "deutschland": "DE", "the netherlands": "NL", "holland": "NL",
                   "españa": "ES", "espana": "ES", "österreich": "AT", "schweiz": "CH", "suisse": "CH",
                   "italia": "IT", "россия": "RU", "russia": "RU", "south korea": "KR", "korea": "KR",
                   "czech republic": "CZ", "czechia": "CZ", "vietnam": "VN", "türkiye": "TR", "turkey": "TR"}
# Boxes (south, north, west, east in degrees) drawn inside a land with one zone, away from any
# border with another zone: a venue's coordinates inside one are in that zone. Not a map: a
# point outside every box is not guessed. Checked against the nearest foreign shores (the French
# coast from Le Tréport to Dunkirk; Dublin at 6.3 W; the Irish border; Busan at 129.0 E).
ZONE_BOXES = (
    (50.0, 51.0, -5.8, 1.0, "Europe/London"),  # southern England (Le Tréport, 50.06 N 1.37 E, is France)
    (51.0, 51.2, -5.3, 1.45, "Europe/London"),  # Kent, east to Dover
    (51.2, 55.8, -5.3, 1.8, "Europe/London"),  # England and Wales north of the Thames, southern Scotland
    (54.5, 55.3, -6.8, -5.4, "Europe/London"),  # Northern Ireland east of Lough Neagh's west shore
    (55.8, 58.7, -7.0, -1.7, "Europe/London"),  # Scotland
    (51.4, 53.9, -10.5, -6.0, "Europe/Dublin"),  # Ireland south of the border
    (-47.4, -34.3, 166.3, 178.6, "Pacific/Auckland"),  # New Zealand's two main islands (not Chatham)
    (33.4, 41.5, 132.0, 142.0, "Asia/Tokyo"),  # Honshu and Shikoku
)
# Zones that name a city whose namesake elsewhere is as likely (Córdoba in Spain, San Juan in
# Puerto Rico, La Paz in Mexico, Santiago de Compostela, Mérida in Mexico and Spain, Halifax in
# England, Perth in Scotland, London in Ontario is not: London means London).
AMBIGUOUS_CITIES = {"cordoba", "san juan", "la paz", "santiago", "merida", "halifax", "perth"}
_UK_POSTCODE = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-HJKMNPR-Y\d]?) \d[ABD-HJLNP-UW-Z]{2}\b")
_CA_POSTCODE = re.compile(r"\b([ABCEGHJ-NPRSTVXY])\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d\b")
CA_POSTAL_REGIONS = {"A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON", "L": "ON",
                     "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC", "Y": "YT"}
_US_REGION_ZIP = re.compile(r",\s*([A-Za-z][A-Za-z .]{1,30}?)\s+\d{5}(?:-\d{4})?(?:\s*,?\s*(?:US|USA|United States))?\s*$")
_US_LINE = re.compile(r",\s*([A-Z]{2})\s+\d{5}(?:-\d{4})?\s*(?:,\s*(?:USA?|United States))?\s*$")


def _fold(text: str) -> str:
    return " ".join(fold(text).split())  # "Québec " -> "quebec", as identity folds names


def _table(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def _countries() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(country name or code -> code, code -> principal zone, zone -> code) from tzdata's tables."""
    names = {_fold(code): code for code, *_ in _table("iso3166.tab")}
    names.update({_fold(name): code for code, name, *_ in _table("iso3166.tab")})
    names.update({_fold(alias): code for alias, code in COUNTRY_ALIASES.items()})
    zones: dict[str, list[tuple[str, str]]] = {}
    for code, _, zone, *comment in _table("zone.tab"):
        zones.setdefault(code, []).append((zone, comment[0].lower() if comment else ""))
    principal = {}
    for code, listed in zones.items():
        zone, comment = listed[0]
        if code in PRINCIPAL:
            principal[code] = PRINCIPAL[code]
        elif len(listed) == 1 or comment.startswith("most") or "mainland" in comment:
            principal[code] = zone
    owner = {zone: code for code, listed in zones.items() for zone, _ in listed}
    return names, principal, owner


@lru_cache(maxsize=1)
def _regions() -> dict[str, dict[str, str]]:
    return {country: {_fold(word.replace("-", " ")): zone for zone, words in table.items() for word in words.split()}
            for country, table in REGIONS.items()}


def country_of_zone(zone: ZoneInfo | None) -> str | None:
    """The country a zone belongs to ("America/Los_Angeles" -> "US"), or None (UTC, unknown)."""
    return _countries()[2].get(getattr(zone, "key", "") or "")


def zone_for(country: str | None, region: str | None, *, home: str | None = None) -> ZoneInfo | None:
    """The zone of an address's country and region (codes or names); `home`: the country assumed
    when none is given. None when that does not settle it."""
    names, principal, _ = _countries()
    code = names.get(_fold(country)) if country else home
    if not country and region and len(region.strip()) > 3 and code not in REGIONS:
        # No country, and a region named in full that the tables place abroad ("California" on a
        # German user's page): that country's, not the user's.
        abroad = {c for c, table in _regions().items() if _fold(region) in table}
        code = abroad.pop() if len(abroad) == 1 else code
    if not country and region and len(region.strip()) > 3 and _fold(region) not in _regions().get(code or "", {}):
        named = names.get(_fold(region))  # a region that is a country: "England", "Belgium"
        code = named or code
    if code is None:
        return None
    if region and code in REGIONS:
        zone = _regions()[code].get(_fold(region))
        if zone:
            return timezones.zone(zone)
    if code in principal and (country or region):  # a home country alone says nothing of this venue
        return timezones.zone(principal[code])
    return None


def venue_zone(location: Any, home: ZoneInfo | None = None) -> ZoneInfo | None:
    """The zone a schema.org `location` (a Place, a PostalAddress, text, or a list of them) is in,
    or None when its address does not say; `home` is the user's zone (its country is assumed
    for an address naming none)."""
    home_country = country_of_zone(home)
    for place in location if isinstance(location, list) else [location]:
        address = place.get("address") if isinstance(place, dict) and "address" in place else place
        if isinstance(address, list):
            address = next((a for a in address if isinstance(a, dict)), address[0] if address else None)
        if isinstance(address, dict):
            country, region = _text(address.get("addressCountry")), _text(address.get("addressRegion"))
            if country or region:
                found = zone_for(country, region, home=home_country)
                if found is not None:
                    return found
            if not country:  # the country a locality line or a postcode names ("London, England", "E2 6DG")
                parts = (address.get(k) for k in ("streetAddress", "addressLocality", "postalCode", "addressRegion"))
                line = ", ".join(p for p in map(_text, parts) if p)
                found = text_zone(line, home) if line else None
                if found is not None:
                    return found
        elif isinstance(address, str):
            us = _US_LINE.search(address.strip())
            if us and (home_country in (None, "US") or re.search(r"\bUSA?\b|United States", address)):
                found = zone_for("US", us.group(1))
                if found is not None:
                    return found
            found = text_zone(address, home)
            if found is not None:
                return found
        found = coordinates_zone(*_coordinates(place))
        if found is not None:
            return found
    return None


def postcode_zone(text: str) -> ZoneInfo | None:
    """The zone a UK or Canadian postcode in `text` places it in ("118 Bethnal Green Road, E2 6DG"),
    or None. Only the full postcode with its space counts: "E2" alone, or "M5 3" could be anything."""
    if _UK_POSTCODE.search(text):
        return timezones.zone("Europe/London")
    canadian = _CA_POSTCODE.search(text)
    if canadian and canadian.group(1) in CA_POSTAL_REGIONS:
        return zone_for("CA", CA_POSTAL_REGIONS[canadian.group(1)])
    return None


def coordinates_zone(lat: float | None, lon: float | None) -> ZoneInfo | None:
    """The zone of a point inside one of `ZONE_BOXES`, else None (not guessed)."""
    if lat is None or lon is None:
        return None
    for south, north, west, east, zone in ZONE_BOXES:
        if south <= lat <= north and west <= lon <= east:
            return timezones.zone(zone)
    return None


def _coordinates(place: Any) -> tuple[float | None, float | None]:
    """(lat, lon) of a schema.org Place's `geo` (or of a GeoCoordinates itself)."""
    geo = place.get("geo", place) if isinstance(place, dict) else None
    geo = geo[0] if isinstance(geo, list) and geo else geo
    if not isinstance(geo, dict):
        return None, None
    try:
        lat, lon = float(geo.get("latitude")), float(geo.get("longitude"))
    except (TypeError, ValueError):
        return None, None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else (None, None)


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """City name -> zone, for the zones of zone.tab named after a city ("brussels" -> Europe/Brussels);
    the county seats of Indiana, Kentucky and North Dakota zones are left out, and so are
    `AMBIGUOUS_CITIES`."""
    cities = {}
    for _, _, zone, *_ in _table("zone.tab"):
        area, _, rest = zone.partition("/")
        if area == "Antarctica" or rest.startswith(("Indiana/", "North_Dakota/", "Kentucky/Monticello")):
            continue
        name = _fold(rest.rsplit("/", 1)[-1].replace("_", " "))
        if name not in AMBIGUOUS_CITIES:
            cities[name] = zone
    return cities


def city_zone(text: str | None, home: ZoneInfo | None = None) -> ZoneInfo | None:
    """The zone of a place a conference names by its city ("Brussels", "Brussels, Belgium"):
    a country it names, else the one zone a city of that name gives in tzdata, else None.
    A name that places two zones (a city and another country) is not guessed."""
    if not isinstance(text, str) or not text.strip():
        return None
    named = text_zone(text, home)
    parts = [_fold(re.sub(r"\(.*?\)", "", part)) for part in re.split(r"[,;/]", text)]
    found = {_cities()[part] for part in parts if part in _cities()}
    # the countries the other parts name, as a country or one of its regions ("Paris, Texas": US)
    names = _countries()[0]
    said = {names[p] for p in parts if p in names and p not in _cities()}
    said |= {country for country, table in _regions().items() for p in parts if p in table and p not in _cities()}
    if named is not None:
        said.add(country_of_zone(named))
    if said:
        found = {z for z in found if country_of_zone(timezones.zone(z)) in said}
        found = found or ({named.key} if named is not None else set())
    return timezones.zone(found.pop()) if len(found) == 1 else None


@lru_cache(maxsize=1024)
def text_zone(location: str, home: ZoneInfo | None = None) -> ZoneInfo | None:
    """The zone a one-line place names ("Deventer Schouwburg, Netherlands", "3702 SE Hawthorne Blvd,
    Portland, Oregon 97214 US", "Portland, Oregon, USA", "118 Bethnal Green Road, London E2 6DG"),
    or None. Only a US state with a ZIP code, a whole country name as the last part, a state
    before "USA" or a UK or Canadian postcode count: "..., DE" could be Delaware."""
    return _named_zone(location, home) or postcode_zone(location)


def _named_zone(location: str, home: ZoneInfo | None) -> ZoneInfo | None:
    us = _US_REGION_ZIP.search(location)
    if us:
        return zone_for("US", us.group(1).strip())
    parts = [p.strip() for p in location.split(",") if p.strip()]
    if len(parts) < 2:
        return None
    country = parts[-1]
    names = _countries()[0]
    code = names.get(_fold(country)) if len(country) > 3 or _fold(country) in COUNTRY_ALIASES else None
    if code is None:
        return None
    as_region = {c for c, table in _regions().items() if _fold(country) in table}
    if as_region:  # "Atlanta, Georgia": the state, for an American; otherwise not guessed
        home_country = country_of_zone(home)
        return zone_for(home_country, country) if home_country in as_region else None
    return zone_for(country, parts[-2] if code in REGIONS else None, home=country_of_zone(home))


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("@id") or value.get("identifier")
    return value.strip() if isinstance(value, str) and value.strip() else None


def city_named_in(text: str | None) -> ZoneInfo | None:
    """The zone of the one tzdata city a title names among its words ("PyData Berlin 2026",
    "PyCon Buenos Aires"), or None (none, or two zones). Weaker than `city_zone`: a title may
    name a project ("Phoenix"), so callers say which zone they took from it."""
    if not isinstance(text, str):
        return None
    words = re.findall(r"[^\W\d_]+", _fold(text))
    found = {_cities()[" ".join(words[i:i + n])] for n in (1, 2, 3) for i in range(len(words) - n + 1)
             if " ".join(words[i:i + n]) in _cities()}
    return timezones.zone(found.pop()) if len(found) == 1 else None

