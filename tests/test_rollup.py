"""Conference talks roll up per day (rollup.py): pure, Ranked items in, Ranked items out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from aggregator import present
from aggregator.model import Event
from aggregator.ranking import rollup
from aggregator.ranking.score import ContactChance, Ranked
from tests.conftest import stored_event

BERLIN = ZoneInfo("Europe/Berlin")
DAY1 = datetime(2027, 3, 10, 9, 0, tzinfo=BERLIN)


def talk(n: int, start: datetime, *, score: float = 0.25, topics=(), chances=(), source: str = "conf",
         group: str = "PyCon DE") -> Ranked:
    end = start + timedelta(minutes=30)
    event = Event(source_uid=f"t{n}", title=f"Talk {n}", start=start, end=end, timezone="Europe/Berlin", group=group)
    stored = stored_event(event, ident=f"id{n:03d}", source=source,
                          updated_at=datetime(2026, 11, 1, tzinfo=timezone.utc))
    return Ranked(id=stored.id, event=event, stored=stored, score=score, topics=list(topics), chances=list(chances),
                  sources=[source])


def forty_talks() -> list[Ranked]:
    """Two days of 20 talks each; talk 3 has your speaker, talk 25 your topic, talk 7 a predicted regular."""
    items = []
    for n in range(40):
        day = DAY1 + timedelta(days=n // 20)
        start = day + timedelta(minutes=30 * (n % 20))
        chances, topics, score = [], [], 0.25 + n / 1000
        if n == 3:
            chances, score = [ContactChance(1, "Priya Raman", 0.95, "speaker")], 2.0
        if n == 25:
            topics, score = ["python"], 1.5
        if n == 7:
            chances = [ContactChance(2, "Sam Ortiz", 0.3, "predicted")]
        items.append(talk(n, start, score=score, topics=topics, chances=chances))
    return sorted(items, key=lambda r: -r.score)


def meetup(score: float) -> Ranked:
    return talk(900, DAY1, score=score, source="meetups", group="PDX Python")


def test_forty_talk_schedule_lists_the_matching_talks_and_one_entry_per_day():
    items = forty_talks() + [meetup(0.9)]
    out = rollup.roll_up(items, {"conf"}, BERLIN)
    singles = [i for i in out if not i.rolled]
    rolls = [i for i in out if i.rolled]
    assert {i.event.title for i in singles} == {"Talk 3", "Talk 25", "Talk 900"}
    assert len(rolls) == 2 and sorted(len(r.rolled) for r in rolls) == [19, 19]
    day1 = next(r for r in rolls if r.event.start.date() == DAY1.date())
    assert day1.event.title == "PyCon DE — 19 more talks"
    assert day1.event.start == DAY1  # talk 0, the first rolled
    assert day1.event.end == DAY1 + timedelta(minutes=30 * 19 + 30)  # talk 19's end
    assert day1.score == max(t.score for t in day1.rolled) == 0.25 + 19 / 1000  # the predicted regular is rolled
    assert day1.sources == ["conf"] and day1.stored.sources == ["conf"]
    assert "Talk 0; Talk 1; Talk 2; Talk 4; Talk 5; and 14 more." in day1.event.description
    assert "Listed on their own this day: Talk 3." in day1.event.description
    assert [i.score for i in out] == sorted((i.score for i in out), reverse=True)
    assert out[0].event.title == "Talk 3"  # your speaker's talk above everything


def test_roll_up_id_is_stable_and_differs_by_day_source_and_conference():
    first = {r.event.start.date(): r.id for r in rollup.roll_up(forty_talks(), {"conf"}, BERLIN) if r.rolled}
    again = {r.event.start.date(): r.id for r in rollup.roll_up(list(reversed(forty_talks())), {"conf"}, BERLIN)
             if r.rolled}
    assert first == again and len(set(first.values())) == 2
    other = [talk(n, DAY1 + timedelta(minutes=30 * n), source="conf2") for n in range(5)]
    [rolled] = [r for r in rollup.roll_up(other, {"conf2"}, BERLIN) if r.rolled]
    assert rolled.id not in first.values()


def test_roll_up_reads_as_an_event_everywhere():
    [rolled] = [r for r in rollup.roll_up(forty_talks()[:30], {"conf"}, BERLIN) if r.rolled][:1]
    shape = present.as_json(rolled, BERLIN)
    assert shape["id"] == rolled.id and shape["contacts"] == [] and shape["group"] == "PyCon DE"
    assert shape["reasons"][0].startswith(f"{len(rolled.rolled)} more talks of PyCon DE on ")
    assert rolled.start_utc() == min(t.start_utc() for t in rolled.rolled)


def test_non_conference_sources_and_small_days_are_left_alone():
    items = [talk(n, DAY1 + timedelta(minutes=30 * n)) for n in range(rollup.ROLL_FROM - 1)]
    assert rollup.roll_up(items, {"conf"}, BERLIN) == sorted(items, key=lambda r: (-r.score, r.start_utc()))
    many = [talk(n, DAY1 + timedelta(minutes=30 * n)) for n in range(12)]
    assert len(rollup.roll_up(many, set(), BERLIN)) == 12  # not a schedule/sessionize source: every talk


def test_cancelled_talks_are_not_rolled():
    items = [talk(n, DAY1 + timedelta(minutes=30 * n)) for n in range(6)]
    items[0].event.status = "cancelled"
    out = rollup.roll_up(items, {"conf"}, BERLIN)
    assert {i.id for i in out if not i.rolled} == {items[0].id}


def test_days_are_the_conference_local_dates():
    """Talks at 23:30 and 00:30 Berlin time are two days, though both are the same UTC day."""
    late = [talk(n, datetime(2027, 3, 10, 19, 0, tzinfo=BERLIN) + timedelta(minutes=60 * n)) for n in range(10)]
    rolls = [r for r in rollup.roll_up(late, {"conf"}, BERLIN) if r.rolled]
    assert sorted(len(r.rolled) for r in rolls) == [5, 5]
