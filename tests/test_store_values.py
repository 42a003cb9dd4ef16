"""The events repository hands out StoredEvent values: decoded lists and times, the store's bookkeeping."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from aggregator.model import Event, Venue
from aggregator.store import Store, StoredEvent, UnknownEvent, event_id
from tests.conftest import NOW, PORTLAND

UTC = timezone.utc
START = datetime(2026, 12, 3, 18, 30, tzinfo=PORTLAND)


def event(uid="e1", title="Python night", **kw) -> Event:
    return Event(source_uid=uid, title=title, **{"start": START, "group": "PDX Python", **kw})


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "events.db")
    yield s
    s.close()


def test_a_stored_event_is_decoded_and_follows_changes_and_vanishing(store):
    store.events.save("src", [event(tags=("python", "typing"), venue=Venue("Lib", city="Portland"))],
                      now=NOW, tz=PORTLAND)
    ident = event_id("src", "e1")
    first = store.events.find(ident[:6])  # a unique prefix is enough
    assert isinstance(first, StoredEvent) and first.id == ident and first.source == "src"
    assert first.event.tags == ("python", "typing") and first.event.venue.city == "Portland"
    assert first.event.start == START and first.start_utc == datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    assert (first.sequence, first.first_seen, first.removed_at, first.canonical_id) == (0, NOW, None, None)
    later = NOW + timedelta(days=1)
    store.events.save("src", [event(title="Python night (moved)", tags=("python",))], now=later, tz=PORTLAND)
    changed = store.events.get(ident)
    assert changed.title == "Python night (moved)" and changed.event.tags == ("python",)
    assert (changed.sequence, changed.first_seen, changed.updated_at) == (1, NOW, later)
    store.events.save("src", [event("e2", start=START + timedelta(days=1))], now=later, tz=PORTLAND)
    removed, warning = store.events.mark_vanished("src", {event_id("src", "e2"), event_id("src", "e3")},
                                                  now=later, until=later + timedelta(days=30))
    assert (removed, warning) == (1, None)
    gone = store.events.get(ident)
    assert gone.removed_at == later and gone.sequence == 2


def test_merged_away_names_the_event_shown_in_anothers_place(store):
    store.events.save("a", [event()], now=NOW, tz=PORTLAND)
    store.events.save("b", [event()], now=NOW, tz=PORTLAND)
    main, other = event_id("a", "e1"), event_id("b", "e1")
    store.merges.apply_canonical({main: main, other: main}, start=NOW, end=NOW + timedelta(days=30))
    assert not store.events.get(main).merged_away and store.events.get(other).merged_away
    assert store.events.get(other).canonical_id == main
    assert store.events.get("no such id") is None


def test_an_unknown_or_ambiguous_prefix_is_bad_usage(store):
    store.events.save("src", [event(f"e{i}") for i in range(1000)], now=NOW, tz=PORTLAND)
    ids = sorted(event_id("src", f"e{i}") for i in range(1000))  # some two share 4 characters
    shared = next(a[:4] for a, b in zip(ids, ids[1:], strict=False) if a[:4] == b[:4])
    with pytest.raises(UnknownEvent, match="several events") as info:
        store.events.find(shared)
    assert info.value.exit_code == 2
    with pytest.raises(UnknownEvent, match="unknown event id"):
        store.events.find("zzzzzz")


def test_the_store_is_its_repositories_and_nothing_else(store):
    """Issue 9: the facade is gone. Callers reach data through one repository per concern; a new
    data method on Store itself would bring the 46-method class back."""
    assert [name for name in vars(Store) if not name.startswith("_")] == ["close"]
    assert sorted(vars(store)) == ["attendance", "database", "events", "http_cache", "merges", "people", "personal",
                                   "publish", "rank_cache", "runs"]


def test_merged_listings_complete_the_canonical_event_with_every_source_named(store):
    """What one source lacks another may say: ranking reads the canonical event completed from the
    listings merged into it (not the one gone from its source), with every source named."""
    from aggregator.ranking import listing

    store.events.save("a", [event(url=None, tags=("python",))], now=NOW, tz=PORTLAND)
    store.events.save("b", [event(url="https://b.example/e", tags=("meetup", "python"),
                                  venue=Venue("Library", None, "Portland", 45.5, -122.6))], now=NOW, tz=PORTLAND)
    store.events.save("c", [event(description="from c, which dropped it")], now=NOW, tz=PORTLAND)
    lead = event_id("a", "e1")
    store.merges.apply_canonical({lead: lead, event_id("b", "e1"): lead, event_id("c", "e1"): lead},
                                 start=NOW - timedelta(days=30), end=NOW + timedelta(days=30))
    store.database.conn.execute("update events set removed_at = ? where id = ?",
                                ["2026-11-30T00:00:00Z", event_id("c", "e1")])
    [shown] = store.events.between(start=NOW, end=NOW + timedelta(days=30))
    assert shown.id == lead and shown.is_canonical and shown.event.url is None
    [completed] = listing.with_merged(store, [shown])
    assert completed.sources == ["a", "b"]
    assert completed.event.url == "https://b.example/e"
    assert completed.event.tags == ("python", "meetup")
    assert completed.event.venue == Venue("Library", None, "Portland", 45.5, -122.6)
    assert completed.event.description is None  # only the vanished listing had one
    assert completed.start_utc == shown.start_utc and completed.sequence == shown.sequence
