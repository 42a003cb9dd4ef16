"""The `atproto` kind: public community.lexicon.calendar events and RSVPs read through XRPC,
served by a local test server in the shapes the public endpoints answer (resolveHandle, the PLC
directory's DID documents, com.atproto.repo.listRecords and getRecord)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from aggregator.config import FetchSettings
from aggregator.errors import SourceError
from aggregator.http import Http
from aggregator.source import SourceSpec
from sources.atproto import EVENT, RSVP, AtprotoSource, Repositories, identity_of, parse, to_event
from tests.conftest import fixture_bytes, make_ctx, write_config

ORGANISER = "did:plc:pdxtechaaaaaaaaaaaaaaaaa"
DANA = "did:plc:danadanaaaaaaaaaaaaaaaaa"
OTHER = "did:plc:otherorgaaaaaaaaaaaaaaaa"
SAM = "did:plc:samsamsamaaaaaaaaaaaaaaa"
DANA_PROFILE = "https://bsky.app/profile/dana.example.com"
SAM_PROFILE = f"https://bsky.app/profile/{SAM}"


def event_record(name, starts, *, ends=None, mode="inperson", status="scheduled", locations=(), uris=()):
    value = {"$type": EVENT, "name": name, "createdAt": "2026-11-01T10:00:00Z", "startsAt": starts,
             "mode": f"{EVENT}#{mode}", "status": f"{EVENT}#{status}", "locations": list(locations),
             "uris": [{"uri": u} for u in uris]}
    if ends:
        value["endsAt"] = ends
    return value


def rsvp(subject, status):
    return {"$type": RSVP, "subject": {"uri": subject, "cid": "bafyreib2rxk3rh6kzwq"}, "status": f"{RSVP}#{status}",
            "createdAt": "2026-11-20T09:00:00Z"}


TYPING = f"at://{ORGANISER}/{EVENT}/3lbtyping"
RUST = f"at://{ORGANISER}/{EVENT}/3lbrust"
OLD = f"at://{ORGANISER}/{EVENT}/3lbold"
ELSEWHERE = f"at://{OTHER}/{EVENT}/3lbdata"

ADDRESS = {"$type": "community.lexicon.location.address", "name": "Puppet Labs", "street": "308 SW 2nd Ave",
           "locality": "Portland", "region": "OR", "postalCode": "97204", "country": "US"}
GEO = {"$type": "community.lexicon.location.geo", "latitude": "45.5202", "longitude": "-122.6742"}


class Network:
    """One local server playing the handle resolver, the PLC directory and two repository hosts."""

    def __init__(self, server):
        self.server = server
        self.base = server.url("")

    def did_document(self, did, handle):
        self.server.add(f"/plc/{did}", json.dumps({
            "id": did, "alsoKnownAs": [f"at://{handle}"],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                         "serviceEndpoint": self.server.url(f"/pds/{handle}")}]}).encode())

    def handle(self, handle, did):
        self.server.add(f"/xrpc/com.atproto.identity.resolveHandle?handle={handle}", json.dumps({"did": did}).encode())

    def records(self, handle, did, collection, pages):
        cursor = None
        for number, records in enumerate(pages):
            path = (f"/pds/{handle}/xrpc/com.atproto.repo.listRecords?repo={quote(did)}&collection={collection}"
                    f"&limit=100" + (f"&cursor={cursor}" if cursor else ""))
            cursor = f"page{number + 1}" if number + 1 < len(pages) else None
            body = {"records": [{"uri": uri, "cid": "bafyrei" + str(i), "value": value}
                                for i, (uri, value) in enumerate(records)]}
            if cursor:
                body["cursor"] = cursor
            self.server.add(path, json.dumps(body).encode())

    def record(self, handle, uri, value):
        did, collection, rkey = uri[5:].split("/")
        self.server.add(f"/pds/{handle}/xrpc/com.atproto.repo.getRecord?repo={quote(did)}&collection={collection}"
                        f"&rkey={rkey}", json.dumps({"uri": uri, "cid": "bafyreiz", "value": value}).encode())


@pytest.fixture
def network(server):
    net = Network(server)
    net.handle("pdxtech.example.com", ORGANISER)
    net.handle("dana.example.com", DANA)
    net.did_document(ORGANISER, "pdxtech.example.com")
    net.did_document(DANA, "dana.example.com")
    net.did_document(OTHER, "data.example.org")
    net.did_document(SAM, "sam.example.net")
    net.records("pdxtech.example.com", ORGANISER, EVENT, [
        [(TYPING, event_record("PDX Python: Typing in practice", "2026-12-10T02:30:00Z", ends="2026-12-10T04:30:00Z",
                               locations=[ADDRESS, GEO], uris=["https://smokesignal.events/e/typing"]))],
        [(RUST, event_record("Rust night (online)", "2026-12-12T03:00:00Z", mode="virtual", status="cancelled")),
         (OLD, {"$type": EVENT, "name": "no start", "createdAt": "2026-01-01T00:00:00Z"})],
    ])
    net.records("dana.example.com", DANA, RSVP, [[
        (f"at://{DANA}/{RSVP}/1", rsvp(TYPING, "going")),
        (f"at://{DANA}/{RSVP}/2", rsvp(ELSEWHERE, "interested")),
        (f"at://{DANA}/{RSVP}/3", rsvp(RUST, "notgoing")),
    ]])
    net.records("sam.example.net", SAM, RSVP, [[(f"at://{SAM}/{RSVP}/1", rsvp(TYPING, "going"))]])
    net.record("data.example.org", ELSEWHERE, event_record("Data Eng PDX: dbt at scale", "2026-12-15T02:00:00+00:00"))
    return net


def spec_for(network, **options):
    return SourceSpec(name="atproto", kind="atproto", url=network.base,
                      options={"accounts": ["pdxtech.example.com"], "plc": network.server.url("/plc"), **options})


def collect(network, profiles=(), **options):
    warnings: list[str] = []
    ctx = make_ctx(warnings=warnings)
    ctx.contact_profiles = tuple(profiles)
    http = Http(FetchSettings(per_host_delay=0, timeout=5, retries=0))
    try:
        events = AtprotoSource().collect(spec_for(network, **options), http, ctx)
    finally:
        http.close()
    return {e.source_uid: e for e in events}, warnings


def test_an_accounts_public_events_are_read_across_pages(network):
    events, warnings = collect(network)
    assert set(events) == {TYPING, RUST}
    typing = events[TYPING]
    assert typing.title == "PDX Python: Typing in practice"
    assert typing.start == datetime(2026, 12, 10, 2, 30, tzinfo=timezone.utc)
    assert typing.end == datetime(2026, 12, 10, 4, 30, tzinfo=timezone.utc)
    assert typing.venue.name == "Puppet Labs" and typing.venue.city == "Portland"
    assert typing.venue.address == "308 SW 2nd Ave, Portland, OR, 97204, US"
    assert (typing.venue.lat, typing.venue.lon) == (45.5202, -122.6742)
    assert typing.url == "https://smokesignal.events/e/typing"
    assert typing.group == "pdxtech.example.com"
    assert [(p.name, p.role) for p in typing.attendees] == [("pdxtech.example.com", "host")]
    rust = events[RUST]
    assert rust.online and rust.status == "cancelled"
    assert any("without a name or a start" in w for w in warnings)  # the broken record is skipped, said


def test_contacts_public_rsvps_become_attendance_and_find_events_nobody_listed(network):
    events, _ = collect(network, profiles=[DANA_PROFILE, SAM_PROFILE, "https://www.linkedin.com/in/dana-lee"])
    going = {(p.url, p.status) for p in events[TYPING].attendees if p.role is None}
    assert going == {(DANA_PROFILE, "going"), (SAM_PROFILE, "going")}
    # an RSVP to another organiser's event brings that event, read from its author's repository
    assert events[ELSEWHERE].title == "Data Eng PDX: dbt at scale"
    assert [(p.url, p.status) for p in events[ELSEWHERE].attendees if p.role is None] == [(DANA_PROFILE, "maybe")]
    assert events[ELSEWHERE].group == "data.example.org"
    assert [(p.url, p.status) for p in events[RUST].attendees if p.role is None] == [(DANA_PROFILE, "declined")]
    # the LinkedIn profile is nobody's AT Protocol identity: nothing was asked about it
    assert not [h for h in network.server.hits if "linkedin" in h.path or "dana-lee" in h.path]


def test_contacts_are_left_alone_when_the_option_says_so(network):
    events, _ = collect(network, profiles=[DANA_PROFILE], contacts=False)
    assert set(events) == {TYPING, RUST}
    assert not network.server.hits_for("/pds/dana.example.com/xrpc/com.atproto.repo.listRecords")


def test_one_contacts_unreachable_repository_is_a_warning_not_a_failure(network):
    events, warnings = collect(network, profiles=["https://bsky.app/profile/gone.example.com", DANA_PROFILE])
    assert TYPING in events and any(p.url == DANA_PROFILE for p in events[TYPING].attendees)
    assert any("gone.example.com" in w for w in warnings)


def test_an_unresolvable_account_fails_the_source(network):
    with pytest.raises(SourceError):
        collect(network, accounts=["nobody.example.com"])
    with pytest.raises(SourceError, match="not a handle"):
        collect(network, accounts=["not a handle"])


def test_a_repository_that_pages_forever_costs_bounded_requests(server):
    net = Network(server)
    net.handle("loop.example.com", ORGANISER)
    net.did_document(ORGANISER, "loop.example.com")
    path = (f"/pds/loop.example.com/xrpc/com.atproto.repo.listRecords?repo={quote(ORGANISER)}&collection={EVENT}")
    record = {"uri": TYPING, "value": event_record("Loop", "2026-12-10T02:30:00Z")}
    server.add(path + "&limit=100", json.dumps({"records": [record], "cursor": "same"}).encode())
    server.add(path + "&limit=100&cursor=same", json.dumps({"records": [record], "cursor": "same"}).encode())
    events, _ = collect(net, accounts=["loop.example.com"])
    assert len(events) == 1
    assert len(server.hits_for("/pds/loop.example.com/xrpc/com.atproto.repo.listRecords")) == 2


# One com.atproto.repo.listRecords answer (the kit's sample for this kind: tests/test_source_contract.py).
LIST_RECORDS_PAGE = fixture_bytes("json/atproto_list_records.json")


def test_parse_reads_a_list_records_page_and_refuses_what_is_not_one():
    events = parse(LIST_RECORDS_PAGE, ctx=make_ctx())
    assert [e.title for e in events] == ["PDX Python: Typing in practice", "Rust night"]
    with pytest.raises(SourceError):
        parse(b"<html>not json</html>", ctx=make_ctx())
    with pytest.raises(SourceError):
        parse(b'{"records": 3}', ctx=make_ctx())


class _Canned:
    """An HttpClient answering from a dict: for the address rule, which needs a public resolver."""

    def __init__(self, answers):
        self.answers = answers

    def get(self, url, *, accept=None):
        class Response:
            content = json.dumps(self.answers[url]).encode()
        return Response()


def test_a_public_did_document_naming_a_private_host_is_refused():
    ctx = make_ctx()
    http = _Canned({f"https://plc.directory/{DANA}": {
        "service": [{"id": "#atproto_pds", "serviceEndpoint": "http://192.168.1.1:8080"}]}})
    repo = Repositories(http, "https://public.api.bsky.app", "https://plc.directory", ctx, max_records=10)
    with pytest.raises(SourceError, match="not a public address"):
        repo.host_of(DANA)


@pytest.mark.parametrize("profile, expected", [
    ("https://bsky.app/profile/dana.example.com", "dana.example.com"),
    ("https://bsky.app/profile/Dana.Example.com/", "dana.example.com"),
    (f"https://bsky.app/profile/{DANA}", DANA),
    (f"at://{DANA}", DANA),
    (DANA, DANA),
    ("https://www.linkedin.com/in/dana", None),
    ("https://bsky.app/profile/dana.example.com/post/3k", None),
    ("https://bsky.app/profile/not_a_handle", None),
    ("did:plc:short", None),
])
def test_identity_of_a_profile_url(profile, expected):
    assert identity_of(profile) == expected


@pytest.mark.parametrize("value", [None, [], {"name": "x"}, {"name": "x", "startsAt": "2026-12-10T02:30:00"},
                                   {"name": "", "startsAt": "2026-12-10T02:30:00Z"},
                                   {"name": "x", "startsAt": "tomorrow"}, {"name": 3, "startsAt": 4}])
def test_records_without_a_name_or_an_absolute_start_are_skipped(value):
    assert to_event(TYPING, value, organiser=None, ctx=make_ctx()) is None


def test_an_end_before_the_start_is_dropped_and_modes_and_statuses_map():
    event = to_event(TYPING, event_record("x", "2026-12-10T02:30:00Z", ends="2026-12-09T00:00:00Z", mode="hybrid",
                                          status="postponed"), organiser=None, ctx=make_ctx())
    assert event.end is None and not event.online and event.status == "tentative"
    assert [(p.url, p.role) for p in event.attendees] == [(f"https://bsky.app/profile/{ORGANISER}", "host")]


def test_fetch_end_to_end_turns_a_contacts_public_going_into_an_rsvp(tmp_path, network, cli_for):
    (tmp_path / "contacts.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dana Lee\r\nN:Lee;Dana;;;\r\n"
        f"URL:{DANA_PROFILE}\r\nEND:VCARD\r\n", encoding="utf-8")
    config = write_config(tmp_path, [{"name": "pdx-atproto", "kind": "atproto", "url": network.base,
                                      "accounts": ["pdxtech.example.com"], "plc": network.server.url("/plc")}],
                          profile={"topics": {"python": 3}, "contacts": ["contacts.vcf"]})
    cli = cli_for(config)
    fetched = cli("fetch")
    assert fetched.returncode == 0, fetched.stderr
    listed = {e["title"]: e for e in cli.json("upcoming", "--limit", "0")}
    typing = listed["PDX Python: Typing in practice"]
    assert [(c["name"], c["probability"], c["evidence"]) for c in typing["contacts"]] == [("Dana Lee", 1.0, "rsvp")]
    dbt = listed["Data Eng PDX: dbt at scale"]
    assert [(c["name"], c["evidence"]) for c in dbt["contacts"]] == [("Dana Lee", "rsvp")]
    assert dbt["contacts"][0]["probability"] == pytest.approx(0.5)
    assert "Rust night (online)" not in listed  # cancelled: left out of upcoming
