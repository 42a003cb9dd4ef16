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
    store.save_events("src", [event(tags=("python", "typing"), venue=Venue("Lib", city="Portland"))],
                      now=NOW, tz=PORTLAND)
    ident = event_id("src", "e1")
    first = store.events.find(ident[:6])  # a unique prefix is enough
    assert isinstance(first, StoredEvent) and first.id == ident and first.source == "src"
    assert first.event.tags == ("python", "typing") and first.event.venue.city == "Portland"
    assert first.event.start == START and first.start_utc == datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    assert (first.sequence, first.first_seen, first.removed_at, first.canonical_id) == (0, NOW, None, None)
    later = NOW + timedelta(days=1)
    store.save_events("src", [event(title="Python night (moved)", tags=("python",))], now=later, tz=PORTLAND)
    changed = store.events.get(ident)
    assert changed.title == "Python night (moved)" and changed.event.tags == ("python",)
    assert (changed.sequence, changed.first_seen, changed.updated_at) == (1, NOW, later)
    store.save_events("src", [event("e2", start=START + timedelta(days=1))], now=later, tz=PORTLAND)
    removed, warning = store.events.mark_vanished("src", {event_id("src", "e2"), event_id("src", "e3")},
                                                  now=later, until=later + timedelta(days=30))
    assert (removed, warning) == (1, None)
    gone = store.events.get(ident)
    assert gone.removed_at == later and gone.sequence == 2


def test_merged_away_names_the_event_shown_in_anothers_place(store):
    store.save_events("a", [event()], now=NOW, tz=PORTLAND)
    store.save_events("b", [event()], now=NOW, tz=PORTLAND)
    main, other = event_id("a", "e1"), event_id("b", "e1")
    store.merges.apply_canonical({main: main, other: main}, start=NOW, end=NOW + timedelta(days=30))
    assert not store.events.get(main).merged_away and store.events.get(other).merged_away
    assert store.events.get(other).canonical_id == main
    assert store.events.get("no such id") is None


def test_an_unknown_or_ambiguous_prefix_is_bad_usage(store):
    store.save_events("src", [event(f"e{i}") for i in range(1000)], now=NOW, tz=PORTLAND)
    ids = sorted(event_id("src", f"e{i}") for i in range(1000))  # some two share 4 characters
    shared = next(a[:4] for a, b in zip(ids, ids[1:], strict=False) if a[:4] == b[:4])
    with pytest.raises(UnknownEvent, match="several events") as info:
        store.events.find(shared)
    assert info.value.exit_code == 2
    with pytest.raises(UnknownEvent, match="unknown event id"):
        store.events.find("zzzzzz")
