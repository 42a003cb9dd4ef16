"""The `atproto` kind: public calendar events and RSVPs on the AT Protocol (Bluesky's network).

Event platforms such as Smoke Signal and OpenMeet write events and RSVPs as public records
in their users' repositories, under the community lexicons:

- `community.lexicon.calendar.event`: name, description, startsAt, endsAt, mode
  (#inperson / #virtual / #hybrid), status (#scheduled, #cancelled, ...), locations
  (addresses, geo points, links) and uris;
- `community.lexicon.calendar.rsvp`: subject (a strong reference to an event record)
  and status #going / #interested / #notgoing.

This kind reads, through the public XRPC endpoints only (no login, nothing private):

- the events of the accounts in the `accounts:` option (handles or DIDs): the organisers
  and community calendars you follow;
- the RSVPs of your contacts who have an AT Protocol identity (a profile URL
  `https://bsky.app/profile/<handle or DID>` in their export, or an `at://` / `did:` URL on
  the contact): a contact's public "going" becomes an RSVP on that event, "interested" a
  weaker one (the ranking's "maybe"), "not going" is kept as declined. The event an RSVP
  points at is read from its author's repository, so events your contacts go to are found
  even when nobody listed them for you.

`url:` is the service that resolves handles to DIDs (`com.atproto.identity.resolveHandle`),
e.g. `https://public.api.bsky.app`; DIDs are resolved to their repository host through the PLC
directory (option `plc`, default `https://plc.directory`) or did:web's well-known file.
Requests go through the polite session (robots.txt, per-host delay, conditional requests).
Which contacts are read is known only to the hosts of their public repositories, which
serve those records to anyone; nothing else about your contacts leaves the machine.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from aggregator.errors import SourceError
from aggregator.model import Event, Person, Venue
from aggregator.source import Context, SourceSpec
from aggregator.text import clean_text, clean_url
from sources._conference import load_json

EVENT = "community.lexicon.calendar.event"
RSVP = "community.lexicon.calendar.rsvp"
RSVP_STATUS = {f"{RSVP}#going": "going", f"{RSVP}#interested": "maybe", f"{RSVP}#notgoing": "declined"}
EVENT_STATUS = {"cancelled": "cancelled", "postponed": "tentative", "planned": "tentative",
                "scheduled": "confirmed", "rescheduled": "confirmed"}
PLC = "https://plc.directory"
PROFILE = "https://bsky.app/profile/{}"
PAGE_SIZE = 100
MAX_RECORDS = 1_000  # per repository and collection: a runaway repository costs bounded work
MAX_PEOPLE = 500     # contacts whose RSVPs one run reads
_HANDLE = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DID = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[a-z0-9.:%-]{3,253})$")
_AT_URI = re.compile(r"^at://([^/\s]+)/([a-zA-Z0-9.-]+)/([A-Za-z0-9._:~-]{1,512})$")


class AtprotoSource:
    kind = "atproto"
    full_snapshot = False
    reads_contacts = True  # the pipeline hands this kind the contacts' profile URLs (Context.contact_profiles)
    options: ClassVar[dict[str, type | tuple[type, ...]]] = {
        "accounts": (list, str), "plc": str, "contacts": bool, "max_records": int}

    def collect(self, spec: SourceSpec, http, ctx: Context) -> list[Event]:
        options = spec.options
        accounts = options.get("accounts") or []
        accounts = [accounts] if isinstance(accounts, str) else [str(a) for a in accounts]
        repo = Repositories(http, spec.url, options.get("plc", PLC), ctx,
                            max_records=int(options.get("max_records", MAX_RECORDS)))
        events: dict[str, Event] = {}
        for account in accounts:
            ctx.check_deadline()
            did = repo.did_of(account)
            held = read = 0
            for uri, value in repo.records(did, EVENT):  # the same reading as parse(), page by page
                event = to_event(uri, value, organiser=account, ctx=ctx)
                held += 1
                if event is not None:
                    events[uri] = event
                    read += 1
            ctx.count_input(held, read, "event records")
        if options.get("contacts", True):
            people = [p for p in ctx.contact_profiles if identity_of(p)][:MAX_PEOPLE]
            for profile in people:
                ctx.check_deadline()
                try:
                    _add_rsvps(repo, profile, events, ctx)
                except SourceError as exc:  # one contact's unreachable repository is not the source's failure
                    ctx.warn(f"{profile}: {exc}")
        return list(events.values())


def _add_rsvps(repo: Repositories, profile: str, events: dict[str, Event], ctx: Context) -> None:
    did = repo.did_of(identity_of(profile) or "")
    for _uri, value in repo.records(did, RSVP):
        subject = value.get("subject") if isinstance(value, dict) else None
        target = subject.get("uri") if isinstance(subject, dict) else None
        status = RSVP_STATUS.get(str(value.get("status") or f"{RSVP}#going"))
        if not isinstance(target, str) or status is None or not _AT_URI.match(target):
            continue
        if target not in events:
            record = repo.record(target)
            author = repo.handle_of(_AT_URI.match(target).group(1))
            event = to_event(target, record, organiser=author, ctx=ctx) if record is not None else None
            if event is None:
                continue
            events[target] = event
        event = events[target]
        handle = identity_of(profile)
        person = Person(name=None if handle.startswith("did:") else handle, url=profile, status=status)
        kept = tuple(p for p in event.attendees if p.url != profile)
        events[target] = event.replace(attendees=(*kept, person))


def parse(data: bytes | str, base_url: str = "", *, ctx: Context) -> list[Event]:
    """The event records of one `com.atproto.repo.listRecords` answer (the pure step, tested alone)."""
    page = load_json(data, "not a listRecords answer")
    if not isinstance(page, dict) or not isinstance(page.get("records"), list):
        raise SourceError("not a listRecords answer: no 'records' list")
    events = []
    for record in page["records"]:
        if not isinstance(record, dict) or not isinstance(record.get("uri"), str) or not _AT_URI.match(record["uri"]):
            continue
        author = _AT_URI.match(record["uri"]).group(1)
        event = to_event(record["uri"], record.get("value"), organiser=None if author.startswith("did:") else author,
                         ctx=ctx)
        if event is not None:
            events.append(event)
    return events


def identity_of(profile: str) -> str | None:
    """The handle or DID a profile URL names: bsky.app/profile/<x>, at://<x>, did:...; else None."""
    text = profile.strip()
    if text.startswith("did:"):
        candidate = text
    elif text.startswith("at://"):
        candidate = text[5:].split("/", 1)[0]
    else:
        parts = urlsplit(text)
        match = re.match(r"^/profile/([^/?#]+)/?$", parts.path)
        if (parts.hostname or "").lower() not in ("bsky.app", "www.bsky.app") or not match:
            return None
        candidate = match.group(1)
    candidate = candidate.lower().lstrip("@")
    return candidate if _DID.match(candidate) or _HANDLE.match(candidate) else None


class Repositories:
    """Public records read through XRPC: handle -> DID -> repository host, each resolved once per run."""

    def __init__(self, http, resolver: str, plc: str, ctx: Context, *, max_records: int):
        self.http = http
        self.resolver = resolver.rstrip("/")
        self.plc = plc.rstrip("/")
        self.ctx = ctx
        self.max_records = max(1, min(max_records, 50_000))
        self._dids: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        self._handles: dict[str, str] = {}  # DID -> the handle its DID document claims (alsoKnownAs at://...)
        self._local = _is_local(self.resolver)

    def did_of(self, account: str) -> str:
        name = account.strip().lower().lstrip("@")
        if _DID.match(name):
            return name
        if not _HANDLE.match(name):
            raise SourceError(f"{account!r} is not a handle (name.example.com) or a DID (did:plc:...)")
        if name not in self._dids:
            data = self._json(f"{self.resolver}/xrpc/com.atproto.identity.resolveHandle?handle={quote(name)}")
            did = str(data.get("did", "")).lower()
            if not _DID.match(did):
                raise SourceError(f"{self.resolver} did not resolve {name!r} to a DID")
            self._dids[name] = did
        return self._dids[name]

    def host_of(self, did: str) -> str:
        if did not in self._hosts:
            if did.startswith("did:web:"):
                domain = did[len("did:web:"):].replace("%3a", ":")
                document = self._json(f"https://{domain}/.well-known/did.json")
            else:
                document = self._json(f"{self.plc}/{did}")
            self._hosts[did] = self._pds_in(did, document)
            claimed = [a[5:] for a in document.get("alsoKnownAs") or [] if isinstance(a, str) and a.startswith("at://")]
            if claimed and _HANDLE.match(claimed[0].lower()):
                self._handles[did] = claimed[0].lower()
        return self._hosts[did]

    def handle_of(self, did_or_handle: str) -> str:
        """A DID's handle when its DID document (already read) names one, else the DID itself."""
        return self._handles.get(did_or_handle.lower(), did_or_handle.lower())

    def _pds_in(self, did: str, document: dict) -> str:
        for service in document.get("service") or []:
            if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
                endpoint = clean_url(str(service.get("serviceEndpoint", "")))
                if endpoint and endpoint.startswith(("https://", "http://")):
                    if _is_local(endpoint) and not self._local:  # a public DID document naming a private host
                        raise SourceError(f"{did}'s repository host {endpoint} is not a public address")
                    return endpoint.rstrip("/")
        raise SourceError(f"{did} names no repository host (#atproto_pds) in its DID document")

    def records(self, did: str, collection: str):
        """(at-uri, value) of a repository's public records of one collection, newest first, bounded."""
        host = self.host_of(did)
        cursor, seen = None, 0
        while seen < self.max_records:
            self.ctx.check_deadline()
            url = (f"{host}/xrpc/com.atproto.repo.listRecords?repo={quote(did)}&collection={collection}"
                   f"&limit={min(PAGE_SIZE, self.max_records - seen)}")
            page = self._json(url + (f"&cursor={quote(cursor)}" if cursor else ""))
            batch = [r for r in page.get("records") or [] if isinstance(r, dict)]
            for record in batch:
                if isinstance(record.get("uri"), str) and isinstance(record.get("value"), dict):
                    yield record["uri"], record["value"]
            seen += len(batch)
            next_cursor = page.get("cursor")
            if not batch or not isinstance(next_cursor, str) or next_cursor == cursor:
                return
            cursor = next_cursor

    def record(self, uri: str) -> dict | None:
        """One record by its at-uri (an RSVP's event, in its author's repository); None when gone."""
        did, collection, rkey = _AT_URI.match(uri).groups()
        if collection != EVENT:
            return None
        try:
            host = self.host_of(self.did_of(did))
            data = self._json(f"{host}/xrpc/com.atproto.repo.getRecord?repo={quote(did)}"
                              f"&collection={collection}&rkey={quote(rkey)}")
        except SourceError as exc:
            self.ctx.warn(f"{uri}: {exc}")
            return None
        value = data.get("value")
        return value if isinstance(value, dict) else None

    def _json(self, url: str) -> dict:
        data = load_json(self.http.get(url, accept="application/json").content, url, "did not answer JSON")
        if not isinstance(data, dict):
            raise SourceError(f"{url} did not answer a JSON object")
        return data


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def to_event(uri: str, value: Any, *, organiser: str | None, ctx: Context) -> Event | None:
    """A community.lexicon.calendar.event record as an Event; None (with a warning) when unusable."""
    if not isinstance(value, dict):
        return None
    title = clean_text(value.get("name") if isinstance(value.get("name"), str) else None, one_line=True)
    start = _instant(value.get("startsAt"))
    if not title or start is None:
        ctx.warn(f"{uri}: skipped an event record without a name or a start time")
        return None
    end = _instant(value.get("endsAt"))
    author = _AT_URI.match(uri).group(1) if _AT_URI.match(uri) else None
    venue, links = _place(value.get("locations"))
    uris = [u.get("uri") for u in value.get("uris") or [] if isinstance(u, dict) and isinstance(u.get("uri"), str)]
    url = next((clean_url(u) for u in uris + links if clean_url(u)), None)
    mode = str(value.get("mode") or "").rsplit("#", 1)[-1]
    host = organiser or author
    hosts = (Person(name=None if host.startswith("did:") else host, url=PROFILE.format(host), role="host"),) \
        if host else ()
    return Event(
        source_uid=uri,
        title=title,
        start=start,
        end=end if end is not None and end > start else None,
        description=clean_text(value.get("description")) if isinstance(value.get("description"), str) else None,
        url=url,
        venue=venue,
        online=mode == "virtual",
        group=organiser,
        status=EVENT_STATUS.get(str(value.get("status") or "").rsplit("#", 1)[-1], "confirmed"),
        attendees=hosts,
    )


def _instant(value: Any) -> datetime | None:
    """An RFC 3339 datetime as the lexicon requires it (with Z or an offset); None otherwise."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _place(locations: Any) -> tuple[Venue, list[str]]:
    """The first address (and any geo point) as the venue; link locations as candidate URLs."""
    name = address = city = None
    lat = lon = None
    links: list[str] = []
    for item in locations if isinstance(locations, list) else []:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("$type", ""))
        if kind.endswith("location.address") and address is None and city is None:
            name = _text(item.get("name"))
            street = _text(item.get("street"))
            city = _text(item.get("locality"))
            tail = ", ".join(p for p in (_text(item.get("region")), _text(item.get("postalCode")),
                                         _text(item.get("country"))) if p)
            address = ", ".join(p for p in (street, city, tail) if p) or None
        elif kind.endswith("location.geo") and lat is None:
            try:
                lat, lon = float(item.get("latitude")), float(item.get("longitude"))
            except (TypeError, ValueError):
                lat = lon = None
        elif isinstance(item.get("uri"), str):
            links.append(item["uri"])
        if name is None and _text(item.get("name")) and not kind.endswith("calendar.event#uri"):
            name = _text(item.get("name"))
    return Venue(name=name, address=address, city=city, lat=lat, lon=lon), links


def _text(value: Any) -> str | None:
    return clean_text(value, one_line=True, limit=300) if isinstance(value, str) else None
