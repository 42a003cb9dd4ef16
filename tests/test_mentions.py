"""aggregator.ranking.mentions: contacts named in an event's title or description, and the traps."""

from __future__ import annotations

import pytest

from aggregator.ranking.mentions import ContactName, MentionIndex, mentioned

CONTACTS = (
    ContactName(1, "Priya Raman"),
    ContactName(2, "Will May"),
    ContactName(3, "April June"),
    ContactName(4, "Mark Hall"),
    ContactName(5, "Rose Park"),
    ContactName(6, "Bill Gates"),
    ContactName(7, "José García"),
    ContactName(8, "Grace Hopper"),
    ContactName(9, "Ada Lovelace"),
    ContactName(10, "Jean-Luc Picard"),
    ContactName(11, "Ludwig van Beethoven"),
    ContactName(12, "Dana Lee", aliases=("Dana M. Lee", "Dee Lee")),
    ContactName(13, "Sam"),  # a first name only: never found
    ContactName(14, "Siobhan O'Brien"),
)


def found(text: str, contacts=CONTACTS) -> list[tuple[int, str]]:
    return [(m.contact_id, m.matched) for m in mentioned(text, contacts)]


@pytest.mark.parametrize("text, expected", [
    ("Talk by Priya Raman", [(1, "Priya Raman")]),
    ("Priya Raman on typed Python", [(1, "Priya Raman")]),  # a rare name may start a sentence
    ("Priya Raman's talk on packaging", [(1, "Priya Raman")]),  # possessive
    ("Priya Raman’s talk", [(1, "Priya Raman")]),  # typographic apostrophe
    ("Join us for a talk by Priya\nRaman and friends", [(1, "Priya\nRaman")]),  # wrapped across a line break
    ("Talk by Will May", [(2, "Will May")]),
    ("Speakers: Will May, April June", [(2, "Will May"), (3, "April June")]),
    ("A fireside chat with Bill Gates", [(6, "Bill Gates")]),
    ("Panel with Ana Lima and Mark Hall", [(4, "Mark Hall")]),
    ("José García: Rust for Pythonistas", [(7, "José García")]),
    ("Jose Garcia: Rust for Pythonistas", [(7, "Jose Garcia")]),  # accents folded
    ("An evening with Jean-Luc Picard", [(10, "Jean-Luc Picard")]),
    ("Ludwig van Beethoven night", [(11, "Ludwig van Beethoven")]),  # a lower-case particle inside the name
    ("Hosted by Dana M. Lee", [(12, "Dana M. Lee")]),  # an alias
    ("Hosted by Priya K. Raman", [(1, "Priya K. Raman")]),  # a middle initial the contact's name lacks
    ("Hosted by Dee Lee and Siobhan O'Brien", [(12, "Dee Lee"), (14, "Siobhan O'Brien")]),
    ("Grace Hopper on compilers", [(8, "Grace Hopper")]),
])
def test_names_written_as_names_are_mentions(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "you will may be late",  # lower case is no name
    "Will May attend the meetup?",  # "Will" only starts the sentence
    "Meetup moved. Will May work for everyone?",
    "Note: Will May 5 work?",
    "Dates: May 5, April June 3",  # a date, not a person
    "Bill gates open at 9",
    "bill gates open at 9",
    "Bill Gates Open Early For Members",  # Title Case text: capitals prove nothing for everyday words
    "Meet at Rose Park by the fountain",  # a place
    "Picnic in Rose Park",
    "Drinks after at Mark Hall",
    "Mark Hall Room B, second floor",
    "Poster session in the Grace Hopper Room",  # eponyms
    "Celebrate Ada Lovelace Day with us",
    "Tickets for the Grace Hopper Celebration",
    "Ada Lovelace Award nominees",
    "priya raman will talk",  # lower case
    "PRIYA RAMAN LIVE",  # all caps is no evidence
    "Slides: https://example.org/Priya-Raman/slides and https://example.org/talks?by=Priya%20Raman",
    "Questions to Priya.Raman@example.org",  # an email address
    "Follow @PriyaRaman",
    "Priya will talk about Raman spectroscopy",  # first name alone, then a word
    "Talk by Priya",  # first name only
    "Talk by Sam",  # a contact known by first name only is never found
    "Talk by Priya Ramanathan",  # word boundaries
    "Talk by Priya. Raman spectroscopy follows",  # a full stop between the words
])
def test_false_positive_traps_are_not_mentions(text):
    assert found(text) == []


def test_two_contacts_who_both_fit_give_none():
    contacts = (ContactName(1, "Priya Raman"), ContactName(2, "Priya Raman"), ContactName(3, "Ana Lima"))
    assert found("Talk by Priya Raman and Ana Lima", contacts) == [(3, "Ana Lima")]
    accents = (ContactName(1, "José García"), ContactName(2, "Jose Garcia"))
    assert found("Talk by José García", accents) == []  # the same name once folded: ambiguous


def test_an_ambiguous_longer_name_does_not_fall_back_to_a_shorter_one():
    contacts = (ContactName(1, "Mary Ann Smith"), ContactName(2, "Mary Ann Smith"), ContactName(3, "Mary Ann"))
    assert found("Talk by Mary Ann Smith", contacts) == []


def test_spans_point_into_the_text_and_every_occurrence_is_returned():
    text = "Priya Raman opens; later, a Q&A with Priya Raman."
    mentions = mentioned(text, CONTACTS)
    assert [(m.start, m.end) for m in mentions] == [(0, 11), (37, 48)]
    assert all(text[m.start:m.end] == m.matched for m in mentions)


def test_decomposed_accents_keep_offsets():
    text = "Talk by Jose\u0301 Garci\u0301a"  # combining acute accents, as some feeds send
    [mention] = mentioned(text, CONTACTS)
    assert mention.contact_id == 7 and text[mention.start:mention.end] == "Jose\u0301 Garci\u0301a"


def test_a_middle_initial_is_skipped_even_when_every_contact_has_two_names():
    """Regression: the search stopped at the longest contact name, before the name after an initial."""
    assert found("Hosted by Priya K. Raman", (ContactName(1, "Priya Raman"),)) == [(1, "Priya K. Raman")]


def test_longest_name_wins():
    contacts = (ContactName(1, "Anna Maria"), ContactName(2, "Anna Maria Lopez"))
    assert found("Keynote by Anna Maria Lopez", contacts) == [(2, "Anna Maria Lopez")]


def test_index_built_once_serves_many_texts_and_empty_inputs():
    index = MentionIndex(CONTACTS)
    assert [m.contact_id for m in index.find("Talk by Priya Raman")] == [1]
    assert index.find("") == [] and MentionIndex([]).find("Talk by Priya Raman") == []
    assert mentioned("Talk by Priya Raman", list(CONTACTS))[0].contact_id == 1  # a list works as well as a tuple
