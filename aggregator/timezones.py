"""Turn the time-zone names real calendars write into IANA zones.

Feeds name zones as IANA ids ("America/Los_Angeles"), legacy links
("US/Pacific"), Windows ids ("Pacific Standard Time"), Outlook display names
("(UTC-05:00) Eastern Time (US & Canada)"), Mozilla paths
("/mozilla.org/20070129_1/Europe/Berlin") and other vendor-prefixed, "globally unique" ids
("/softwarestudio.org/Olson_20011030_5/Pacific/Auckland", "/Europe/Stockholm"), or bare
offsets ("GMT +01:00").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

# Windows display names (the text after "(UTC+hh:mm) "), as Outlook and OWA write them.
DISPLAY_NAMES = {
    "pacific time (us & canada)": "America/Los_Angeles",
    "pacific time (us & canada); tijuana": "America/Los_Angeles",
    "mountain time (us & canada)": "America/Denver",
    "central time (us & canada)": "America/Chicago",
    "eastern time (us & canada)": "America/New_York",
    "atlantic time (canada)": "America/Halifax",
    "arizona": "America/Phoenix",
    "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "newfoundland": "America/St_Johns",
    "saskatchewan": "America/Regina",
    "indiana (east)": "America/Indiana/Indianapolis",
    "guadalajara, mexico city, monterrey": "America/Mexico_City",
    "bogota, lima, quito, rio branco": "America/Bogota",
    "bogota, lima, quito": "America/Bogota",
    "brasilia": "America/Sao_Paulo",
    "city of buenos aires": "America/Argentina/Buenos_Aires",
    "buenos aires": "America/Argentina/Buenos_Aires",
    "santiago": "America/Santiago",
    "coordinated universal time": "UTC",
    "utc": "UTC",
    "dublin, edinburgh, lisbon, london": "Europe/London",
    "greenwich mean time : dublin, edinburgh, lisbon, london": "Europe/London",
    "monrovia, reykjavik": "Atlantic/Reykjavik",
    "casablanca": "Africa/Casablanca",
    "amsterdam, berlin, bern, rome, stockholm, vienna": "Europe/Berlin",
    "belgrade, bratislava, budapest, ljubljana, prague": "Europe/Budapest",
    "brussels, copenhagen, madrid, paris": "Europe/Paris",
    "sarajevo, skopje, warsaw, zagreb": "Europe/Warsaw",
    "west central africa": "Africa/Lagos",
    "athens, bucharest": "Europe/Bucharest",
    "athens, bucharest, istanbul": "Europe/Istanbul",
    "istanbul": "Europe/Istanbul",
    "cairo": "Africa/Cairo",
    "harare, pretoria": "Africa/Johannesburg",
    "helsinki, kyiv, riga, sofia, tallinn, vilnius": "Europe/Helsinki",
    "helsinki, kiev, riga, sofia, tallinn, vilnius": "Europe/Helsinki",
    "jerusalem": "Asia/Jerusalem",
    "moscow, st. petersburg": "Europe/Moscow",
    "moscow, st. petersburg, volgograd": "Europe/Moscow",
    "nairobi": "Africa/Nairobi",
    "baghdad": "Asia/Baghdad",
    "kuwait, riyadh": "Asia/Riyadh",
    "tehran": "Asia/Tehran",
    "abu dhabi, muscat": "Asia/Dubai",
    "kabul": "Asia/Kabul",
    "ekaterinburg": "Asia/Yekaterinburg",
    "yekaterinburg": "Asia/Yekaterinburg",
    "islamabad, karachi": "Asia/Karachi",
    "chennai, kolkata, mumbai, new delhi": "Asia/Kolkata",
    "kathmandu": "Asia/Kathmandu",
    "dhaka": "Asia/Dhaka",
    "bangkok, hanoi, jakarta": "Asia/Bangkok",
    "beijing, chongqing, hong kong, urumqi": "Asia/Shanghai",
    "kuala lumpur, singapore": "Asia/Singapore",
    "perth": "Australia/Perth",
    "taipei": "Asia/Taipei",
    "osaka, sapporo, tokyo": "Asia/Tokyo",
    "seoul": "Asia/Seoul",
    "adelaide": "Australia/Adelaide",
    "darwin": "Australia/Darwin",
    "brisbane": "Australia/Brisbane",
    "canberra, melbourne, sydney": "Australia/Sydney",
    "hobart": "Australia/Hobart",
    "auckland, wellington": "Pacific/Auckland",
    "екатеринбург": "Asia/Yekaterinburg",
    "москва, санкт-петербург, волгоград": "Europe/Moscow",
}
_PREFIX = re.compile(r"^\s*\((?:utc|gmt)\s*(?:[+-]\s*\d{1,2}(?::?\d{2})?)?\)\s*", re.I)
_OFFSET = re.compile(r"^(?:\(?\s*(?:utc|gmt)\s*)([+-])\s*(\d{1,2})(?::?(\d{2}))?\s*\)?$", re.I)
_MOZILLA = re.compile(r"^/[^/]*mozilla\.org/[^/]+/(.+)$", re.I)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("\\", ""))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip().strip('"').lower()


def _city_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, zone in DISPLAY_NAMES.items():
        for city in name.split(","):
            index.setdefault(city.strip(), zone)
    return index


_CITIES = _city_index()


def zone(name: str) -> ZoneInfo | None:
    """A ZoneInfo for an exact IANA id (or legacy link), else None."""
    name = name.strip().strip('"')
    if not name or name.startswith("/") or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@lru_cache(maxsize=512)
def iana_name(tzid: str) -> str | None:
    """The IANA name a calendar's TZID means, or None when it names no known zone."""
    raw = tzid.strip().strip('"')
    if zone(raw):
        return raw
    if raw in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[raw]
    mozilla = _MOZILLA.match(raw)
    if mozilla and zone(mozilla.group(1)):
        return mozilla.group(1)
    if raw.startswith("/"):
        # A globally unique TZID (RFC 5545 3.2.19): a vendor path, then the IANA id.
        # Try the longest tail first so "America/Argentina/Buenos_Aires" survives.
        parts = [p for p in raw.split("/") if p]
        for first in range(len(parts)):
            tail = "/".join(parts[first:])
            if "/" in tail or first == len(parts) - 1:
                if zone(tail):
                    return tail
    folded = _fold(_PREFIX.sub("", raw)).replace(" and ", " & ")
    if folded in DISPLAY_NAMES:
        return DISPLAY_NAMES[folded]
    for key, value in WINDOWS_TO_OLSON.items():
        if key.lower() == folded:
            return value
    cities = [c.strip() for c in folded.split(",")]
    for city in cities:
        if city in _CITIES:
            return _CITIES[city]
    return None


def fixed_offset(tzid: str) -> tzinfo | None:
    """A fixed-offset zone for TZIDs that only say an offset: "GMT +01:00", "(UTC-05:00)"."""
    raw = tzid.strip().strip('"')
    match = _OFFSET.match(raw) or _OFFSET.match(_PREFIX.match(raw).group(0).strip() if _PREFIX.match(raw) else "")
    if not match:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    if minutes == 0:
        # Etc/GMT signs are inverted: Etc/GMT-1 is UTC+01:00.
        return ZoneInfo(f"Etc/GMT{'-' if sign == '+' else '+'}{hours}") if hours else ZoneInfo("UTC")
    return timezone(delta if sign == "+" else -delta)


# Cities people type as a zone ("America/Portland") that tzdata names by another city. A zone's own
# city ("Chicago") and the Windows display names' cities above are found without this table.
WELL_KNOWN_CITIES = {
    "America/Los_Angeles": "portland seattle san_francisco san_jose san_diego oakland sacramento las_vegas "
                           "reno spokane eugene salem tacoma bellevue fresno palo_alto mountain_view",
    "America/Denver": "salt_lake_city albuquerque colorado_springs boulder cheyenne el_paso",
    "America/Phoenix": "tucson scottsdale tempe mesa",
    "America/Chicago": "dallas houston austin san_antonio minneapolis st_louis kansas_city milwaukee "
                       "nashville new_orleans memphis oklahoma_city omaha madison",
    "America/New_York": "boston washington philadelphia atlanta miami pittsburgh baltimore charlotte "
                        "raleigh orlando tampa cleveland columbus cincinnati buffalo newark brooklyn",
    "America/Toronto": "ottawa montreal quebec_city waterloo hamilton",
    "America/Vancouver": "victoria",
    "Europe/Berlin": "munich hamburg frankfurt cologne stuttgart dusseldorf leipzig dresden",
    "Europe/Paris": "lyon marseille toulouse nice bordeaux lille nantes",
    "Europe/London": "manchester birmingham edinburgh glasgow bristol leeds liverpool cambridge oxford",
    "Europe/Madrid": "barcelona valencia seville bilbao malaga",
    "Europe/Rome": "milan turin naples florence bologna",
    "Europe/Amsterdam": "rotterdam utrecht eindhoven the_hague",
    "Europe/Zurich": "geneva basel bern lausanne",
    "Asia/Kolkata": "mumbai bangalore bengaluru delhi new_delhi chennai hyderabad pune",
    "Asia/Shanghai": "beijing shenzhen guangzhou hangzhou chengdu",
    "Australia/Sydney": "canberra newcastle",
    "America/Sao_Paulo": "rio_de_janeiro brasilia belo_horizonte",
}


def _zone_key(text: str) -> str:
    return _fold(text).replace(" ", "_").replace("-", "_")


@lru_cache(maxsize=1)
def _zones_by_key() -> tuple[dict[str, str], dict[str, str]]:
    """(folded full name -> zone, folded city -> zone) over tzdata's zones and the cities above."""
    from zoneinfo import available_timezones

    full, cities = {}, {}
    for name in sorted(available_timezones()):
        full[_zone_key(name)] = name
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            cities.setdefault(_zone_key(name.rsplit("/", 1)[1]), name)
    for city, name in _CITIES.items():
        cities.setdefault(_zone_key(city), name)
    for name, names in WELL_KNOWN_CITIES.items():
        for city in names.split():
            cities.setdefault(city, name)
    return full, cities


def suggest(name: str) -> str | None:
    """The zone a mistyped or invented name most likely means, or None: "america/new york" is
    America/New_York (case and spaces), "America/Portland" or "Portland" is America/Los_Angeles
    (the city part against zones' own cities and well-known ones)."""
    full, cities = _zones_by_key()
    key = _zone_key(name)
    if key in full:
        return full[key]
    city = key.rsplit("/", 1)[-1]
    return cities.get(city)
