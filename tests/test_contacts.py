"""Contact imports: each format with its quirks; re-import updates and never duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator import contact_formats, contacts
from aggregator.errors import AggregatorError
from aggregator.store import Store
from tests.conftest import CORPUS, FIXTURES, NOW, Cli, write_config

C = FIXTURES / "contacts"


def records(name, fmt="auto"):
    return contact_formats.parse(contact_formats.read_text(C / name), fmt)


def test_linkedin_preamble_bom_crlf_and_empty_emails():
    fmt, recs = records("linkedin_connections_with_notes_preamble_bom_crlf.csv")
    assert fmt == "linkedin"
    assert [r.name for r in recs] == ["Dana Lee", "Sam Ortiz", "José Núñez", "Dana Lee"]
    assert recs[0].emails == () and recs[0].urls == ("https://www.linkedin.com/in/dana-lee-pdx",)
    assert recs[1].emails == ("sam.ortiz@example.org",) and recs[1].company == "Intel"
    assert recs[0].connected_on == "2021-03-12"


def test_google_current_format_with_multi_values_and_nickname():
    fmt, recs = records("google_contacts_current_multivalue.csv")
    assert fmt == "google"
    kate = recs[0]
    assert kate.name == "Katherine Nguyen"
    assert kate.emails == ("kate@nike.example", "kate.n@home.example")
    assert kate.urls == ("https://www.linkedin.com/in/katenguyen",)
    assert kate.aliases == ("Kate nguyen",) and kate.tags == ("PDX",) and kate.company == "Nike"
    assert recs[2].name == "Chloé Van Damme, Jr."


def test_google_legacy_headers():
    fmt, recs = records("google_contacts_legacy_headers.csv")
    assert fmt == "google"
    assert recs[0].name == "Richard Feynman" and recs[0].emails == ("rich@caltech.example",)
    assert recs[0].company == "Caltech"
    assert recs[1].name == "nameless@example.org"  # no name: the email stands in


def test_vcard_21_quoted_printable_30_groups_and_40():
    fmt, recs = records("vcard_21_30_40_quoted_printable.vcf")
    assert fmt == "vcard"
    joerg, mike, simon = recs
    assert joerg.name == "Jörg Müller" and joerg.emails == ("joerg@example.de",)
    assert mike.name == "Michael Angstadt" and "Mikey angstadt" in mike.aliases and "Mike angstadt" in mike.aliases
    assert mike.emails == ("mike@example.com",) and mike.urls == ("https://linkedin.com/in/mangstadt",)
    assert mike.company == "TheCompany"
    assert simon.urls == ("http://nomis80.example",)


def test_unknown_format_is_a_clear_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(AggregatorError, match="cannot tell the contacts format"):
        contact_formats.parse(contact_formats.read_text(path))


def test_reimport_updates_and_never_duplicates(tmp_path):
    store = Store(tmp_path / "e.db")
    first = contacts.import_file(store, C / "linkedin_connections_with_notes_preamble_bom_crlf.csv", now=NOW)
    assert (first.added, first.updated) == (4, 0)  # two Dana Lees: different profile URLs, two people
    again = contacts.import_file(store, C / "linkedin_connections_with_notes_preamble_bom_crlf.csv", now=NOW)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    google = tmp_path / "google.csv"
    google.write_text("First Name,Last Name,E-mail 1 - Value,Website 1 - Value\n"
                      "Samuel,Ortiz,sam.ortiz@example.org ::: sam@home.example,\n"  # Sam's email: an update
                      "José,Núñez,jose@example.org,\n", encoding="utf-8")  # a name alone: a new contact (issue 18)
    merged = contacts.import_file(store, google, now=NOW)
    assert (merged.added, merged.updated) == (1, 1)
    everyone = store.people.contacts()
    assert len(everyone) == 5
    assert [c.emails for c in everyone if c.name == "José Núñez"] == [(), ("jose@example.org",)]
    sam = next(c for c in everyone if c.name == "Sam Ortiz")
    assert sam.emails == ("sam.ortiz@example.org", "sam@home.example")
    assert sam.aliases == ("Samuel Ortiz",)  # the other spelling kept as a name variant
    assert store.people.import_state(str((C / "linkedin_connections_with_notes_preamble_bom_crlf.csv").resolve()))


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "contacts").is_dir(), reason="../shared/corpus/contacts is not present")
@pytest.mark.parametrize("path", sorted((CORPUS / "contacts").glob("*")) if (CORPUS / "contacts").is_dir() else [],
                         ids=lambda p: p.name)
def test_corpus_contact_exports_parse(path: Path):
    fmt, recs = contact_formats.parse(contact_formats.read_text(path))
    assert fmt in path.name.split("-")[0] or fmt == "vcard" and path.suffix == ".vcf"
    assert recs and all(r.name for r in recs)


def test_cli_import_and_list(tmp_path):
    cli = Cli(write_config(tmp_path, [{"name": "a", "kind": "ics", "url": "https://example.org/a.ics"}]))
    result = cli("contacts", "import", str(C / "google_contacts_current_multivalue.csv"))
    assert result.returncode == 0 and "3 added" in result.stdout
    listed = cli.json("contacts", "list")
    assert {c["name"] for c in listed} == {"Katherine Nguyen", "Bob Smith", "Chloé Van Damme, Jr."}
    assert all(c["events_matched"] == 0 for c in listed)
    missing = cli("contacts", "import", str(tmp_path / "nope.csv"))
    # deliberately 2 since issue 11 #4: a file that cannot be read is bad usage, like the rest of ContactsError
    assert missing.returncode == 2 and "nope.csv: contacts file not found" in missing.stderr


# -- damaged exports (issue 11 #4) and standard input ----------------------------------------------
def test_stray_carriage_return_inside_a_google_field_is_read_as_a_space():
    text = "First Name,Last Name,E-mail 1 - Value\nDa\rna,Lee,d@x.org\nSam,Ortiz,s@x.org\n"
    fmt, recs = contact_formats.parse(text)  # csv refused this: "new-line character seen in unquoted field"
    assert fmt == "google" and [r.name for r in recs] == ["Da na Lee", "Sam Ortiz"]


def test_carriage_return_only_line_ends_still_split_rows():
    fmt, recs = contact_formats.parse("First Name,Last Name,E-mail 1 - Value\rDana,Lee,d@x.org\rSam,Ortiz,s@x.org\r")
    assert [r.name for r in recs] == ["Dana Lee", "Sam Ortiz"]


def test_nul_or_unknown_vcard_charset_falls_back_to_utf8():
    card = ("BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=utf\x00-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg\n"
            "EMAIL:j@example.de\nEND:VCARD\nBEGIN:VCARD\nVERSION:2.1\n"
            "N;CHARSET=klingon;ENCODING=QUOTED-PRINTABLE:Ortiz;Sam=C3=A9\nEND:VCARD\n")
    fmt, recs = contact_formats.parse(card)
    assert fmt == "vcard" and [r.name for r in recs] == ["Jörg Müller", "Samé Ortiz"]


def test_unreadable_export_is_one_error_naming_the_file(tmp_path):
    export = tmp_path / "export.csv"
    with pytest.raises(contact_formats.ContactsError) as info:
        contact_formats.parse("a,b\n1,2\n", source=export)
    assert str(info.value).startswith(f"{export}: cannot tell the contacts format")
    assert isinstance(info.value, AggregatorError) and info.value.exit_code == 2
    with pytest.raises(contact_formats.ContactsError, match="no 'First Name,Last Name,URL"):
        contact_formats.parse("Notes:\nnothing here\n", "linkedin", source=export)
    with pytest.raises(contact_formats.ContactsError, match="contacts file not found"):
        contact_formats.read_text(tmp_path / "missing.csv")


def test_cli_import_from_standard_input_and_damaged_files(tmp_path):
    import subprocess
    import sys

    config_path = write_config(tmp_path, [{"name": "a", "kind": "ics", "url": "https://example.org/a.ics"}])
    piped = subprocess.run([sys.executable, "-m", "aggregator", "--config", str(config_path), "contacts", "import", "-"],
                           input=(C / "vcard_21_30_40_quoted_printable.vcf").read_bytes(), capture_output=True,
                           timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert b"standard input (vcard): 3 added" in piped.stdout
    cli = Cli(config_path)
    assert {c["name"] for c in cli.json("contacts", "list")} == {"Jörg Müller", "Michael Angstadt", "Simon Perreault"}
    damaged = tmp_path / "google.csv"
    damaged.write_bytes(b"First Name,Last Name,E-mail 1 - Value\nKim,Na\rkamura,kim@x.org\nLee,\x00Park,lee@x.org\n")
    result = cli("contacts", "import", str(damaged))
    assert result.returncode == 0 and "2 added" in result.stdout, result.stderr
    unknown = tmp_path / "notes.txt"
    unknown.write_text("shopping list\nmilk\n")
    refused = cli("contacts", "import", str(unknown))
    assert refused.returncode == 2 and refused.stderr.startswith(f"error: {unknown}: cannot tell the contacts format")
    assert "Traceback" not in refused.stderr
