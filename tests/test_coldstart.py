"""Cold start (issue 12): a contact new to a group "might be there" from the groups they go to that share
its members, never above a contact with real history there."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from aggregator import contacts, present
from aggregator.model import AttendanceSnapshot, ColdStart, ColdStartInputs, Contact, Event, Person, StoredEvent
from aggregator.ranking import coldstart, listing, predict
from aggregator.ranking import score as rank
from aggregator.ranking.listing import COLD
from aggregator.ranking.predict import ContactHistory, GroupHistory
from aggregator.store import Store
from tests.conftest import PORTLAND, stored_event

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # a Tuesday
TUESDAY, SATURDAY = 1, 5


# -- pure ----------------------------------------------------------------------
def test_cold_probability_grows_with_evidence_and_stays_strictly_below_the_floor():
    floor = 0.004
    values = [coldstart.cold_probability(e, floor) for e in (0.001, 0.01, 0.1, 1.0, 1e6)]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert all(0 < v < floor for v in values)
    assert coldstart.cold_probability(0.0, floor) == 0.0
    assert coldstart.cold_probability(1.0, 0.0) == 0.0


def test_evidence_sums_related_groups_and_names_the_one_giving_most():
    rates = {"Hack Night": 0.5, "Data Club": 0.5, "Unrelated": 0.9}
    shared = {"Hack Night": 8, "Data Club": 2}  # contacts who go to both it and the target
    members = {"Hack Night": 10, "Data Club": 10, "Unrelated": 10}
    value, best = coldstart.evidence(rates, shared, members)
    assert best == "Hack Night"
    assert value == pytest.approx(0.5 * 8 / 15 + 0.5 * 2 / 15)
    # An affinity seen on few contacts is shrunk: 1 of 1 shared says less than 8 of 10.
    few, _ = coldstart.evidence({"Tiny": 0.5}, {"Tiny": 1}, {"Tiny": 1})
    many, _ = coldstart.evidence({"Big": 0.5}, {"Big": 8}, {"Big": 10})
    assert few < many
    assert coldstart.evidence({"Unrelated": 0.9}, shared, members) == (0.0, None)


def _people_snapshot(history, group: GroupHistory, names: dict[int, str]) -> AttendanceSnapshot:
    return AttendanceSnapshot(now=NOW, groups={"PDX Rust": group}, history={"PDX Rust": history},
                              contacts={cid: Contact(cid, name, weight=1.0, last_contacted="2026-11-20")
                                        for cid, name in names.items()})


def _row(start: datetime) -> StoredEvent:
    return stored_event(Event("e1", "Rust night", start, group="PDX Rust"))


def test_a_cold_contact_never_outranks_even_the_weakest_real_history(tmp_path):
    """The cap: the weakest real history is one old visit on another weekday; however strong the
    shared-membership evidence, the newcomer stays below it."""
    group = GroupHistory(30.0, {TUESDAY: 20.0, SATURDAY: 10.0}, 40)
    weakest = ContactHistory(1e-6, {SATURDAY: 1e-6}, 1)
    snap = _people_snapshot({1: weakest}, group, {1: "Old Timer", 2: "New Comer", 3: "Stranger"})
    cold = ColdStart({"PDX Rust": {2: (1e6, "Hack Night")}})
    model = rank.SocialModel(snap, rank.people_of(snap.contacts, _real_settings(tmp_path), NOW), cold)
    social, chances = model.chances(_row(NOW + timedelta(days=7)), [], every=True)
    p = {c.contact_id: c for c in chances}
    assert 0 < p[2].probability < p[1].probability
    assert 3 not in p  # no evidence at all: no chance
    assert p[2].evidence == "predicted" and p[2].detail == "goes to Hack Night"
    # Counted in the score although far below the listing threshold.
    without = rank.SocialModel(snap, rank.people_of(snap.contacts, _real_settings(tmp_path), NOW)).chances(
        _row(NOW + timedelta(days=7)), [])[0]
    assert social == pytest.approx(without + p[2].contribution)
    assert p[2].probability < present.LISTED
    listed = model.chances(_row(NOW + timedelta(days=7)), [])[1]
    assert 2 not in {c.contact_id for c in listed}


def test_the_reason_says_might_be_there_and_where_they_go():
    chance = rank.ContactChance(2, "New Comer", 0.3, "predicted", detail="goes to Hack Night")
    stored = stored_event(Event("e1", "Night", NOW, group="PDX Rust"))
    item = rank.Ranked(id="e1", event=stored.event, stored=stored, score=1.0,
                       chances=[chance])
    assert "New Comer might be there: goes to Hack Night" in present.reasons(item, {}, False)


# -- through a real SQLite store ------------------------------------------------
NAMES = [("Ana", "Berg"), ("Bo", "Chen"), ("Cy", "Diaz"), ("Di", "Egan")]


def test_load_reads_shared_membership_from_the_cache_and_the_ranking_uses_it(tmp_path):
    """Ana and Bo go to both groups; Cy only to Hack Night, so Cy "might be there" at PDX Rust; Di only
    to Data Club, which shares nobody with it: the activity tie-break puts Di below Cy. The people
    with real history at PDX Rust get no cold-start entry there."""
    store = Store(tmp_path / "events.db")
    (tmp_path / "c.csv").write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n" + "".join(
        f"{f},{last},,{f.lower()}@example.org,,,01 Nov 2026\n" for f, last in NAMES))
    contacts.import_file(store, tmp_path / "c.csv", now=NOW)
    ana, bo, cy, di = (Person(f"{f} {last}", email=f"{f.lower()}@example.org", status="going") for f, last in NAMES)
    past = [Event(f"r{i}", f"Rust {i}", NOW - timedelta(days=7 * (i + 1)), group="PDX Rust", attendees=(ana, bo))
            for i in range(4)]
    past += [Event(f"h{i}", f"Hack {i}", NOW - timedelta(days=7 * (i + 1) + 2), group="Hack Night",
                   attendees=(ana, bo, cy)) for i in range(4)]
    past += [Event(f"d{i}", f"Data {i}", NOW - timedelta(days=7 * (i + 1) + 3), group="Data Club", attendees=(di,))
             for i in range(4)]
    upcoming = [Event("next", "Rust next", NOW + timedelta(days=7), group="PDX Rust")]
    store.events.save("src", past + upcoming, now=NOW, tz=PORTLAND)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    ids = {c.name: c.id for c in store.people.contacts()}
    settings = _real_settings(tmp_path)
    [upcoming_event] = store.events.between(start=NOW, end=NOW + timedelta(days=30))
    item = listing.explain(store, settings, upcoming_event, now=NOW)
    by_name = {c["name"]: c for c in item["social_part"]["contacts"]}
    assert set(by_name) == {"Ana Berg", "Bo Chen", "Cy Diaz", "Di Egan"}
    assert 0 < by_name["Di Egan"]["probability"] < by_name["Cy Diaz"]["probability"] < min(by_name["Ana Berg"]["probability"],
                                                        by_name["Bo Chen"]["probability"])
    cold = store.rank_cache.cold_start(["PDX Rust", "Hack Night"], set(ids.values()), COLD)
    assert set(cold.of("PDX Rust")) == {ids["Cy Diaz"], ids["Di Egan"]}
    assert cold.of("PDX Rust")[ids["Cy Diaz"]][1] == "Hack Night"
    assert cold.of("PDX Rust")[ids["Di Egan"]][1] == "Data Club"
    assert set(cold.of("Hack Night")) == {ids["Di Egan"]}  # the others go to Hack Night already
    assert store.rank_cache.cold_start(["PDX Rust"], {ids["Cy Diaz"]}, COLD).of("PDX Rust").keys() == {ids["Cy Diaz"]}
    # A group nobody of yours attends: activity alone, for everyone active anywhere.
    assert set(store.rank_cache.cold_start(["Elsewhere"], None, COLD).of("Elsewhere")) == set(ids.values())
    # Kept at the rebuild: the query reads what the fetch worked out, the same as working it out now.
    kept = store.database.conn.execute("select count(*) from rank_cold").fetchone()[0]
    assert kept > 0
    store.database.conn.execute("delete from rank_cold")  # a query works nothing out: it only reads
    assert store.rank_cache.cold_start(["PDX Rust"], None, COLD).of("PDX Rust") == {}
    store.close()


def test_cold_start_is_worked_out_when_the_cache_is_rebuilt_and_matches_working_it_out_per_query(tmp_path):
    """The rebuild keeps every group's cold start (and any other group's); a store too dense for all
    groups at once within the budget works out only the groups a query asks, as before."""
    store = Store(tmp_path / "events.db")
    (tmp_path / "c.csv").write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n" + "".join(
        f"{f},{last},,{f.lower()}@example.org,,,01 Nov 2026\n" for f, last in NAMES))
    contacts.import_file(store, tmp_path / "c.csv", now=NOW)
    ana, bo, cy, di = (Person(f"{f} {last}", email=f"{f.lower()}@example.org", status="going") for f, last in NAMES)
    groups = {"PDX Rust": (ana, bo), "Hack Night": (ana, bo, cy), "Data Club": (di, cy), "Go Night": (bo,)}
    past = [Event(f"{g}{i}", f"{g} {i}", NOW - timedelta(days=5 * i + k + 1), group=g, attendees=people)
            for k, (g, people) in enumerate(groups.items()) for i in range(3)]
    store.events.save("src", past, now=NOW, tz=PORTLAND)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    asked = ["PDX Rust", "Hack Night", "Data Club", "Elsewhere"]
    kept = store.rank_cache.cold_start(asked, None, COLD)
    assert set(kept.of("Elsewhere")) and set(kept.of("PDX Rust"))
    store.database.conn.execute("delete from meta where key = 'rank_cache'")
    budget, _, derive, factor = COLD
    # Room for the 4 groups asked, not for every group (4) and any other (5) at once: worked out per query.
    tight = (budget, lambda rows, work, n: n <= len(asked), derive, factor)
    store.rank_cache.ensure(NOW, 0, predict.CONSTANTS, tight)
    assert store.database.conn.execute("select count(*) from rank_cold").fetchone()[0] == 0
    per_query = store.rank_cache.cold_start(asked, None, tight)
    assert per_query.evidence == kept.evidence
    assert [list(kept.of(g)) for g in asked] == [list(per_query.of(g)) for g in asked]  # the order they are summed in
    store.close()


def test_cold_start_is_skipped_past_its_work_budget(monkeypatch):
    """Bounded time: a store whose shared-membership join would be too large gets no cold start."""
    assert coldstart.within_budget(1000, 1000, 50)
    assert not coldstart.within_budget(coldstart.WORK_BUDGET, 10, 2)  # contact rows x groups asked
    assert not coldstart.within_budget(10, coldstart.WORK_BUDGET + 1, 1)  # the shared-membership join
    inputs = ColdStartInputs(rows=[("A", c, 1.0) for c in range(3)] + [("B", c, 1.0) for c in range(3)]
                             + [("B", 9, 1.0)], shared={"A": {"B": 3}}, members={"A": 3, "B": 4},
                             totals={"A": 4.0, "B": 4.0})
    assert set(coldstart.derive(inputs, ["A"]).of("A")) == {9}


def _real_settings(tmp_path):
    from aggregator import config

    path = tmp_path / "config.yaml"
    path.write_text("timezone: UTC\nprofile:\n  topics: {rust: 1}\n"
                    "sources: [{name: src, kind: ics, url: 'https://example.org/a.ics'}]\n")
    return config.load(path)


def test_a_version_9_database_migrates_and_keeps_cold_start_with_the_cache(tmp_path):
    """Schema v10: a v9 file (no rank_cold tables, a cache built without them) gets the tables, forgets
    its cache, and the next rebuild keeps cold start there."""
    store = Store(tmp_path / "events.db")
    (tmp_path / "c.csv").write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n" + "".join(
        f"{f},{last},,{f.lower()}@example.org,,,01 Nov 2026\n" for f, last in NAMES))
    contacts.import_file(store, tmp_path / "c.csv", now=NOW)
    ana, bo, cy, _ = (Person(f"{f} {last}", email=f"{f.lower()}@example.org", status="going") for f, last in NAMES)
    store.events.save("src", [Event(f"r{i}", f"Rust {i}", NOW - timedelta(days=7 * (i + 1)), group="PDX Rust",
                                    attendees=(ana, bo)) for i in range(3)]
                      + [Event(f"h{i}", f"Hack {i}", NOW - timedelta(days=7 * (i + 1) + 2), group="Hack Night",
                               attendees=(ana, cy)) for i in range(3)], now=NOW, tz=PORTLAND)
    store.close()
    with sqlite3.connect(tmp_path / "events.db") as db:
        db.execute("update meta set value = '9' where key = 'schema_version'")
        db.execute("drop table rank_cold")
        db.execute("drop table rank_cold_groups")
        db.execute("""insert or replace into meta (key, value) values ('rank_cache', '{"version": "1"}')""")
    store = Store(tmp_path / "events.db")
    assert int(store.database.meta("schema_version")) >= 10
    assert store.database.meta("rank_cache") is None  # rebuilt on the next change or query
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    ids = {c.name: c.id for c in store.people.contacts()}
    assert store.database.conn.execute("select count(*) from rank_cold where g = 'PDX Rust'").fetchone()[0] == 1
    assert set(store.rank_cache.cold_start(["PDX Rust"], None, COLD).of("PDX Rust")) == {ids["Cy Diaz"]}
    store.close()
