"""The contacts each (group, weekday) lists, kept by the rank cache (rank_listed) and read by a query
instead of worked out from every contact's sums: the listing must be the one worked out in full, a
day later it is worked out again, and a read-only database still ranks (issue 19)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from aggregator import config, contacts
from aggregator.model import Event, Person, Venue
from aggregator.ranking import listing
from aggregator.ranking import score as rank
from aggregator.store import Store
from aggregator.store.rank_cache import CACHE_KEY, FROZEN_DAYS
from tests.conftest import NOW, PORTLAND, write_config

GROUPS = ["PDX Rust", "Python Night", "Data Club", "Design Crit"]
PEOPLE = [f"{first} {last}" for first in ("Dana", "Sam", "Ravi", "Ada", "Li", "Noor", "Kai", "Mo")
          for last in ("Lee", "Ortiz", "Patel", "Okafor", "Chen")]


@pytest.fixture
def world(tmp_path):
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        profile={"topics": {"rust": 2, "python": 1}, "reconnect_after_days": 182})
    rows = ["First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
    rows += [f"{p.split()[0]},{p.split()[1]},,p{i}@example.org,,,01 Nov 2026" for i, p in enumerate(PEOPLE)]
    (tmp_path / "Connections.csv").write_text("\n".join(rows) + "\n")
    settings = config.load(path)
    store = Store(settings.database)
    contacts.import_file(store, tmp_path / "Connections.csv", now=NOW)
    rng = random.Random(19)
    events = []
    for g, group in enumerate(GROUPS):
        regulars = rng.sample(range(len(PEOPLE)), 12)
        for i in range(30):  # past: a regular comes with their own likelihood, on varied weekdays
            came = tuple(Person(PEOPLE[k], email=f"p{k}@example.org", status="going")
                         for n, k in enumerate(regulars) if rng.random() < 0.9 / (1 + n))
            events.append(Event(f"{g}-past-{i}", f"{group} {i}", NOW - timedelta(days=3 + 9 * i, hours=g),
                                group=group, attendees=came + (Person("Pat Stranger", status="going"),)))
        for i in range(8):  # ahead: every weekday, one with an RSVP, one naming a contact
            rsvp = (Person(PEOPLE[regulars[-1]], email=f"p{regulars[-1]}@example.org", status="going"),) if i == 2 else ()
            events.append(Event(f"{g}-next-{i}", f"{group} next {i}", NOW + timedelta(days=1 + 3 * i, hours=g),
                                group=group, attendees=rsvp, venue=Venue("Hall", lat=45.52, lon=-122.68),
                                description=f"With {PEOPLE[regulars[5]]}" if i == 4 else None))
    store.events.save("src", events, now=NOW, tz=PORTLAND)
    # Weights that differ from the usual one (summed apart by the store): a heavier contact, and one
    # caught up with last week (not overdue).
    ids = {c.name: c.id for c in store.people.contacts()}
    with store.database.transaction():
        store.database.conn.execute("update contacts set weight = 3.0 where id = ?", [ids[PEOPLE[0]]])
        store.database.conn.execute("update contacts set last_contacted = ? where id = ?",
                                    [(NOW - timedelta(days=7)).date().isoformat(), ids[PEOPLE[1]]])
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS, settings.timezone)  # as the fetch does
    yield settings, store
    store.close()


def shown(items) -> list:
    return [(i.id, i.score, round(i.social_part, 9), [(c.contact_id, round(c.probability, 9), c.evidence)
                                                      for c in i.chances], i.reasons) for i in items]


def worked_out_in_full(store, settings, now):
    """The listing with rank_listed unread: its time forgotten and the file read-only, so the query
    cannot work it out again and reads every contact who may reach the list (the exact path)."""
    state = json.loads(store.database.meta(CACHE_KEY))
    state.pop("listed_at", None)
    with store.database.transaction():
        store.database.set_meta(CACHE_KEY, json.dumps(state))
    store.database.conn.execute("PRAGMA query_only = ON")
    try:
        assert not store.rank_cache.listed_fresh(now)
        return shown(listing.upcoming(store, settings, now=now, days=30, limit=0))
    finally:
        store.database.conn.execute("PRAGMA query_only = OFF")


def test_the_listing_read_from_the_cache_is_the_one_worked_out_in_full(world):
    settings, store = world
    assert store.rank_cache.listed_fresh(NOW)
    count = store.database.conn.execute("select count(*) from rank_listed").fetchone()[0]
    assert count > 0
    cached = shown(listing.upcoming(store, settings, now=NOW, days=30, limit=0))
    assert any(len(c) > 2 for *_, c, _ in cached)  # contacts listed, not an empty comparison
    assert any(e == "rsvp" for *_, c, _ in cached for _, _, e in c)
    assert any(e == "mentioned" for *_, c, _ in cached for _, _, e in c)
    assert cached == worked_out_in_full(store, settings, NOW)
    # `limit` names the contacts of the items shown only; they are the same ones
    top = shown(listing.upcoming(store, settings, now=NOW, days=30, limit=5))
    assert top == cached[:5]


def test_a_query_more_than_a_day_later_works_the_listing_out_again(world):
    settings, store = world
    later = NOW + timedelta(days=FROZEN_DAYS + 1)
    assert not store.rank_cache.listed_fresh(later)
    cached = shown(listing.upcoming(store, settings, now=later, days=30, limit=0))
    assert json.loads(store.database.meta(CACHE_KEY))["listed_at"] == later.isoformat()
    assert cached == worked_out_in_full(store, settings, later)


def test_within_a_day_the_kept_chances_stay_within_a_percent_of_exact(world):
    settings, store = world
    soon = NOW + timedelta(hours=20)
    kept = listing.upcoming(store, settings, now=soon, days=30, limit=0)
    exact = {row[0]: row for row in worked_out_in_full(store, settings, soon)}
    for item in kept:
        assert item.social_part == pytest.approx(exact[item.id][2], rel=0.01)
        exact_p = {cid: p for cid, p, _ in exact[item.id][3]}
        for c in item.chances:
            if c.contact_id in exact_p:
                assert c.probability == pytest.approx(exact_p[c.contact_id], rel=0.01)


def test_a_read_only_database_ranks_a_day_later_without_writing(world):
    settings, store = world
    later = NOW + timedelta(days=3)
    expected = worked_out_in_full(store, settings, later)
    store.database.conn.execute("PRAGMA query_only = ON")
    try:
        assert shown(listing.upcoming(store, settings, now=later, days=30, limit=0)) == expected
    finally:
        store.database.conn.execute("PRAGMA query_only = OFF")


def test_the_feed_makes_only_the_chances_it_names_and_says_the_same(world, monkeypatch):
    """feed.build ranks with named_from=SAID: contacts below it still count in the score, and the
    feed's text (reasons, "Likely there") is what it is when every listed contact is made."""
    from aggregator import feed, present
    from aggregator.ranking import rank_events

    settings, store = world
    events = feed.window_events(store, settings, NOW)
    every = rank_events(store, settings, events, now=NOW, roll_up=True)
    few = rank_events(store, settings, events, now=NOW, roll_up=True, named_from=present.SAID)
    assert any(present.LISTED <= c.probability < present.SAID for i in every for c in i.chances)
    assert not any(c.probability < present.SAID and c.evidence == "predicted" for i in few for c in i.chances)
    assert [(i.id, i.score, i.reasons) for i in few] == [(i.id, i.score, i.reasons) for i in every]
    assert [feed.description(i, False) for i in few] == [feed.description(i, False) for i in every]
    built = feed.build(store, settings, now=NOW).body
    monkeypatch.setattr(feed, "SAID", present.LISTED)  # the feed making every listed contact's chance
    assert feed.build(store, settings, now=NOW).body == built
