"""The snapshot read from SQLite: recency as of the query's now; topic matches by field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator import contacts
from aggregator.model import Event, Person
from aggregator.ranking import predict
from aggregator.ranking import score as rank
from aggregator.ranking.listing import COLD
from aggregator.store import Store, event_id, fts_phrase
from aggregator.store.rank_cache import CACHE_KEY
from tests.conftest import NOW, PORTLAND

CSV = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\nDana,Lee,,dana@example.org,,,01 Nov 2026\n"


def test_recency_is_weighed_at_the_query_now_not_at_fetch_time(tmp_path):
    """Regression (issue 12): rates computed at fetch time went stale when `upcoming` ran days later."""
    store = Store(tmp_path / "events.db")
    (tmp_path / "c.csv").write_text(CSV)
    contacts.import_file(store, tmp_path / "c.csv", now=NOW)
    dana = Person("Dana Lee", email="dana@example.org", status="going")
    other = Person("Pat Other", email="pat@example.org", status="going")
    past = [Event(f"p{i}", f"Night {i}", NOW - timedelta(days=10 + 30 * i), group="PDX Rust",
                  attendees=(dana, other) if i == 0 else (other,)) for i in range(6)]
    store.events.save("src", past, now=NOW, tz=PORTLAND)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    [cid] = [c.id for c in store.people.contacts()]
    everyone = {"weights": {cid: 1.0}, "floor": rank.MIN_LISTED, "every": {"PDX Rust"}}
    soon = load(store, ["PDX Rust"], NOW, **everyone)
    later = load(store, ["PDX Rust"], NOW + timedelta(days=365), **everyone)
    store.rank_cache.load_recent(soon, ["PDX Rust"])
    assert soon.groups["PDX Rust"].observed == later.groups["PDX Rust"].observed == 6
    assert soon.history["PDX Rust"][cid].hits == 1
    # The same rows read a year later weigh her visit as a year older.
    assert later.history["PDX Rust"][cid].weighted < soon.history["PDX Rust"][cid].weighted / 10
    assert soon.recent["PDX Rust"][0] == event_id("src", "p0")
    assert soon.recent_hits[("PDX Rust", cid)] == 1
    store.close()


def test_topic_match_names_the_field_it_was_found_in(tmp_path):
    store = Store(tmp_path / "events.db")
    events = [Event("t", "Rust night", NOW + timedelta(days=3), group="Hack Club"),
              Event("g", "Tags only", NOW + timedelta(days=3), group="Hack Club", tags=("rust",)),
              Event("d", "Hack night", NOW + timedelta(days=3), group="Hack Club", description="We write Rust."),
              Event("n", "Hack night", NOW + timedelta(days=3), group="PDX Rust Club"),
              Event("x", "Hack night", NOW + timedelta(days=3), group="Hack Club")]
    store.events.save("src", events, now=NOW, tz=PORTLAND)
    ids = {e.source_uid: event_id("src", e.source_uid) for e in events}
    found = store.rank_cache.topic_matches(fts_phrase("rust"), list(ids.values()))
    where = {uid: found[i][1] for uid, i in ids.items() if i in found}
    assert where == {"t": "title", "g": "title", "d": "description", "n": "group_name"}
    value = {uid: rank.topic_relevance({"rust": found}, i, {"rust": 2.0})[0] for uid, i in ids.items()}
    assert min(value["t"], value["g"]) > value["d"] > value["n"] > value["x"] == 0
    store.close()


def test_the_cached_sums_are_exact_at_a_later_now_and_count_every_contact(tmp_path):
    """The cache is weighted at its build time; rescaled to a later now it must equal a fresh build,
    and the per-group sums (used when only a few contacts are read) must equal summing every contact."""
    store = Store(tmp_path / "events.db")
    names = [("Dana", "Lee"), ("Sam", "Ortiz"), ("Ravi", "Patel"), ("Mei", "Wang"), ("Ana", "Berg"), ("Lu", "Chen")]
    (tmp_path / "c.csv").write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n" + "".join(
        f"{f},{last},,{f.lower()}@example.org,,,01 Nov 2026\n" for f, last in names))
    contacts.import_file(store, tmp_path / "c.csv", now=NOW)
    people = [Person(f"{f} {last}", email=f"{f.lower()}@example.org", status="going") for f, last in names]
    # Lu came once, three years ago: a rate too low to be listed, which the sums alone account for.
    past = [Event(f"p{i}", f"Night {i}", NOW - timedelta(days=3 + 9 * i + (700 if i == 39 else 0)), group="PDX Rust",
                  attendees=tuple(p for k, p in enumerate(people[:5]) if (i + 1) % (k + 1) == 0)
                  + ((people[5],) if i == 39 else ())) for i in range(40)]
    store.events.save("src", past, now=NOW, tz=PORTLAND)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    weights = {c.id: 1.0 + (c.id % 3) / 2 for c in store.people.contacts()}
    args = {"weights": weights, "floor": rank.MIN_LISTED}
    load(store, ["PDX Rust"], NOW, **args)  # builds the cache at NOW
    later = NOW + timedelta(days=40)
    rescaled = load(store, ["PDX Rust"], later, every={"PDX Rust"}, **args)
    store.database.conn.execute("delete from meta where key = ?", [CACHE_KEY])
    fresh = load(store, ["PDX Rust"], later, every={"PDX Rust"}, **args)
    assert rescaled.groups["PDX Rust"].total == pytest.approx(fresh.groups["PDX Rust"].total, rel=1e-9)
    for cid, h in fresh.history["PDX Rust"].items():
        assert rescaled.history["PDX Rust"][cid].weighted == pytest.approx(h.weighted, rel=1e-9)
    few = load(store, ["PDX Rust"], later, weights=weights, floor=0.3)
    # Read: whoever may be listed (their calibrated P is not in the sums), whatever the floor asked.
    assert len(few.history["PDX Rust"]) == 5 < len(fresh.history["PDX Rust"]) == 6
    for slot in range(7):
        by_sums = rank.SocialModel(few, _weighted(weights)).predicted("PDX Rust", slot)[0]
        fresh.sums = {}
        by_everyone = rank.SocialModel(fresh, _weighted(weights)).predicted("PDX Rust", slot)[0]
        assert by_sums == pytest.approx(by_everyone, rel=1e-9)
    store.close()


def load(store, groups, now, **args):
    return store.rank_cache.load(groups, now, constants=predict.CONSTANTS, cold=COLD, **args)


class _weighted(rank.People):
    def __init__(self, weights):
        super().__init__({}, NOW.date(), 182)
        self.weights = weights

    def who(self, cid):
        return (f"contact {cid}", False, None, self.weights[cid])
