"""Evidence per contact and the sentences it gives (pure: rank.explicit_chances, present.reasons)."""

from __future__ import annotations

from datetime import datetime, timezone

from aggregator import predict, present, rank
from aggregator.listing import mention_chances
from aggregator.mentions import ContactName, MentionIndex
from aggregator.model import Event

MENTIONED = predict.EVIDENCE_PROBABILITY["mentioned"]


def test_a_mention_counts_only_when_nothing_stronger_places_the_contact():
    mention = [(1, "mentioned", MENTIONED, "description"), (2, "mentioned", MENTIONED, "title"),
               (3, "mentioned", MENTIONED, "title"), (4, "mentioned", MENTIONED, "title")]
    rows = [{"contact_id": 1, "evidence": "speaker", "status": "going"},
            {"contact_id": 2, "evidence": "feed", "status": "declined"},  # a declined RSVP beats a mention
            {"contact_id": 3, "evidence": "feed", "status": "maybe"}]  # 0.5, yet explicit: it is kept
    found = rank.explicit_chances(rows, mention)
    assert found[1] == (0.95, "speaker", "")
    assert found[2] == (0.0, "rsvp", "")
    assert found[3] == (0.5, "rsvp", "")
    assert found[4] == (MENTIONED, "mentioned", "title")


def test_logged_rows_from_the_users_calendars_count_as_logged():
    found = rank.explicit_chances([{"contact_id": 7, "evidence": "logged", "status": "going"}])
    assert found[7] == (predict.EVIDENCE_PROBABILITY["logged"], "logged", "")


def test_reasons_name_the_evidence():
    event = Event(source_uid="e", title="Rust night", start=datetime(2026, 12, 5, tzinfo=timezone.utc))
    item = rank.Ranked(id="e", event=event, row={}, score=1.0, chances=[
        rank.ContactChance(1, "Priya Raman", 0.95, "speaker"),
        rank.ContactChance(2, "Dana Lee", 0.9, "host"),
        rank.ContactChance(3, "Sam Ortiz", 0.6, "mentioned", detail="title"),
    ])
    assert present.reasons(item, {}, False, most=5) == [
        "Priya Raman is speaking", "Dana Lee is hosting", "Sam Ortiz is named in the title"]


def test_mention_chances_say_where_and_name_each_contact_once():
    index = MentionIndex([ContactName(1, "Priya Raman"), ContactName(2, "Will May")])
    rows = [{"id": "a", "title": "Priya Raman on Rust", "description": "A talk by Priya Raman."},
            {"id": "b", "title": "Hack night", "description": "you will may want a laptop. Will May 5 work?"}]
    assert mention_chances(rows, index) == {"a": [(1, "mentioned", MENTIONED, "title")]}


def test_only_contacts_with_a_name_word_in_the_texts_are_indexed():
    """contact_names leaves out contacts none of whose names' words appear; an alias keeps one in."""
    from aggregator.listing import contact_names

    class Contacts:
        def contact_rows(self):
            return [{"id": 1, "name": "Priya Raman", "aliases": None},
                    {"id": 2, "name": "Robert Tables", "aliases": '["Bobby Tables"]'},
                    {"id": 3, "name": "Dana Lee", "aliases": None}]

    rows = [{"id": "a", "title": "Hack night", "description": "Hosted by Bobby Tables and José."}]
    kept = contact_names(Contacts(), rows)
    assert [(c.id, c.aliases) for c in kept] == [(2, ("Bobby Tables",))]
    assert mention_chances(rows, MentionIndex(kept)) == {"a": [(2, "mentioned", MENTIONED, "description")]}
