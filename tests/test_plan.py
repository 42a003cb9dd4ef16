"""`aggregator plan`: greedy weighted set cover over the ranking's shown chances (issue 21).

The algorithm on values (one event per evening, probabilistic cover, ties by topic fit then
distance, the stop rule), then the real CLI on the demo city."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from aggregator import plan
from aggregator.demo import write_demo
from aggregator.model import Event
from aggregator.ranking.score import ContactChance, Ranked
from tests.conftest import NOW, PORTLAND, Cli, stored_event, write_config

EVENING = datetime(2026, 12, 3, 18, 30, tzinfo=PORTLAND)


def event(ident: str, start: datetime, chances: dict[int, float], *, topic: float = 1.0,
          km: float | None = None) -> tuple[Ranked, list[ContactChance]]:
    stored = stored_event(Event(ident, f"Event {ident}", start), ident=ident)
    reaches = [ContactChance(cid, f"Contact {cid}", p, "predicted", overdue=True) for cid, p in chances.items()]
    return Ranked(ident, stored.event, stored, 1.0, chances=reaches, topic_part=topic, distance_km=km), reaches


def picked(candidates, **kwargs) -> list[str]:
    return [e.item.id for e in plan.choose(candidates, PORTLAND, **kwargs)]


def test_greedy_takes_the_evening_that_adds_most_then_what_is_still_missing():
    candidates = [event("big", EVENING, {1: 1.0, 2: 1.0, 3: 0.5}),
                  event("same-people", EVENING + timedelta(days=1), {1: 1.0, 2: 1.0}),
                  event("others", EVENING + timedelta(days=2), {4: 1.0, 5: 0.9})]
    assert picked(candidates) == ["big", "others"]  # "same-people" adds nobody new


def test_one_event_per_evening_even_when_both_would_add():
    candidates = [event("seven", EVENING, {1: 1.0, 2: 1.0}),
                  event("eight", EVENING + timedelta(hours=1), {3: 1.0}),  # the same evening
                  event("next-week", EVENING + timedelta(days=7), {3: 0.6})]
    chosen = plan.choose(candidates, PORTLAND)
    assert [e.item.id for e in chosen] == ["seven", "next-week"]
    assert chosen[1].adds == pytest.approx(0.6)


def test_a_contact_seen_twice_counts_by_the_chance_of_seeing_them_at_least_once():
    candidates = [event("a", EVENING, {1: 0.5}), event("b", EVENING + timedelta(days=1), {1: 0.5})]
    chosen = plan.choose(candidates, PORTLAND, min_gain=0.2)
    assert [round(e.adds, 3) for e in chosen] == [0.5, 0.25]  # 1 - (1 - 0.5)^2 = 0.75 in all


def test_ties_go_to_the_better_topic_fit_then_the_nearer_venue():
    same = {1: 1.0}
    by_topic = [event("far-off-topic", EVENING, same, topic=0.25, km=1),
                event("on-topic", EVENING + timedelta(days=1), same, topic=3.0, km=30)]
    assert picked(by_topic)[0] == "on-topic"
    by_distance = [event("far", EVENING, same, km=30), event("near", EVENING + timedelta(days=1), same, km=2),
                   event("unknown", EVENING + timedelta(days=2), same)]
    assert picked(by_distance)[0] == "near"


def test_it_stops_when_an_evening_would_add_under_a_quarter_of_a_contact():
    candidates = [event("good", EVENING, {1: 0.9}), event("thin", EVENING + timedelta(days=1), {2: 0.2})]
    assert picked(candidates) == ["good"]
    assert picked(candidates, min_gain=0.1) == ["good", "thin"]
    assert picked([]) == []


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    config = write_demo(tmp_path_factory.mktemp("plan") / "demo", now=NOW)
    cli = Cli(config, now=NOW)
    assert cli("fetch").returncode == 0
    return cli


def test_plan_json_is_the_contract_shape_and_uses_the_chances_upcoming_shows(demo):
    made = demo.json("plan")
    assert set(made) >= {"evenings", "overdue", "reached"} and made["overdue"] == 10  # nobody in the demo logged
    assert 1 <= len(made["evenings"]) < 10
    shown = {e["id"]: {c["name"]: c["probability"] for c in e["contacts"]}
             for e in demo.json("upcoming", "--days", "30", "--limit", "0")}
    unseen: dict[str, float] = {}
    days = set()
    for evening in made["evenings"]:
        assert {"id", "title", "start", "reaches"} <= set(evening)
        day = datetime.fromisoformat(evening["start"]).date()
        assert day not in days  # one event an evening
        days.add(day)
        for reach in evening["reaches"]:
            assert reach["probability"] >= 0.05
            assert shown[evening["id"]][reach["name"]] == reach["probability"]  # no prediction of its own
            unseen[reach["name"]] = unseen.get(reach["name"], 1.0) * (1 - reach["probability"])
    assert made["reached"] == pytest.approx(sum(1 - p for p in unseen.values()), abs=0.01)
    assert [e["start"] for e in made["evenings"]] == sorted(e["start"] for e in made["evenings"])
    rsvped = {"Lena Fischer", "Ruth Okafor", "Ana Souza", "Michael Chen"}  # each RSVPed to one event this month
    assert rsvped <= {r["name"] for e in made["evenings"] for r in e["reaches"] if r["probability"] == 1.0}


def test_plan_on_a_terminal_names_evenings_people_in_words_and_the_rule(demo):
    made = demo.json("plan")
    result = demo("plan")
    assert result.returncode == 0, result.stderr
    assert f"{len(made['evenings'])} evenings in the next 30 days" in result.stdout
    assert "Lena Fischer (RSVPed)" in result.stdout and "100%" not in result.stdout
    assert all(e["id"][:10] in result.stdout for e in made["evenings"])
    assert "at least 0.25 expected contacts" in result.stdout
    first = made["evenings"][0]["id"][:10]
    assert demo("why", first).returncode == 0  # the ids shown are the ones why takes


def test_plan_with_nothing_in_the_window_or_nobody_overdue_says_what_to_do(demo, tmp_path):
    empty = demo("plan", "--days", "1")  # the demo city meets more than a day from now
    assert empty.returncode == 0 and "None of your 10 overdue contacts" in empty.stdout
    assert "likely at an event in the next day (" in empty.stdout  # not "the next 1 days"
    assert "aggregator plan --days 2" in empty.stdout
    assert json.loads(demo("plan", "--days", "1", "--json").stdout)["evenings"] == []
    nobody = Cli(write_config(tmp_path, []), now=NOW)("plan")  # no contacts at all: import some first
    assert nobody.returncode == 0 and nobody.stdout.startswith("No contacts yet: import them"), nobody.stdout
    mine = Cli(write_demo(tmp_path / "demo", now=NOW), now=NOW)  # the shared demo stays as it is
    assert mine("fetch").returncode == 0
    for name in ("Ana Souza", "Dana Lee", "José Núñez", "Kofi Mensah", "Lena Fischer", "Michael Chen",
                 "Priya Raman", "Ruth Okafor", "Samuel Ortiz", "Tom Becker"):
        assert mine("touched", name).returncode == 0
    caught_up = mine("plan")
    assert caught_up.returncode == 0 and caught_up.stdout.startswith("Nobody is overdue"), caught_up.stdout


def test_plan_rejects_a_bad_window(demo):
    result = demo("plan", "--days", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
