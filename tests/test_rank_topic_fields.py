"""The topic part by field: a group or calendar name alone gives at most a third of the same topic
in the title, however strong either match (issue 18), through the pure scorer and through FTS5."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from aggregator.model import Event
from aggregator.ranking import score as rank
from aggregator.store import Store
from aggregator.store.codec import fts_phrase


def contribution(bm25: float, where: str, weight: float = 2.0) -> float:
    return rank.topic_relevance({"rust": {"e": (bm25, where)}}, "e", {"rust": weight})[0]


def test_a_name_alone_gives_at_most_a_third_of_the_title_whatever_the_strengths():
    rng = random.Random(18)
    for _ in range(500):
        weight = rng.uniform(0.1, 5.0)
        in_name = contribution(-rng.uniform(0, 40), "group_name", weight)
        in_title = contribution(-rng.uniform(0, 40), "title", weight)
        assert 0 < in_name <= in_title / 3 + 1e-9


def test_the_other_fields_keep_their_order():
    value = {where: contribution(-5.0, where) for where in ("title", "tags", "description", "group_name")}
    assert value["title"] == value["tags"] > value["description"] > value["group_name"] == pytest.approx(2.0 / 3)


def test_a_calendar_named_for_the_topic_ranks_its_unrelated_event_at_a_third(tmp_path):
    """Through the store's FTS5: a calendar called "Rust PDX" (its name is every entry's group) with a
    board meeting, beside a talk on Rust in the title."""
    start = datetime(2026, 12, 10, 2, tzinfo=timezone.utc)
    store = Store(tmp_path / "events.db")
    try:
        store.events.save("rust-cal", [Event("a", "Board meeting", start, group="Rust PDX"),
                                       Event("b", "Rust: async in production", start + timedelta(days=1),
                                             group="Portland Tech")],
                          now=start - timedelta(days=3), tz=timezone.utc)
        with store.database.lock:
            rows = store.database.conn.execute("select id, title from events").fetchall()
        ids = {title: ident for ident, title in rows}
        found = store.rank_cache.topic_matches(fts_phrase("rust"), list(ids.values()))
        assert found[ids["Board meeting"]][1] == "group_name"
        assert found[ids["Rust: async in production"]][1] == "title"
        topics = {"rust": 3.0}
        board = rank.topic_relevance({"rust": found}, ids["Board meeting"], topics)[0]
        talk = rank.topic_relevance({"rust": found}, ids["Rust: async in production"], topics)[0]
        assert 0 < board <= talk / 3
    finally:
        store.close()
