"""One person once across LinkedIn, Google and vCard exports (issue 18): an address or profile URL
joins entries whatever the spelling, a name alone never does; duplicates offered, merge, remove."""

from __future__ import annotations

import sqlite3

import pytest

from aggregator import contact_formats, contacts, journal, sameperson
from aggregator.config import UnknownName
from aggregator.identity import Matcher, name_variant, normalize_name
from aggregator.model import Contact
from aggregator.nicknames import ROWS, same_given_name
from aggregator.ranking.mentions import ContactName, MentionIndex
from aggregator.store import SCHEMA_VERSION, Store
from tests.conftest import CORPUS, FIXTURES, NOW

C = FIXTURES / "contacts"
EXPORTS = ["identity_linkedin_connections.csv", "identity_google_contacts.csv", "identity_address_book.vcf"]


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "e.db")
    yield opened
    opened.close()


def import_all(store) -> list[contacts.ImportReport]:
    return [contacts.import_file(store, C / name, now=NOW) for name in EXPORTS]


def by_name(store) -> dict[str, list[Contact]]:
    found: dict[str, list[Contact]] = {}
    for c in store.people.contacts():
        found.setdefault(c.name, []).append(c)
    return found


def test_two_sam_lees_stay_two_and_an_address_joins_whatever_the_spelling(store):
    linkedin, google, vcard = import_all(store)
    assert (linkedin.added, google.added) == (5, 5)
    people = by_name(store)
    acme, globex = sorted(people["Sam Lee"], key=lambda c: c.id)  # the case: collapsed into one before
    assert (acme.company, acme.emails) == ("Acme", ())
    assert (globex.company, globex.emails) == ("Globex", ("sam.lee@globex.example",))
    # the vCard's "Priya Raman-Iyer" has LinkedIn's address: one contact, the new spelling a variant
    [priya] = people["Priya Raman"]
    assert priya.aliases == ("Priya Raman-Iyer",) and priya.company == "Umbrella, Inc."  # "Umbrella" is the same
    # the vCard's "Ward, Elizabeth" has LinkedIn Elizabeth's URL (no www, a trailing slash) and Google Liz's
    # address: the two stored contacts were one person, and are one now
    assert (vcard.added, vcard.updated, vcard.merged) == (1, 2, 1)
    [liz] = people["Elizabeth Ward"]
    assert "Liz Ward" not in people and liz.aliases == ("Liz Ward",)
    assert liz.emails == ("liz@initech.example", "liz.ward@gmail.com")
    assert liz.urls == ("https://www.linkedin.com/in/eward",)  # one URL, however it was written
    assert len(store.people.contacts()) == 10  # 5 + 5 + Michael J. Chen - Liz Ward


def test_reimporting_every_export_changes_nothing(store):
    import_all(store)
    before = store.people.contacts()
    again = import_all(store)
    assert [(r.added, r.updated, r.merged) for r in again] == [(0, 0, 0)] * 3
    assert store.people.contacts() == before


def test_an_entry_with_no_address_is_found_again_by_name_only_in_its_own_kind_of_export(store):
    import_all(store)
    [dana] = by_name(store)["Dana Okafor"]  # Google, a phone number only
    text = "BEGIN:VCARD\nVERSION:3.0\nN:Okafor;Dana;;;\nFN:Dana Okafor\nEND:VCARD\n"
    assert contacts.import_text(store, text, name="phone.vcf", now=NOW).added == 1  # a vCard: a name alone
    google = "First Name,Last Name,E-mail 1 - Value\nDana,Okafor,\n"
    report = contacts.import_text(store, google, name="google (1).csv", now=NOW)
    assert (report.added, report.unchanged) == (0, 1)  # Google again: the same entry
    assert [c.id for c in by_name(store)["Dana Okafor"]][0] == dana.id


def test_a_linkedin_export_from_before_2019_has_no_urls_yet_imports(store):
    """The older Connections.csv: no URL column, "Connected On" with a time, sometimes a member URN
    where the address goes (never taken for one)."""
    text = ("First Name,Last Name,Email Address,Company,Position,Connected On\n"
            'Mike,Chen,mike.chen@acme.example,Acme,Engineer,"1/8/18, 6:14 PM"\n'
            'Ann,Bell,urn:li:member:123456,Initech,CTO,"12/24/17, 9:00 AM"\n')
    assert contact_formats.detect_format(text) == "linkedin"
    import_all(store)
    report = contacts.import_text(store, text, name="Connections.csv", now=NOW)
    assert (report.added, report.updated) == (1, 1)  # Mike by his address; Ann is new
    mike = next(c for c in store.people.contacts() if "mike.chen@acme.example" in c.emails)
    assert mike.name == "Mike Chen" and mike.connected_on == "2018-01-08"
    assert next(c for c in store.people.contacts() if c.name == "Ann Bell").emails == ()


def test_duplicates_offers_variants_tied_by_company_or_domain_never_two_sam_lees(store):
    import_all(store)
    offers = {tuple(d.names): d for d in sameperson.duplicates(store)}
    assert set(offers) == {("Michael Chen", "Michael Chen"), ("José García", "Jose Garcia"),
                           ("Michael Chen", "Mike Chen"), ("Mike Chen", "Michael Chen")}
    assert offers[("Michael Chen", "Mike Chen")].why == "nickname: Michael Chen / Mike Chen, both at Acme"
    assert "only one names a company" in offers[("José García", "Jose Garcia")].why  # accents
    assert all("Sam Lee" not in d.names for d in offers.values())


@pytest.mark.parametrize(("a", "b", "how"), [
    ("Mike Chen", "Michael Chen", "nickname"), ("Bill Gates", "William H. Gates", "nickname"),
    ("Liz Ward", "Elizabeth Ward", "nickname"), ("Bob Smith", "Robert Smith", "nickname"),
    ("Michael J. Chen", "Michael Chen", "middle name or initial"), ("M. Chen", "Michael Chen", "initial"),
    ("Chen, Michael", "Michael Chen", "same name"), ("José Núñez", "Jose Nunez", "same name"),
    ("Phillip Fry", "Philip Fry", "spelling"),
    ("Alexander Wu", "Alexandra Wu", None), ("Michael J. Chen", "Michael K. Chen", None),
    ("Sam Lee", "Dana Lee", None), ("Mike Chen", "Mike Chan", None),
])
def test_name_variants(a, b, how):
    assert name_variant(normalize_name(a), normalize_name(b)) == how


def test_the_nickname_table_is_one_place_of_lowercase_ascii_rows():
    assert all(name.isascii() and name == name.lower() and " " not in name for row in ROWS for name in row)
    assert same_given_name("bill", "william") and same_given_name("mike", "mikey")
    assert not same_given_name("alexander", "alexandra")  # they share only Alex
    assert len(ROWS) >= 150


def test_variants_tied_only_by_a_webmail_domain_or_with_two_profiles_are_not_offered():
    people = [
        Contact(1, "Mike Chen", emails=("mike@gmail.com",)), Contact(2, "Michael Chen", emails=("mc@gmail.com",)),
        Contact(3, "Bob Ruiz", emails=("bob@ruiz.example",)), Contact(4, "Robert Ruiz", emails=("rr@ruiz.example",)),
        Contact(5, "Ann Bell", company="Acme", urls=("https://www.linkedin.com/in/ann-bell-1",)),
        Contact(6, "Ann Bell", company="Acme", urls=("https://linkedin.com/in/ann-bell-2",)),
    ]
    found = sameperson.find_duplicates(people)
    assert [d.ids for d in found] == [[3, 4]]
    assert found[0].why == "nickname: Bob Ruiz / Robert Ruiz, both have addresses at ruiz.example"


def test_merge_keeps_every_name_address_and_the_latest_catch_up_and_imports_keep_them_one(store):
    import_all(store)
    michael, other = (c.id for c in store.people.contacts() if c.name == "Michael Chen")  # LinkedIn, vCard
    [mike] = (c.id for c in store.people.contacts() if c.name == "Mike Chen")
    store.people.touch(mike, NOW.date(), NOW)
    merged = sameperson.merge(store, [str(michael), str(mike), str(other)], now=NOW)
    assert merged.id == michael and merged.aliases == ("Mike Chen", "Michael J. Chen")
    assert merged.emails == ("mike.chen@acme.example",) and merged.last_contacted == NOW.date().isoformat()
    assert [c.id for c in store.people.contacts() if "Chen" in c.name] == [michael]
    assert store.database.conn.execute("select count(*) from touches where contact_id = ?", [michael]).fetchone()[0]
    assert [(r.added, r.updated) for r in import_all(store)] == [(0, 0)] * 3  # never split again
    for typed in ("Mike Chen", "Michael J. Chen", "mike", str(michael)):  # every variant names him
        assert journal.find_contact(store, typed).id == michael
    matcher = Matcher.build(contacts.candidates(store.people.contacts()))
    assert matcher.match("Mikey Chen").contact_id == michael  # an attendee under another nickname
    assert matcher.match(None, "MIKE.CHEN@acme.example").contact_id == michael
    assert not [d for d in sameperson.duplicates(store) if "Michael Chen" in d.names]
    with pytest.raises(UnknownName, match=f"contact {mike} \\(Mike Chen\\) was merged into contact {michael}") as info:
        sameperson.merge(store, [str(mike), str(michael)], now=NOW)
    assert info.value.exit_code == 2
    with pytest.raises(UnknownName, match="no contact with id 999"):
        sameperson.merge(store, [str(michael), "999"], now=NOW)
    with pytest.raises(UnknownName, match="at least two different"):
        sameperson.merge(store, [str(michael), str(michael)], now=NOW)


def test_combine_rules_for_weight_cadence_and_dates():
    a = Contact(1, "Bob Ruiz", weight=1.0, cadence_days=90, last_contacted="2025-01-01", connected_on="2020-05-01")
    b = Contact(2, "Robert Ruiz", weight=3.0, cadence_days=30, last_contacted="2026-02-01", connected_on="2018-01-01",
                company="Acme")
    merged = contacts.combine([a, b])
    assert (merged.id, merged.name, merged.aliases, merged.company) == (1, "Bob Ruiz", ("Robert Ruiz",), "Acme")
    assert (merged.weight, merged.cadence_days) == (3.0, 30)
    assert (merged.last_contacted, merged.connected_on) == ("2026-02-01", "2018-01-01")


def test_removed_contacts_stay_out_of_imports_until_asked_back(store):
    import_all(store)
    [globex] = [c for c in store.people.contacts() if c.company == "Globex" and c.name == "Sam Lee"]
    [dana] = by_name(store)["Dana Okafor"]  # no address: remembered by her name in Google exports
    sameperson.remove(store, str(globex.id), now=NOW)
    sameperson.remove(store, str(dana.id), now=NOW)
    again = contacts.import_file(store, C / "identity_google_contacts.csv", now=NOW)
    assert (again.added, again.removed) == (0, 2)
    assert "2 left out because you removed them" in again.summary()
    assert len(by_name(store)["Sam Lee"]) == 1  # the LinkedIn one, whose URL was never removed
    back = contacts.import_file(store, C / "identity_google_contacts.csv", now=NOW, include_removed=True)
    assert back.added == 2 and {c.id for c in store.people.contacts()}.isdisjoint({globex.id, dana.id})
    assert contacts.import_file(store, C / "identity_google_contacts.csv", now=NOW).removed == 0
    with pytest.raises(UnknownName, match="no contact with id"):
        sameperson.remove(store, str(globex.id), now=NOW)


def test_a_version_8_database_migrates_and_keeps_finding_its_contacts(tmp_path):
    path = tmp_path / "old.db"
    Store(path).close()
    conn = sqlite3.connect(path)  # make it the file an older aggregator left
    for table in ("contact_keys", "contact_merges", "contacts_removed"):
        conn.execute(f"drop table {table}")
    conn.execute("update meta set value = '8' where key = 'schema_version'")
    conn.execute("insert into contacts (id, name, normalized_name, source_file) "
                 "values (1, 'Dana Okafor', 'dana okafor', 'contacts.csv')")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.database.meta("schema_version") == str(SCHEMA_VERSION)
    assert store.people.name_keys() == {"google:dana okafor": 1}
    report = contacts.import_text(store, "First Name,Last Name,E-mail 1 - Value\nDana,Okafor,\n", name="c.csv", now=NOW)
    assert (report.added, report.unchanged) == (0, 1)
    store.close()


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "contacts").is_dir(), reason="../shared/corpus/contacts is not present")
def test_every_corpus_export_imports_into_one_address_book(store):
    """The shared exports (Google, LinkedIn, vCards of Android, Outlook, Gmail, iPhone, RFC 6350) one after
    another: each imports; a second pass changes nothing; the duplicates offered are real variants."""
    paths = sorted((CORPUS / "contacts").glob("*"))
    first = [contacts.import_file(store, path, now=NOW) for path in paths]
    assert sum(r.added for r in first) == len(store.people.contacts()) > 10
    assert all((r.added, r.updated) == (0, 0) for r in (contacts.import_file(store, p, now=NOW) for p in paths))
    offers = sameperson.duplicates(store)
    assert not [d for d in offers if "Priya Sharma" in d.names]  # two LinkedIn profiles: two people
    for offer in offers:
        assert len(set(offer.ids)) == 2 and offer.why.split(":")[0] in {
            "same name", "nickname", "middle name or initial", "initial", "spelling"}


def test_attendees_and_mentions_find_a_contact_under_any_variant_but_a_shared_name_finds_nobody(store):
    import_all(store)
    people = store.people.contacts()
    liz = next(c for c in people if c.name == "Elizabeth Ward")
    globex = next(c for c in people if c.name == "Sam Lee" and c.company == "Globex")
    matcher = Matcher.build(contacts.candidates(people))
    assert matcher.match("Liz Ward").contact_id == liz.id  # a variant the import kept
    assert matcher.match("Sam Lee") is None  # two Sam Lees: a name alone credits neither
    assert matcher.match("Sam Lee", "sam.lee@globex.example").contact_id == globex.id
    index = MentionIndex([ContactName(c.id, c.name, c.aliases) for c in people])  # as listing builds it
    assert [m.contact_id for m in index.find("Lightning talks: Liz Ward on incident reviews")] == [liz.id]


def test_an_evening_logged_under_both_merged_contacts_counts_once(store):
    from datetime import timedelta

    from aggregator.model import Event
    from tests.conftest import PORTLAND

    import_all(store)
    store.events.save("pdx", [Event("py-1", "Python night", NOW - timedelta(days=2), group="PDX Python")],
                      now=NOW, tz=PORTLAND)
    [event] = store.events.between(start=NOW - timedelta(days=3), end=NOW)
    michael = next(c for c in store.people.contacts() if c.name == "Michael Chen" and c.urls)
    mike = next(c for c in store.people.contacts() if c.name == "Mike Chen")
    store.attendance.log_attended(event.id, [michael, mike], NOW)  # logged twice, once under each name
    contacts.merge_contacts(store, [michael.id, mike.id], now=NOW)
    rows = store.database.conn.execute("select person_key, contact_id from attendance where event_id = ?",
                                       [event.id]).fetchall()
    assert rows == [(f"contact:{michael.id}", michael.id)]
    assert store.attendance.contact_event_counts()[michael.id][0] == 1
