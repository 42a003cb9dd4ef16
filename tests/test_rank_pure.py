"""Pure ranking: a hand-built AttendanceSnapshot in, a Ranked out; no SQLite."""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from aggregator import present
from aggregator.config import Settings
from aggregator.model import AttendanceSnapshot, Contact, Event, StoredEvent
from aggregator.ranking import predict
from aggregator.ranking import score as rank
from aggregator.ranking.predict import ContactHistory, GroupHistory
from tests.conftest import seen, stored_event

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # a Tuesday
TUESDAY, SATURDAY = 1, 5


@pytest.fixture
def settings(tmp_path):
    from aggregator import config

    path = tmp_path / "config.yaml"
    path.write_text("timezone: UTC\nprofile:\n  topics: {rust: 2, python: 1}\n"
                    "sources: [{name: src, kind: ics, url: 'https://example.org/a.ics'}]\n")
    return config.load(path)


def row(eid: str, start: datetime, group: str = "PDX Rust") -> StoredEvent:
    """A stored event built by hand: decoding rows is the store's job."""
    return stored_event(Event(source_uid=eid, title=f"Event {eid}", start=start, group=group))


def snapshot_of(history: dict[int, ContactHistory], group: GroupHistory, contacts: dict[int, str]) -> AttendanceSnapshot:
    return AttendanceSnapshot(now=NOW, groups={"PDX Rust": group}, history={"PDX Rust": history},
                              contacts={cid: Contact(cid, name, weight=1.0, last_contacted="2026-11-20")
                                        for cid, name in contacts.items()})


def social(snap: AttendanceSnapshot, settings: Settings) -> rank.SocialModel:
    return rank.social_model(snap, settings, NOW)


def test_every_contact_with_evidence_counts_though_only_some_are_listed(settings):
    group = GroupHistory(10.0, {TUESDAY: 10.0}, 10)
    snap = snapshot_of({1: ContactHistory(8.0, {TUESDAY: 8.0}, 8), 2: ContactHistory(0.05, {TUESDAY: 0.05}, 1)},
                       group, {1: "Dana Lee", 2: "Sam Ortiz"})
    item = rank.score(row("e1", NOW + timedelta(days=7)), {}, social(snap, settings), settings, topics={})
    low = predict.probability(snap.history["PDX Rust"][2], group, TUESDAY)
    assert 0 < low < rank.MIN_LISTED  # Sam: unlisted ...
    assert [c["name"] for c in item.contacts] == ["Dana Lee"]
    high = item.chances[0].probability
    assert item.social_part == pytest.approx(1 + high + low)  # ... yet counted (issue 12: 12.6% came from such)


def test_weekday_history_beats_the_overall_rate(settings):
    """Dana comes on Tuesdays, not Saturdays: a Tuesday event is likelier for her than a Saturday one."""
    group = GroupHistory(10.0, {TUESDAY: 5.0, SATURDAY: 5.0}, 10)
    dana = ContactHistory(4.0, {TUESDAY: 4.0}, 4)
    tuesday = predict.probability(dana, group, TUESDAY)
    saturday = predict.probability(dana, group, SATURDAY)
    overall = predict.overall_rate(dana, group)
    assert tuesday > overall > saturday > 0
    # One Saturday seen says little: shrunk toward the overall rate, not to 1.
    once = ContactHistory(1.0, {SATURDAY: 1.0}, 1)
    assert predict.probability(once, GroupHistory(10.0, {SATURDAY: 1.0, TUESDAY: 9.0}, 10), SATURDAY) < 0.5


def test_speaker_host_rsvp_logged_and_extra_chances(settings):
    snap = snapshot_of({1: ContactHistory(1.0, {TUESDAY: 1.0}, 1)}, GroupHistory(10.0, {TUESDAY: 10.0}, 10),
                       {1: "Dana Lee", 2: "Sam Ortiz", 3: "Ravi Patel", 4: "Mei Wang", 5: "Ana Berg"})
    attendance = [seen(1, "speaker", "going"),
                  seen(2, "host", "going"),
                  seen(3, "feed", "maybe"),
                  seen(4, "manual", "attended")]
    item = rank.score(row("e1", NOW + timedelta(days=7)), {}, social(snap, settings), settings, topics={},
                      attendance=attendance, extra=[(5, "mentioned", 0.4)])
    got = {c["name"]: (c["evidence"], c["probability"]) for c in item.contacts}
    assert got == {"Dana Lee": ("speaker", 0.95), "Sam Ortiz": ("host", 0.9), "Ravi Patel": ("rsvp", 0.5),
                   "Mei Wang": ("logged", 0.9), "Ana Berg": ("mentioned", 0.4)}
    # Dana's prediction is replaced by her speaking, not added to it.
    assert item.social_part == pytest.approx(1 + 0.95 + 0.9 + 0.5 + 0.9 + 0.4)


def test_the_parts_multiply_to_the_score_for_any_event(settings):
    """Property over seeded random events: why's parts reconcile exactly as CONTRACT.md says."""
    rng = random.Random(12)
    for trial in range(40):
        n = rng.randint(0, 12)
        history = {cid: ContactHistory(w, {rng.randint(0, 6): w}, 1) for cid in range(1, n + 1)
                   if (w := rng.uniform(0.01, 3.0))}
        group = GroupHistory(5.0, {d: 5.0 / 7 for d in range(7)}, 5)
        snap = snapshot_of(history, group, {cid: f"Person {cid}" for cid in history})
        for cid in snap.contacts:
            snap.contacts[cid] = replace(snap.contacts[cid],
                                             last_contacted=rng.choice([None, "2025-01-01", "2026-11-30"]))
        start = NOW + timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 23))
        matches = {"rust": {"e": (-rng.uniform(0, 20), rng.choice(["title", "description", "group_name"]))}}
        if rng.random() < 0.5:
            matches["python"] = {"e": (-rng.uniform(0, 20), "title")}
        item = rank.score(row("e", start), matches, social(snap, settings), settings,
                          topics={"rust": 2.0, "python": 1.0}, every=True)
        why = present.explanation(item, {}, topic_base=rank.TOPIC_BASE, formula=rank.FORMULA)
        topic, people, distance = why["topic_part"], why["social_part"], why["distance_factor"]
        assert why["score"] == pytest.approx(topic["value"] * people["value"] * distance["value"], abs=2e-3)
        assert topic["value"] == pytest.approx(topic["base"] + sum(topic["topics"].values()), abs=1e-3)
        assert people["value"] == pytest.approx(1 + sum(c["contribution"] for c in people["contacts"]), abs=1e-3)
        assert len(people["contacts"]) == len(history), trial  # every contact with evidence is shown


def test_a_topic_in_the_title_counts_more_than_in_the_description_than_in_the_group():
    topics = {"rust": 2.0}
    value = {where: rank.topic_relevance({"rust": {"e": (-5.0, where)}}, "e", topics)[0]
             for where in ("title", "tags", "description", "group_name")}
    assert value["title"] == value["tags"] > value["description"] > value["group_name"] > 0


PURE = ("aggregator.ranking.score", "aggregator.ranking.predict", "aggregator.ranking.coldstart",
        "aggregator.ranking.rollup", "aggregator.ranking.mentions", "aggregator.present")


def test_ranking_imports_nothing_from_the_store():
    """Issues 9, 19: the ranking package's pure parts (score, predict, coldstart, rollup, mentions) and
    present import nothing of the store, at any depth and inside functions too; listing.py alone reads
    through it. The front door loads listing on first use only."""
    import ast
    import importlib.util

    seen, todo = set(), list(PURE)
    while todo:  # every aggregator module they import (the package's front door is checked below)
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse(open(importlib.util.find_spec(name).origin, encoding="utf-8").read())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                if isinstance(node, ast.ImportFrom) and node.module else [])
            names = [n for n in names if _module(n) and n != "aggregator.ranking"]
            todo += [n for n in names if n.startswith("aggregator.")]
    assert {"aggregator.model", "aggregator.config", "aggregator.ranking.predict"} <= seen
    assert not {n for n in seen if n.startswith("aggregator.store") or n == "aggregator.ranking.listing"}, seen
    # At run time too: importing them, and `Ranked` from the front door, opens no store module.
    code = ("import sys\nimport " + ", ".join(PURE) + "\nfrom aggregator.ranking import Ranked\n"
            "print(sorted(m for m in sys.modules if m.startswith('aggregator.store') or m.endswith('.listing')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _module(name: str) -> bool:
    """Whether `name` is a module (not a function or class imported from one)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
