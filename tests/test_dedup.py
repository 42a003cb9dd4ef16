"""Cross-source merging on a labelled set, and the store/pipeline around it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml

from aggregator import dedup
from aggregator.dedup import Listing
from tests.conftest import FIXTURES

UTC = timezone.utc
PAIRS = yaml.safe_load((FIXTURES / "dedup_pairs.yaml").read_text(encoding="utf-8"))


def listing(fields: dict, ident: str) -> Listing:
    data = dict(fields)
    data["start"] = datetime.fromisoformat(data["start"]).replace(tzinfo=UTC)
    return Listing(id=ident, **data)


def merged(case: dict) -> bool:
    a, b = listing(case["a"], "a"), listing(case["b"], "b")
    extra = [listing(x, f"x{i}") for i, x in enumerate(case.get("extra", []))]
    return any({"a", "b"} <= {x.id for x in c} for c in dedup.clusters([a, b, *extra]))


def score() -> tuple[float, float, list[str], list[str]]:
    tp = fp = fn = 0
    wrong, missed = [], []
    for case in PAIRS:
        got = merged(case)
        if got and case["same"]:
            tp += 1
        elif got:
            fp += 1
            wrong.append(case["case"])
        elif case["same"]:
            fn += 1
            missed.append(case["case"])
    return tp / ((tp + fp) or 1), tp / ((tp + fn) or 1), wrong, missed


def test_labelled_set_has_at_least_40_pairs_of_both_kinds():
    assert len(PAIRS) >= 40
    assert sum(c["same"] for c in PAIRS) >= 15 and sum(not c["same"] for c in PAIRS) >= 15


def test_precision_is_perfect_and_recall_high():
    precision, recall, wrong, missed = score()
    print(f"dedup on {len(PAIRS)} labelled pairs: precision {precision:.3f}, recall {recall:.3f}; missed: {missed}")
    assert wrong == []
    assert recall >= 0.95


def test_never_two_events_of_one_source_in_a_cluster():
    start = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    items = [Listing("m1", "meetup", start, "Typing in practice"),
             Listing("m2", "meetup", start, "Typing in practice"),
             Listing("c1", "calagator", start, "Typing in practice")]
    [cluster] = dedup.clusters(items)
    assert sorted(x.source for x in cluster) == ["calagator", "meetup"]


def test_canonical_prefers_priority_then_completeness():
    start = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    a = Listing("a", "calagator", start, "T", priority=0, filled=4)
    b = Listing("b", "meetup", start, "T", priority=5, filled=1)
    c = Listing("c", "luma", start, "T", priority=0, filled=2)
    assert dedup.canonical([a, b, c]).id == "b"
    assert dedup.canonical([a, c]).id == "a"


@pytest.mark.parametrize("title,group,expected", [
    ("PDX Python: Typing in practice", "PDX Python", "typing practice"),
    ("Rust hack night (online)", None, "rust hack"),
    ("[Virtual] AI demo night", None, "ai demo"),
    ("CANCELLED: Café de la Tech", None, "cafe de la tech"),
])
def test_normalize_title(title, group, expected):
    assert dedup.normalize_title(title, group) == expected


def test_a_week_of_listings_clusters_quickly_and_correctly():
    base = datetime(2026, 12, 1, tzinfo=UTC)
    items = []
    for day in range(7):
        for slot in range(20):
            start = base + timedelta(days=day, hours=slot % 10, minutes=7 * slot)
            title = f"Talk {day} {slot} about topic{slot}"
            items.append(Listing(f"m{day}-{slot}", "meetup", start, title))
            items.append(Listing(f"c{day}-{slot}", "calagator", start + timedelta(minutes=10), title + " (online)",
                                 online=True))
    found = dedup.clusters(items)
    assert len(found) == 140 and all(len(c) == 2 for c in found)
    assert all(c[0].id[1:] == c[1].id[1:] for c in found)


# -- through the real pipeline ------------------------------------------------------
from tests.conftest import Cli, write_config  # noqa: E402

MEETUP = """BEGIN:VCALENDAR
X-WR-CALNAME:Events - PDX Python
BEGIN:VEVENT
UID:event_301@meetup.com
SUMMARY:Typing in practice
DTSTART;TZID=America/Los_Angeles:20261203T183000
DTEND;TZID=America/Los_Angeles:20261203T203000
LOCATION:Puppet Labs (308 SW 2nd Ave\\, Portland\\, OR)
URL:https://www.meetup.com/pdxpython/events/301/
ATTENDEE;CN=Dana Lee;PARTSTAT=ACCEPTED:mailto:dana@example.org
END:VEVENT
BEGIN:VEVENT
UID:event_302@meetup.com
SUMMARY:Project night
DTSTART;TZID=America/Los_Angeles:20261210T183000
LOCATION:Puppet Labs
END:VEVENT
END:VCALENDAR
"""
LUMA = """<!DOCTYPE html><html><head><title>PDX Python: Typing in practice · Luma</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Event",
 "name": "PDX Python: Typing in practice", "url": "https://lu.ma/typing-pdx",
 "startDate": "2026-12-04T02:45:00.000Z", "endDate": "2026-12-04T04:45:00.000Z",
 "description": "Gradual typing with mypy and pyright, in depth.",
 "location": {"@type": "Place", "name": "Puppet Labs", "address": "308 SW 2nd Ave, Portland"},
 "attendee": [{"@type": "Person", "name": "Sam Ortiz"}]}</script></head><body></body></html>
"""
COMMUNITY = """BEGIN:VCALENDAR
X-WR-CALNAME:Calagator
BEGIN:VEVENT
UID:calagator-9001
SUMMARY:Typing in Practice (PDX Python)
DTSTART:20261204T023000Z
DTEND:20261204T043000Z
LOCATION:Puppet Labs
GEO:45.5225;-122.6722
ATTENDEE;CN=Ravi Patel;PARTSTAT=ACCEPTED:mailto:ravi@example.org
END:VEVENT
BEGIN:VEVENT
UID:calagator-9002
SUMMARY:Advanced Rust
DTSTART:20261204T023000Z
LOCATION:Puppet Labs
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def three_ways(tmp_path, server):
    urls = {name: server.add(f"/{name}.ics", body.encode()) for name, body in
            (("meetup", MEETUP), ("calagator", COMMUNITY))}
    urls["luma"] = server.add("/typing-pdx", LUMA.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
    cli = Cli(write_config(tmp_path, [
        {"name": "meetup", "kind": "ics", "url": urls["meetup"], "group": "PDX Python", "priority": 2},
        {"name": "luma", "kind": "luma", "url": urls["luma"], "priority": 1},
        {"name": "calagator", "kind": "ics", "url": urls["calagator"]},
    ], profile={"topics": {"python": 1}}))
    assert cli("fetch").returncode == 0
    return cli, server


def test_one_event_written_three_ways_is_listed_once_with_every_attendee(three_ways):
    cli, _ = three_ways
    events = cli.json("upcoming", "--limit", "0", "--days", "30")
    typing = [e for e in events if "Typing" in e["title"]]
    assert len(typing) == 1
    [one] = typing
    assert one["title"] == "Typing in practice"  # from the highest-priority source
    assert one["sources"] == ["meetup", "calagator", "luma"]
    assert one["group"] == "PDX Python"
    assert one["description"] == "Gradual typing with mypy and pyright, in depth."  # filled in from Luma
    assert {"Advanced Rust", "Project night"} <= {e["title"] for e in events}  # other sessions stay apart
    import sqlite3

    with sqlite3.connect(cli.config.parent / "events.db") as db:
        names = {r[0] for r in db.execute(
            "select a.name from attendance a join events e on e.id = a.event_id where e.canonical_id = ?",
            [one["id"]])}
    assert names == {"Dana Lee", "Sam Ortiz", "Ravi Patel"}


def test_a_merge_undoes_itself_when_a_source_changes(three_ways):
    cli, server = three_ways
    server.add("/typing-pdx", LUMA.replace("2026-12-04T0", "2026-12-11T0").encode(),
               headers={"Content-Type": "text/html"})
    assert cli("fetch").returncode == 0
    typing = [e for e in cli.json("upcoming", "--limit", "0", "--days", "30") if "Typing" in e["title"]]
    assert sorted(len(e["sources"]) for e in typing) == [1, 2]


def test_a_vanished_event_is_cancelled_and_published_so(three_ways):
    cli, server = three_ways
    server.add("/meetup.ics", MEETUP.replace("UID:event_302", "UID:gone").replace("Project night", "Renamed").encode())
    result = cli("fetch", "--json")
    import json

    report = {s["name"]: s for s in json.loads(result.stdout)["sources"]}
    assert report["meetup"]["removed"] == 1
    titles = {e["title"]: e for e in cli.json("upcoming", "--limit", "0", "--days", "30", "--include-cancelled")}
    assert "Project night" in titles and "Renamed" in titles
    feed = cli("feed").stdout
    block = feed.split("SUMMARY:Project night")[1].split("END:VEVENT")[0]
    assert "STATUS:CANCELLED" in block
    assert "Project night" not in {e["title"] for e in cli.json("upcoming", "--limit", "0", "--days", "30")}


def test_an_event_gone_from_one_source_but_listed_by_another_stays_live(three_ways):
    cli, server = three_ways
    server.add("/meetup.ics", MEETUP.replace("UID:event_301@meetup.com", "UID:other@meetup.com")
               .replace("Typing in practice", "Something else").encode())
    assert cli("fetch").returncode == 0
    typing = [e for e in cli.json("upcoming", "--limit", "0", "--days", "30", "--include-cancelled")
              if "Typing" in e["title"]]
    assert len(typing) == 1 and typing[0]["status"] == "confirmed"
    assert typing[0]["sources"] == ["luma", "calagator"]  # luma leads now; meetup's copy is gone
    feed = cli("feed").stdout
    assert feed.count("Typing in practice") + feed.count("Typing in Practice") == 1
    assert "STATUS:CANCELLED" not in feed.split("Typing")[1].split("END:VEVENT")[0]


def test_a_suspect_empty_fetch_removes_nothing(three_ways):
    cli, server = three_ways
    server.add("/meetup.ics", b"BEGIN:VCALENDAR\nX-WR-CALNAME:Events - PDX Python\nEND:VCALENDAR\n")
    result = cli("fetch")
    assert result.returncode == 0
    assert "suspect fetch: 0 upcoming events where 2 were stored; none removed" in result.stderr
    titles = {e["title"] for e in cli.json("upcoming", "--limit", "0", "--days", "30")}
    assert {"Typing in practice", "Project night"} <= titles
    [health] = [h for h in cli.json("sources") if h["name"] == "meetup"]
    assert health["warning"].startswith("suspect fetch")


def test_an_update_bumps_sequence_and_a_refetch_writes_nothing(three_ways):
    cli, server = three_ways
    import sqlite3

    db_path = cli.config.parent / "events.db"
    snapshot = lambda: sqlite3.connect(db_path).execute(  # noqa: E731
        "select id, sequence, updated_at, canonical_id from events order by id").fetchall()
    before = snapshot()
    assert cli("fetch").returncode == 0
    assert snapshot() == before  # nothing changed, nothing written
    server.add("/calagator.ics", COMMUNITY.replace("LOCATION:Puppet Labs\nGEO", "LOCATION:Puppet Labs 2F\nGEO").encode())
    assert cli("fetch").returncode == 0
    changed = {r[0]: r[1] for r in snapshot()}
    old = {r[0]: r[1] for r in before}
    bumped = [i for i in changed if changed[i] != old[i]]
    assert len(bumped) == 1 and changed[bumped[0]] == old[bumped[0]] + 1


def test_a_source_with_nothing_new_for_30_days_is_flagged_stale(three_ways):
    cli, _ = three_ways
    import sqlite3

    with sqlite3.connect(cli.config.parent / "events.db") as db:
        db.execute("update sources set last_new_at = '2026-10-01T00:00:00Z' where name = 'calagator'")
    health = {h["name"]: h for h in cli.json("sources")}
    assert health["calagator"]["stale"] is True and health["meetup"]["stale"] is False
    text = cli("sources").stdout
    assert "calagator  ics  2 events, 2 upcoming" in text and "stale: nothing new for 30 days" in text


def _at(day: int, hour: int = 2) -> datetime:
    return datetime(2027, 2, day, hour, tzinfo=UTC)


def _pair_merged(items: list[Listing], a: str, b: str) -> bool:
    return any({a, b} <= {x.id for x in c} for c in dedup.clusters(items))


def test_a_suffix_that_recurs_across_a_sources_events_is_its_series_name():
    venue = "Puppet Labs"
    a = Listing("a", "meetup", _at(3), "GitOps in practice | Cloud Native PDX", venue=venue)
    b = Listing("b", "calagator", _at(3), "GitOps in practice | CNCF Portland", venue=venue)
    assert not _pair_merged([a, b], "a", "b")  # alone: "Talk | X" vs "Talk | Y" could be a series of two talks
    history = [Listing("a2", "meetup", _at(10), "Helm charts 101 | Cloud Native PDX", venue=venue),
               Listing("a3", "meetup", _at(17), "Service mesh basics | Cloud Native PDX", venue=venue),
               Listing("b2", "calagator", _at(12), "Platform teams | CNCF Portland", venue=venue)]
    assert _pair_merged([a, b, *history], "a", "b")  # each suffix is its source's series name: the talk is shared


def test_two_talks_of_a_known_series_stay_two():
    venue = "Puppet Labs"
    items = [Listing("a", "meetup", _at(3), "Kubernetes Night: GitOps in practice", venue=venue),
             Listing("a2", "meetup", _at(10), "Kubernetes Night: Helm charts 101", venue=venue),
             Listing("b", "calagator", _at(3), "Kubernetes Night: Service mesh basics", venue=venue),
             Listing("b2", "calagator", _at(17), "Kubernetes Night: Platform teams", venue=venue)]
    assert dedup.clusters(items) == []


def test_series_segments_are_counted_per_source_over_distinct_days():
    items = [Listing("a", "meetup", _at(3), "Kubernetes Night: GitOps"),
             Listing("a2", "meetup", _at(10), "Kubernetes Night: Helm charts"),
             Listing("a3", "meetup", _at(10, 4), "Lightning talks: Helm charts"),  # same day: not a series
             Listing("b", "calagator", _at(3), "Kubernetes Night: Service meshes")]
    assert dedup.series_segments(items) == {("meetup", "kubernetes")}  # "night" is a stop word


@pytest.mark.parametrize("short,long,same", [
    ("intro rust", "introduction rust language", True),  # a cut word
    ("gitops k8s", "gitops kubernetes", True),  # a numeronym
    ("a11y audits", "accessibility audits", True),
    ("intro rust", "intro go", False),
    ("k8s security", "kotlin security", False),
    ("rust tooling", "rustaceans hacking", False),
])
def test_shortened_words_are_read_without_a_table(short, long, same):
    assert dedup.words_agree(short, long) is same
    assert not hasattr(dedup, "_ABBREVIATIONS")
