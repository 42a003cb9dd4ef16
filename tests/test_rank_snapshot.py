"""The snapshot read from SQLite: recency as of the query's now; topic matches by field."""

from __future__ import annotations

from datetime import timedelta

from aggregator import contacts, rank, snapshot
from aggregator.model import Event, Person
from aggregator.store import Store, event_id, fts_phrase
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
    store.save_events("src", past, now=NOW, tz=PORTLAND)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    [cid] = [c["id"] for c in store.contact_rows()]
    soon = snapshot.load(store, ["PDX Rust"], NOW)
    later = snapshot.load(store, ["PDX Rust"], NOW + timedelta(days=365))
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
    store.save_events("src", events, now=NOW, tz=PORTLAND)
    ids = {e.source_uid: event_id("src", e.source_uid) for e in events}
    found = snapshot.topic_matches(store, fts_phrase("rust"), list(ids.values()))
    where = {uid: found[i][1] for uid, i in ids.items() if i in found}
    assert where == {"t": "title", "g": "title", "d": "description", "n": "group_name"}
    value = {uid: rank.topic_relevance({"rust": found}, i, {"rust": 2.0})[0] for uid, i in ids.items()}
    assert min(value["t"], value["g"]) > value["d"] > value["n"] > value["x"] == 0
    store.close()
