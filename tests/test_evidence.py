"""Evidence per contact and the sentences it gives (pure: rank.explicit_chances, present.reasons)."""

from __future__ import annotations

from datetime import datetime, timezone

from aggregator import present
from aggregator.model import Contact, Event
from aggregator.ranking import predict
from aggregator.ranking import score as rank
from aggregator.ranking.listing import mention_chances
from aggregator.ranking.mentions import ContactName, MentionIndex
from tests.conftest import seen, stored_event

MENTIONED = predict.EVIDENCE_PROBABILITY["mentioned"]


def text_event(ident: str, title: str, description: str):
    return stored_event(Event(ident, title, datetime(2026, 12, 5, 18, tzinfo=timezone.utc), description=description))


def test_a_mention_counts_only_when_nothing_stronger_places_the_contact():
    mention = [(1, "mentioned", MENTIONED, "description"), (2, "mentioned", MENTIONED, "title"),
               (3, "mentioned", MENTIONED, "title"), (4, "mentioned", MENTIONED, "title")]
    rows = [seen(1, "speaker", "going"),
            seen(2, "feed", "declined"),  # a declined RSVP beats a mention
            seen(3, "feed", "maybe")]  # 0.5, yet explicit: it is kept
    found = rank.explicit_chances(rows, mention)
    assert found[1] == (0.95, "speaker", "")
    assert found[2] == (0.0, "rsvp", "")
    assert found[3] == (0.5, "rsvp", "")
    assert found[4] == (MENTIONED, "mentioned", "title")


def test_logged_rows_from_the_users_calendars_count_as_logged():
    """The store writes the user's own rows (calendars, `attended`) with evidence 'manual'."""
    found = rank.explicit_chances([seen(7, "manual", "going")])
    assert found[7] == (predict.EVIDENCE_PROBABILITY["logged"], "logged", "")


def test_reasons_name_the_evidence():
    event = Event(source_uid="e", title="Rust night", start=datetime(2026, 12, 5, tzinfo=timezone.utc))
    item = rank.Ranked(id="e", event=event, stored=stored_event(event), score=1.0, chances=[
        rank.ContactChance(1, "Priya Raman", 0.95, "speaker"),
        rank.ContactChance(2, "Dana Lee", 0.9, "host"),
        rank.ContactChance(3, "Sam Ortiz", 0.6, "mentioned", detail="title"),
    ])
    assert present.reasons(item, {}, False, most=5) == [
        "Priya Raman is speaking", "Dana Lee is hosting", "Sam Ortiz is named in the title"]


def test_mention_chances_say_where_and_name_each_contact_once():
    index = MentionIndex([ContactName(1, "Priya Raman"), ContactName(2, "Will May")])
    rows = [text_event("a", "Priya Raman on Rust", "A talk by Priya Raman."),
            text_event("b", "Hack night", "you will may want a laptop. Will May 5 work?")]
    assert mention_chances(rows, index) == {"a": [(1, "mentioned", MENTIONED, "title")]}


def test_only_contacts_with_a_name_word_in_the_texts_are_indexed():
    """contact_names leaves out contacts none of whose names' words appear; an alias keeps one in."""
    from aggregator.ranking.listing import contact_names

    class People:
        def contacts(self):
            return [Contact(1, "Priya Raman"), Contact(2, "Robert Tables", aliases=("Bobby Tables",)),
                    Contact(3, "Dana Lee")]

    class Store:
        people = People()

    rows = [text_event("a", "Hack night", "Hosted by Bobby Tables and José.")]
    kept = contact_names(Store().people.contacts(), rows)
    assert [(c.id, c.aliases) for c in kept] == [(2, ("Bobby Tables",))]
    assert mention_chances(rows, MentionIndex(kept)) == {"a": [(2, "mentioned", MENTIONED, "description")]}
