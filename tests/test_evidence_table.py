"""aggregator/evidence.py is the one evidence vocabulary (issue 19): every layer handles every row of
its tables, an unknown value raises instead of being read as something else, and no other module
spells an evidence value (adding one is adding a row)."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator import contacts, present
from aggregator import evidence as ev
from aggregator.model import Event, Person
from aggregator.normalise import normalise
from aggregator.page import person_words
from aggregator.ranking import predict
from aggregator.ranking import score as rank
from aggregator.ranking.listing import COLD
from aggregator.source import SourceSpec
from aggregator.store import Store
from aggregator.store.codec import attendance_rows
from aggregator.store.rank_cache import ATTENDED
from aggregator.testing import event_problems
from tests.conftest import NOW, PORTLAND, seen, stored_event

PACKAGE = Path(__file__).resolve().parent.parent / "aggregator"
SPEC = SourceSpec("t", "ics", "https://example.org/")
KINDS = sorted(ev.KINDS)
STATUSES = sorted(ev.STATUSES)
ROLES = list(ev.ROLES)


def chance(kind: str, probability: float, detail: str = "") -> rank.ContactChance:
    return rank.ContactChance(1, "Dana Lee", probability, kind, detail=detail)


def item_with(*chances: rank.ContactChance) -> rank.Ranked:
    event = Event("e", "Rust night", NOW + timedelta(days=2))
    return rank.Ranked(id="e", event=event, stored=stored_event(event), score=1.0, chances=list(chances))


def test_the_table_holds_what_the_readme_and_contract_say():
    """README "How events are ranked" and CONTRACT.md's evidence values, pinned."""
    assert set(ev.KINDS) == {"rsvp", "speaker", "host", "mentioned", "logged", "predicted"}
    assert ev.EVIDENCE_PROBABILITY == {"speaker": 0.95, "host": 0.9, "logged": 0.9, "mentioned": 0.6}
    assert ev.RSVP_PROBABILITY == {"going": 1.0, "maybe": 0.5, "declined": 0.0, "attended": 1.0}
    assert ev.WEAK == {"mentioned"} and ev.EXPLICIT == set(ev.KINDS) - {"predicted"}
    assert ev.CAME == ("going", "attended") and ev.PERSON_ROLES == (None, "speaker", "host")
    assert {s: ev.stored_kind(s).name for s in ev.STORED} == {
        "feed": "rsvp", "speaker": "speaker", "host": "host", "manual": "logged"}
    assert [present.evidence_words(p, "rsvp") for p in (1.0, 0.5, 0.0)] == ["RSVPed", "RSVPed maybe", "declined"]
    assert [present.short_evidence_words(p, "rsvp") for p in (1.0, 0.5, 0.0)] == ["RSVPed", "50% chance", "declined"]


# -- every layer handles every row -------------------------------------------------
@pytest.mark.parametrize("name", KINDS)
def test_every_kind_has_words_a_reason_and_its_json_value(name):
    kind = ev.kind(name)
    p = kind.probability if kind.probability is not None else 0.5
    words = present.evidence_words(p, name)
    short = present.short_evidence_words(p, name)
    assert words and len(short) <= 10
    assert person_words(chance(name, p), {}, full=True).startswith(words)
    [reason] = present.reasons(item_with(chance(name, max(p, present.SAID))), {}, False)
    assert reason.startswith("Dana Lee ") and len(reason) > len("Dana Lee ")
    assert present.listed_contacts([chance(name, p)])[0]["evidence"] == name  # the JSON value is the row's name
    if kind.words:
        assert words == kind.words and short == kind.short and reason == f"Dana Lee {kind.sentence}".format(
            where="description")


@pytest.mark.parametrize("stored", sorted(ev.STORED))
def test_every_stored_evidence_gives_its_kind_and_probability(stored):
    kind = ev.stored_kind(stored)
    for status in STATUSES:
        found = rank.explicit_chances([seen(7, stored, status)])
        answer = ev.status(status).rsvp if kind.by_status else kind.probability
        assert found == ({} if answer is None else {7: (answer, kind.name, "")})


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_is_kept_from_source_to_ranking(status):
    person = Person("Dana Lee", email="dana@example.org", status=status)
    event = Event("u", "Rust night", NOW + timedelta(days=2), attendees=(person,))
    assert event_problems(event) == []  # the kit accepts it
    stored = normalise(event, SPEC)
    assert stored.attendees[0].status == status  # normalise keeps it
    [row] = attendance_rows([("e", stored.attendees)], "2026-12-01")
    assert row[5] == status
    answer = ev.status(status)
    if answer.rsvp is not None:
        assert present.evidence_words(answer.rsvp, ev.RSVP) == ev.rsvp_status(answer.rsvp).words


@pytest.mark.parametrize("role", ROLES)
def test_every_role_is_stored_as_evidence_the_ranking_reads(role):
    person = Person("Dana Lee", email="dana@example.org", role=role)
    assert event_problems(Event("u", "Rust night", NOW + timedelta(days=2), attendees=(person,))) == []
    assert normalise(Event("u", "Rust night", NOW, attendees=(person,)), SPEC).attendees[0].role == role
    [row] = attendance_rows([("e", [person])], "2026-12-01")
    assert row[6] == ev.role_evidence(role) and ev.stored_kind(row[6]) in ev.KINDS.values()


def test_the_rank_cache_counts_as_a_visit_exactly_the_statuses_that_came(tmp_path):
    """ATTENDED (the rank cache's SQL) is built from the table; a real store counts each status as it says."""
    assert ATTENDED == "(" + ", ".join(f"'{s}'" for s in ev.CAME) + ")"
    store = Store(tmp_path / "events.db")
    (tmp_path / "c.csv").write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                                    + "".join(f"P,{s.title()},,{s}@example.org,,,01 Nov 2026\n" for s in STATUSES))
    contacts.import_file(store, tmp_path / "c.csv", now=NOW)
    people = tuple(Person(f"P {s.title()}", email=f"{s}@example.org", status=s) for s in STATUSES)
    store.events.save("src", [Event("p", "Night", NOW - timedelta(days=10), group="G", attendees=people)],
                      now=NOW, tz=PORTLAND)
    contacts.refresh_social(store, NOW, rank.HALF_LIFE_DAYS)
    ids = {c.name: c.id for c in store.people.contacts()}
    snap = store.rank_cache.load(["G"], NOW, constants=predict.CONSTANTS, cold=COLD,
                                 weights=dict.fromkeys(ids.values(), 1.0), floor=0.0, every={"G"})
    came = {name.split()[1].lower() for name, cid in ids.items() if snap.history["G"].get(cid)
            and snap.history["G"][cid].hits}
    assert came == set(ev.CAME)
    store.close()


def test_a_new_row_is_all_a_new_kind_needs(monkeypatch):
    """An 'organiser' role, added as rows only, goes from a kind's Person to the page's words."""
    monkeypatch.setitem(ev.KINDS, "organiser", ev.Kind("organiser", 0.85, words="organising", short="organising",
                                                       sentence="is organising"))
    monkeypatch.setitem(ev.ROLES, "organiser", "organiser")
    monkeypatch.setitem(ev.STORED, "organiser", "organiser")
    person = Person("Dana Lee", email="dana@example.org", role="organiser")
    event = Event("u", "Rust night", NOW + timedelta(days=2), attendees=(person,))
    assert event_problems(event) == []
    [row] = attendance_rows([("e", normalise(event, SPEC).attendees)], "2026-12-01")
    assert rank.explicit_chances([seen(7, row[6], row[5])]) == {7: (0.85, "organiser", "")}
    item = item_with(chance("organiser", 0.85))
    assert present.reasons(item, {}, False) == ["Dana Lee is organising"]
    assert person_words(item.chances[0], {}) == "organising"
    assert present.short_evidence_words(0.85, "organiser") == "organising"
    assert present.listed_contacts(item.chances)[0]["evidence"] == "organiser"


# -- an unknown value raises, it is not read as another ---------------------------------
def test_an_unknown_value_raises_in_every_layer():
    with pytest.raises(ev.UnknownValue, match="organiser.*aggregator/evidence.py"):
        attendance_rows([("e", [Person("Dana Lee", role="organiser")])], "2026-12-01")  # was stored as 'feed'
    with pytest.raises(ev.UnknownValue):
        present.evidence_words(0.9, "organiser")  # was worded as a prediction: "usually comes, 90%"
    with pytest.raises(ev.UnknownValue):
        present.short_evidence_words(0.9, "organiser")
    with pytest.raises(ev.UnknownValue):
        present.reasons(item_with(chance("organiser", 0.9)), {}, False)
    with pytest.raises(ev.UnknownValue):
        rank.explicit_chances([seen(1, "organiser", "going")])  # was an RSVP by its status
    with pytest.raises(ev.UnknownValue):
        rank.explicit_chances([seen(1, "feed", "waitlisted")])  # was no evidence at all
    with pytest.raises(ev.UnknownValue):
        rank.explicit_chances([], [(1, "organiser", 0.9)])


def test_the_kit_fails_a_status_or_role_outside_the_tables():
    """normalise reads them as the default (a plugin's bug must not stop a fetch); the kit says so."""
    person = Person("Dana Lee", status="accepted", role="organiser")
    problems = event_problems(Event("u", "Rust night", NOW + timedelta(days=2), attendees=(person,)))
    assert any("'accepted'" in p for p in problems) and any("'organiser'" in p for p in problems)
    assert normalise(Event("u", "Rust night", NOW, attendees=(person,)), SPEC).attendees[0] == Person(
        "Dana Lee", status=ev.DEFAULT_STATUS, role=None)
    assert Person("x").status == ev.DEFAULT_STATUS


def test_a_fetch_warns_of_a_status_or_role_outside_the_tables(tmp_path, monkeypatch):
    """Not silently: the source's run says which values it read as the default (once per event)."""
    from tests.test_pipeline import event, run, setup

    odd = (Person("Dana Lee", status="accepted"), Person("Kim Park", role="organiser"), Person("Sam Ortiz"))
    settings = setup(tmp_path, monkeypatch, {"odd": lambda spec, http, ctx: [event("a", attendees=odd)],
                                             "fine": lambda spec, http, ctx: [event("b", attendees=odd[2:])]})
    report, store = run(settings)
    odd_run, fine_run = sorted(report.sources, key=lambda r: r.name, reverse=True)
    assert odd_run.ok and odd_run.warnings == [
        "attendees with status 'accepted', role 'organiser', values aggregator/evidence.py does not know: "
        "read as 'going' and as plain attendees"]
    assert fine_run.warnings == []
    store.close()


# -- one source -------------------------------------------------------------------------
VOCABULARY = set(ev.KINDS) | set(ev.STATUSES) | {r for r in ev.ROLES if r} | set(ev.STORED)
IN_SQL = re.compile(r"'(%s)'" % "|".join(sorted(VOCABULARY)))
# (module, word): where a vocabulary word is spelled outside evidence.py and is not the vocabulary
# (a command, a key, a column).
ELSEWHERE = {
    ("cli.py", "feed"): "the `feed` command",
    ("config.py", "feed"): "the `feed:` config key",
    ("store/database.py", "feed"): "the feed_state table's column",
    ("pipeline.py", "host"): "a thread name",
    ("identity.py", "rsvp"): "a role address's local part (rsvp@)",
    ("present.py", "attended"): "why --json's recent.attended key",
    ("agenda.py", "attended"): "why --json's recent.attended key",
}


def spelled_words(path: Path) -> set[str]:
    """Vocabulary words a module's string literals hold (whole, or quoted in SQL), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found |= ({node.value} & VOCABULARY) or set(IN_SQL.findall(node.value))
    return found


def test_no_module_but_evidence_py_spells_an_evidence_value():
    """A new evidence value (or a new use of one) goes in aggregator/evidence.py, read through its names."""
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module != "evidence.py":
            stray += [f"{module}: {word!r}" for word in sorted(spelled_words(path)) if (module, word) not in ELSEWHERE]
    assert stray == [], "evidence values spelled outside aggregator/evidence.py"


def test_the_scan_finds_a_spelled_value(tmp_path):
    (tmp_path / "m.py").write_text('"""speaker"""\nif e == "speaker":\n    sql = "where status = \'maybe\'"\n')
    assert spelled_words(tmp_path / "m.py") == {"speaker", "maybe"}
