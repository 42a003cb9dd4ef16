"""Identity resolution on a labelled set: precision must be 1.0 (a wrong match is worse than a miss)."""

from __future__ import annotations

import csv

import pytest

from aggregator.identity import (
    Candidate,
    Matcher,
    normalize_email,
    normalize_name,
    normalize_url,
)
from tests.conftest import FIXTURES


def address_book() -> tuple[Matcher, dict[int, str]]:
    people, labels, seen = [], {}, {}
    with open(FIXTURES / "identity_address_book.csv", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f), 1):
            label = row["name"] if row["name"] not in seen else f"{row['name']}#{seen[row['name']] + 1}"
            seen[row["name"]] = seen.get(row["name"], 1) + (1 if row["name"] in seen else 0)
            labels[i] = label
            people.append(Candidate(i, row["name"], tuple(filter(None, [row["email"]])),
                                    tuple(filter(None, [row["url"]])), tuple(filter(None, [row["aliases"]]))))
    return Matcher.build(people), labels


def labelled_pairs() -> list[dict[str, str]]:
    with open(FIXTURES / "identity_pairs.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def evaluate() -> tuple[float, float, list[str]]:
    matcher, labels = address_book()
    tp = fp = fn = 0
    wrong = []
    for pair in labelled_pairs():
        found = matcher.match(pair["seen"] or None, pair["email"] or None, pair["url"] or None)
        got = labels[found.contact_id] if found else ""
        if got and got == pair["expected"]:
            tp += 1
        elif got:
            fp += 1
            wrong.append(f"{pair['seen']!r} -> {got!r} ({pair['case']})")
        elif pair["expected"]:
            fn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, wrong


def test_labelled_set_is_big_enough_and_has_look_alikes():
    pairs = labelled_pairs()
    assert len(pairs) >= 50
    assert sum(1 for p in pairs if not p["expected"]) >= 20


def test_precision_is_perfect_and_recall_high():
    precision, recall, wrong = evaluate()
    print(f"identity matching on {len(labelled_pairs())} labelled pairs: precision {precision:.3f}, recall {recall:.3f}")
    assert wrong == []
    assert precision == 1.0
    assert recall >= 0.95


@pytest.mark.parametrize("raw,expected", [
    ("Dr. Dana  M. Lée, PhD", "dana m lee"),
    ("Lee, Dana", "dana lee"),
    ("Søren Ørsted-Łukasz", "soren orsted lukasz"),
    ("STRAUSS", "strauss"), ("Strauß", "strauss"),
    ("Ｄａｎａ Ｌｅｅ", "dana lee"),  # full-width (NFKC)
    ("Chloé Van Damme, Jr.", "chloe van damme"),
    ("", ""), (None, ""),
])
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


def test_normalize_url_and_email():
    assert normalize_url("https://www.LinkedIn.com/in/Dana-Lee/?trk=x") == "linkedin.com/in/dana-lee"
    assert normalize_url("http://uk.linkedin.com/in/dana-lee") == "linkedin.com/in/dana-lee"
    assert normalize_url("linkedin.com/in/dana-lee") == "linkedin.com/in/dana-lee"
    assert normalize_url("not a url") == ""
    assert normalize_email(" Dana.Lee@Example.ORG ") == "dana.lee@example.org"
    assert normalize_email("mailto:x@y.org") == "x@y.org"
    assert normalize_email("no-at-sign") == ""


# -- identity traps in stored attendance (issue 12) ---------------------------------------------
def _store_with(tmp_path, people, contacts):
    from datetime import timedelta

    from aggregator.model import Event
    from aggregator.store import Store
    from tests.conftest import NOW, PORTLAND

    store = Store(tmp_path / "events.db")
    past = Event(source_uid="e1", title="Python night", start=NOW - timedelta(days=7), group="PDX Python",
                 attendees=tuple(people))
    store.events.save("src", [past], now=NOW, tz=PORTLAND)
    matcher = Matcher.build(contacts)
    store.attendance.resolve(lambda name, email, url: (m.contact_id if (m := matcher.match(name, email, url)) else None))
    rows = list(store.database.db["attendance"].rows)
    store.close()
    return rows


def test_an_address_three_people_share_credits_only_the_contact_it_is_named_with(tmp_path):
    """An organizer's address on every RSVP: it used to key all three as one person (the last
    name won) and credit the contact holding that address with everyone's attendance."""
    from aggregator.model import Person

    shared = "organizer@pdxpython.org"
    people = [Person("Ann Ames", email=shared), Person("Bea Kim", email=shared), Person("Cal Diaz", email=shared)]
    bea = Candidate(1, "Bea Kim", emails=(shared,))
    rows = _store_with(tmp_path, people, [bea, Candidate(2, "Dana Lee", emails=("dana@x.org",))])
    assert len(rows) == 3
    assert {r["name"]: r["contact_id"] for r in rows} == {"Ann Ames": None, "Bea Kim": 1, "Cal Diaz": None}


def test_an_address_one_person_uses_still_identifies_them(tmp_path):
    from aggregator.model import Person

    rows = _store_with(tmp_path, [Person("B. Kim", email="bea@kim.org"), Person("Ann Ames")],
                       [Candidate(1, "Bea Kim", emails=("bea@kim.org",))])
    assert {r["name"]: r["contact_id"] for r in rows} == {"B. Kim": 1, "Ann Ames": None}


@pytest.mark.parametrize("address", ["noreply@meetup.com", "info@pdxpython.org", "events+rsvp@group.org"])
def test_role_mailboxes_never_identify_anyone(address):
    matcher = Matcher.build([Candidate(1, "Bea Kim", emails=(address,))])
    assert matcher.match("Someone Else", address) is None
    assert matcher.match("Bea Kim", address).how == "name"  # the name may still match


def test_speakers_and_hosts_are_stored_as_their_evidence(tmp_path):
    from aggregator.model import Person

    rows = _store_with(tmp_path, [Person("Ann Ames", role="speaker"), Person("Bea Kim", role="host"),
                                  Person("Cal Diaz")], [])
    assert {r["name"]: r["evidence"] for r in rows} == {"Ann Ames": "speaker", "Bea Kim": "host", "Cal Diaz": "feed"}
