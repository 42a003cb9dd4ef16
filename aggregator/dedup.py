"""One real event, once: merge the same event listed by several sources.

Two events of *different* sources are the same real event when
- they link the same event page (decisive, within half a day), or
- they start within 30 minutes, their titles agree once group names,
  decorations like "(online)" and stop words are stripped (the same words, one
  title extending the other, or a spelling slip: rapidfuzz, strict), and their
  places are compatible (same venue or city, close coordinates, or one online
  or unknown).

Titles are also compared segment by segment, split at ":", "—", "|", " - " and
"@" (what follows "@" is a place, not a title), by what each segment is: one
that recurs across one source's events (on other days) is that source's series
or group name and says nothing either way; one unique to the event is its talk.
Two listings that share their talk segment, start within the tolerance and name
one venue are one event, whatever prefixes or suffixes each source adds ("Data
Engineering Night: dbt at scale" / "dbt at scale — Data Eng PDX"). Without that
knowledge (a source with one event in the window), the shared segment is the
talk when the sources put it on different sides of their other segments; at the
same place, with other segments that differ ("Kubernetes Night: GitOps" /
"Kubernetes Night: Service meshes"), it is a series shared by two talks.
Segments made only of group-name words (either listing's group) are neutral too.
Words are compared as written, with no table of abbreviations: a word of four
letters or more that begins another ("intro", "introduction") or a numeronym
("k8s", "kubernetes") is the same word.

Clusters never hold two events of one source. The pass is recomputed from
scratch over its window each time, so a merge undoes itself when a later fetch
shows the events differ. Each cluster's canonical member is the event of the
source with the highest `priority:` (then the most complete).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import timedelta

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from aggregator.geo import haversine_km
from aggregator.identity import fold, normalize_url
from aggregator.model import Listing  # noqa: F401 (dedup.Listing: the value it works on)

START_TOLERANCE = timedelta(minutes=30)
URL_TOLERANCE = timedelta(hours=12)
TITLE_SIMILARITY = 90  # token_sort_ratio when each title has words the other lacks (typos, plurals)
TITLE_ORDERED = 60  # token_sort_ratio when one title's words are all in the other
SAME_PLACE_KM = 1.0
_DECORATION = re.compile(
    r"\((?:online|virtual|in[- ]person|hybrid|free|rsvp[^)]*|sold out|waitlist)\)|\[(?:[^\]]*)\]|"
    r"\b(?:online|virtual|hybrid|in[- ]person|meetup|event)\b|\b(?:cancell?ed|postponed)\b",
    re.I,
)
_STOP = {"the", "a", "an", "at", "and", "of", "for", "with", "in", "on", "to", "meetup", "night"}
_NUMERONYM = re.compile(r"^([a-z])(\d{1,2})([a-z])$")  # k8s, i18n, a11y
# A colon not followed by a digit (not "6:30"), a dash or bar between spaces, an em/en dash, an at sign.
_SEGMENT_BREAK = re.compile(r"\s*(?::(?!\d)|[—–|]|\s-\s)\s*")


@functools.lru_cache(maxsize=65536)
def normalize_title(title: str, *names: str | None) -> str:
    """Lower-case words without group/organizer names, decorations and stop words."""
    text = fold(title)
    for name in names:
        if name and len(name) > 2:
            text = text.replace(fold(name), " ")
    text = _DECORATION.sub(" ", text)
    words = [w for w in re.sub(r"[^\w\s]", " ", text).split() if w not in _STOP]
    return " ".join(words)


Series = frozenset[tuple[str, str]]  # (source, segment): a segment that recurs across the source's events


def series_segments(listings: Iterable[Listing]) -> Series:
    """Each source's segments that recur on two days or more: series and group names, not talks.
    A title of one segment is its own talk (nothing marks a series name beside it)."""
    days: dict[tuple[str, str], set] = {}
    for x in listings:
        if not _SEGMENT_BREAK.search(x.title):
            continue
        for segment in title_segments(x.title, x.group):
            days.setdefault((x.source, segment), set()).add(x.start.date())
    return frozenset(key for key, seen in days.items() if len(seen) > 1)


def titles_agree(a: Listing, b: Listing, series: Series = frozenset()) -> bool:
    """The titles alone say one event (wherever each says it is)."""
    return _title_verdict(a, b, series) is True


def _title_verdict(a: Listing, b: Listing, series: Series) -> bool | None:
    """True: the titles name one event; False: they share their talk segment only, so they are one
    event if they name one venue; None: they name different things."""
    names = (a.group, b.group)
    ta, tb = normalize_title(a.title, *names), normalize_title(b.title, *names)
    if _numbers_differ(ta, tb):
        return None  # Python 101 is not Python 201
    if words_agree(ta, tb):
        return True
    return _shared_talk(a, b, series)


def _shared_talk(a: Listing, b: Listing, series: Series) -> bool | None:
    """A talk segment both titles share, and no other talk segment contradicts it (True); shared,
    with other segments that differ but stand on the other side of it (False: see _title_verdict)."""
    names = (a.group, b.group)
    sa, sb = title_segments(a.title, *names), title_segments(b.title, *names)
    if len(sa) < 2 and len(sb) < 2:
        return None  # one piece each: the whole titles were compared already
    talks_a = [s for s in sa if (a.source, s) not in series]
    talks_b = [s for s in sb if (b.source, s) not in series]
    found = None
    for x in talks_a:
        for y in talks_b:
            if not words_agree(x, y):
                continue
            rest_a, rest_b = [p for p in talks_a if p != x], [q for q in talks_b if q != y]
            if not rest_a or not rest_b or all(_compatible(p, q) for p in rest_a for q in rest_b):
                return True
            if _other_side(sa.index(x), len(sa), sb.index(y), len(sb)):
                found = False
    return found


def _other_side(i: int, n: int, j: int, m: int) -> bool:
    """The shared segment opens one title and closes the other: each source added its own name."""
    return n > 1 and m > 1 and ((i == 0) != (j == 0) or (i == n - 1) != (j == m - 1))


def _numbers_differ(ta: str, tb: str) -> bool:
    numbers_a, numbers_b = set(re.findall(r"\d+", ta)), set(re.findall(r"\d+", tb))
    return bool(numbers_a and numbers_b and numbers_a != numbers_b)


def words_agree(ta: str, tb: str) -> bool:
    """Two normalized titles (or segments) name the same thing."""
    if min(len(ta.split()), len(tb.split())) < 2:
        return False  # "Workshop", "Rust": too generic to tell two events apart
    if ta == tb:
        return True
    wa, wb = set(ta.split()), set(tb.split())
    if wa != wb and not (wa <= wb or wb <= wa):
        ta, tb = _spelled_out(ta, wb), _spelled_out(tb, wa)
        wa, wb = set(ta.split()), set(tb.split())
    if wa <= wb or wb <= wa:  # one title extends the other: "Typing in practice (with mypy)"
        return fuzz.token_sort_ratio(ta, tb) >= TITLE_ORDERED
    # Each has words the other lacks: only a spelling slip, not another subject ("Intro to Rust" / "to Go").
    return fuzz.token_sort_ratio(ta, tb) >= TITLE_SIMILARITY


@functools.lru_cache(maxsize=65536)
def title_segments(title: str, *names: str | None) -> tuple[str, ...]:
    """The normalized segments of a title that can name a talk: not the place after "@", not empty,
    not made only of group-name words."""
    group_words = {w for name in names if name for w in normalize_title(name).split()}
    segments = []
    for part in _SEGMENT_BREAK.split(title.split("@", 1)[0]):
        words = normalize_title(part, *names)
        if words and not set(words.split()) <= group_words:
            segments.append(words)
    return tuple(segments)


def _spelled_out(text: str, other: set[str]) -> str:
    """`text` with each word that shortens a word of `other` written as that word."""
    words = text.split()
    for i, word in enumerate(words):
        if word not in other:
            words[i] = next((w for w in other if _shortens(word, w)), word)
    return " ".join(words)


def _shortens(short: str, long: str) -> bool:
    """"intro" / "introduction" (a cut of four letters or more), "k8s" / "kubernetes" (a numeronym)."""
    numeronym = _NUMERONYM.match(short)
    if numeronym:
        first, count, last = numeronym.groups()
        return len(long) == int(count) + 2 and long[0] == first and long[-1] == last
    return len(short) >= 4 and len(long) > len(short) + 1 and long.startswith(short) and not short.isdigit()


def _compatible(p: str, q: str) -> bool:
    """Leftover segments that do not tell two events apart: one names a part of what the other names
    ("kubernetes" / "kubernetes pdx"), or they agree."""
    wp, wq = set(p.split()), set(q.split())
    return wp <= wq or wq <= wp or words_agree(p, q)


def places_agree(a: Listing, b: Listing, *, strict: bool = False) -> bool:
    """Compatible places. `strict`: both must say where, and agree (unknown is no evidence)."""
    if strict:
        if a.online and b.online:
            return True
        if not ((a.venue or a.lat is not None) and (b.venue or b.lat is not None)):
            return False
    elif a.online or b.online:
        return True
    if _rooms_differ(fold(a.venue or ""), fold(b.venue or "")):
        return False
    if a.lat is not None and b.lat is not None and a.lon is not None and b.lon is not None:
        return haversine_km(a.lat, a.lon, b.lat, b.lon) <= SAME_PLACE_KM
    va, vb = fold(a.venue or ""), fold(b.venue or "")
    if va and vb:
        if fuzz.token_set_ratio(va, vb, processor=default_process) >= 80:
            return True
        ca, cb = fold(a.city or ""), fold(b.city or "")
        return bool(ca and cb and ca == cb)
    return True  # one side does not say where: no evidence against


def _rooms_differ(a: str, b: str) -> bool:
    room = re.compile(r"\b(?:room|hall|stage|track|floor|suite)\s*(\w+)")
    ra, rb = room.findall(a), room.findall(b)
    return bool(ra and rb and ra != rb)


def same_event(a: Listing, b: Listing, *, url_decisive: bool = True, series: Series = frozenset()) -> bool:
    """`url_decisive`: the shared URL names one event page (no other listing of either source uses it).
    `series`: the segments that are series names (`series_segments` of the listings compared)."""
    if a.source == b.source:
        return False
    gap = abs(a.start - b.start)
    ua, ub = normalize_url(a.url), normalize_url(b.url)
    if url_decisive and ua and ua == ub and gap <= URL_TOLERANCE and "/" in ua:
        return True
    if a.all_day != b.all_day:
        return False
    # Two different organizers at the same time: only a place both name makes them one event.
    strict = bool(a.group and b.group and fold(a.group) != fold(b.group))
    if gap > START_TOLERANCE or not places_agree(a, b, strict=strict):
        return False
    verdict = _title_verdict(a, b, series)
    return verdict is True or (verdict is False and places_agree(a, b, strict=True))


def clusters(listings: Iterable[Listing]) -> list[list[Listing]]:
    """Groups of listings of one real event (singletons left out), never two of one source."""
    items = sorted(listings, key=lambda x: (x.start, x.id))
    parent = {x.id: x.id for x in items}
    members = {x.id: {x.source} for x in items}

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    series = series_segments(items)
    url_of = {x.id: normalize_url(x.url) for x in items}
    uses: dict[tuple[str, str], int] = {}
    for x in items:
        if url_of[x.id]:
            uses[(x.source, url_of[x.id])] = uses.get((x.source, url_of[x.id]), 0) + 1
    def join(a: Listing, b: Listing) -> None:
        ra, rb = root(a.id), root(b.id)
        if ra != rb and not members[ra] & members[rb]:  # never two events of one source
            parent[rb] = ra
            members[ra] |= members.pop(rb)

    def decisive(a: Listing, b: Listing) -> bool:
        return uses[(a.source, url_of[a.id])] == 1 and uses[(b.source, url_of[b.id])] == 1

    # Listings that share an event-page URL (within half a day).
    by_url: dict[str, list[Listing]] = {}
    for x in items:
        if url_of[x.id]:
            by_url.setdefault(url_of[x.id], []).append(x)
    for group in by_url.values():
        for j, b in enumerate(group):
            for a in group[:j]:
                if b.start - a.start <= URL_TOLERANCE and same_event(a, b, url_decisive=decisive(a, b), series=series):
                    join(a, b)
    # Listings that start within 30 minutes of each other.
    window_start = 0
    for j, b in enumerate(items):
        while items[window_start].start < b.start - START_TOLERANCE:
            window_start += 1
        for a in items[window_start:j]:
            shared = bool(url_of[a.id]) and url_of[a.id] == url_of[b.id]
            if same_event(a, b, url_decisive=shared and decisive(a, b), series=series):
                join(a, b)
    groups: dict[str, list[Listing]] = {}
    for x in items:
        groups.setdefault(root(x.id), []).append(x)
    return [g for g in groups.values() if len(g) > 1]


def canonical(cluster: list[Listing]) -> Listing:
    return max(cluster, key=lambda x: (not x.removed, x.priority, x.filled, -x.start.timestamp(), x.id))


def assignments(listings: Iterable[Listing]) -> dict[str, str]:
    """event id -> canonical event id, for every merged event (the canonical one maps to itself)."""
    out: dict[str, str] = {}
    for cluster in clusters(listings):
        head = canonical(cluster).id
        for x in cluster:
            out[x.id] = head
    return out
