"""journal: reconnect's window and contacts never logged (issue 12), names that match nothing (exit 2)."""

from __future__ import annotations

import pytest

from aggregator import contacts, journal
from aggregator.config import UnknownName
from aggregator.store import UnknownEvent
from tests.agenda_world import build
from tests.conftest import NOW


@pytest.fixture
def world(tmp_path):
    _, settings, store = build(tmp_path)
    yield settings, store
    store.close()


def titles(entries, name):
    return {e["title"] for entry in entries if entry.contact.name == name for e in entry.events}


def test_reconnect_window_is_days_not_the_last_contacts_days_since(world):
    settings, store = world
    # the last contact row (Ravi) caught up 30 days ago: the old loop made 30 the window
    assert "PyCascades 2027" not in titles(journal.reconnect(store, settings, now=NOW, days=5), "Sam Ortiz")
    assert "PyCascades 2027" in titles(journal.reconnect(store, settings, now=NOW, days=10), "Sam Ortiz")


def test_contacts_never_logged_are_overdue_with_no_days(world):
    settings, store = world
    contacts.import_text(store, "First Name,Last Name,E-mail 1 - Value\nKim,Nakamura,kim@example.org\n",
                         name="google.csv")
    entries = journal.reconnect(store, settings, now=NOW, days=60)  # raised TypeError before
    kim = next(e for e in entries if e.contact.name == "Kim Nakamura")
    assert kim.days is None and journal.describe_overdue(kim) == "never logged"
    assert entries[-1] is kim  # nothing to meet her at: after those one can meet soon


def test_unknown_event_and_contact_are_bad_usage(world):
    """The store itself says an unknown id is bad usage (exit 2); journal used to re-raise it as such."""
    settings, store = world
    with pytest.raises(UnknownEvent, match="unknown event id: no event with id 'ffffffffff'") as info:
        store.events.find("ffffffffff")
    assert info.value.exit_code == 2
    with pytest.raises(UnknownEvent, match="no event with id 'ff'"):
        store.events.find("ff")  # too short to be a prefix: never matches everything
    with pytest.raises(UnknownEvent) as info:
        journal.log_attended(store, settings, "ffffffffff", ["Ravi Patel"], now=NOW)
    assert info.value.exit_code == 2
    with pytest.raises(UnknownName, match="did you mean Ravi Patel"):
        journal.find_contact(store, "Ravi Patil")


def test_a_first_name_alone_means_the_one_contact_who_has_it(world):
    """`aggregator touched dana` logs Dana Lee when she is the only Dana; with two Sams the
    user is asked for the full name (exit 2), never given one of them silently."""
    settings, store = world
    assert journal.find_contact(store, "dana").name == "Dana Lee"
    assert journal.find_contact(store, "  RAVI ").name == "Ravi Patel"
    entry = journal.log_touch(store, settings, "dana", on=None, now=NOW)
    assert entry["name"] == "Dana Lee"
    contacts.import_text(store, "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                         "Sam,Wu,https://www.linkedin.com/in/sam-wu,,,,01 Nov 2026\n", name="more.csv")
    with pytest.raises(UnknownName, match="'sam' could be several contacts: Sam Ortiz .*, Sam Wu .*full name") as info:
        journal.find_contact(store, "sam")
    assert info.value.exit_code == 2
    with pytest.raises(UnknownName, match="no contact named 'Zed'"):
        journal.find_contact(store, "Zed")
