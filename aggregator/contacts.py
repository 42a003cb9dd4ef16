"""Import contacts: LinkedIn Connections.csv, Google Contacts CSV, vCard 2.1/3.0/4.0.

The readers (`contact_formats`) are pure (text in, ContactRecords out). Importing updates the
contact with the same profile URL or email address, whatever the format or the
spelling of the name (which becomes one of its name variants); an entry with
neither is found again by its name in an export of the same kind. A name alone
never joins two kinds of export. Contacts stay on this machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from aggregator.contact_formats import ContactRecord, parse, read_stream, read_text
from aggregator.identity import (
    Candidate,
    Matcher,
    company_key,
    is_role_mailbox,
    normalize_email,
    normalize_name,
    normalize_url,
)
from aggregator.model import Contact

STDIN = "-"


@dataclass
class ImportReport:
    path: str
    format: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0  # left out: the user removed them (`contacts remove`)
    merged: int = 0  # stored contacts this export showed to be one person with another
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal: what the import did, and what it left out and why."""
        line = f"{self.path} ({self.format}): {self.added} added, {self.updated} updated, {self.unchanged} unchanged"
        if self.merged:
            line += f"; {self.merged} merged into a contact with the same address or URL"
        if self.removed:
            line += (f"; {self.removed} left out because you removed them (`contacts import --include-removed` "
                     f"brings them back)")
        return line


def identity_keys(record: ContactRecord) -> tuple[list[str], list[str], str]:
    """(profile URLs, emails, name) as keys; a role mailbox (info@, events@) identifies nobody."""
    emails = [normalize_email(e) for e in record.emails]
    return ([normalize_url(u) for u in record.urls if normalize_url(u)],
            [e for e in emails if e and not is_role_mailbox(e)], normalize_name(record.name))


def removal_keys(urls: Iterable[str], emails: Iterable[str], name_key: str = "") -> list[str]:
    """What a removed contact is remembered by: its URLs and addresses, else its name in its export."""
    keys = [f"url:{u}" for u in urls if u] + [f"email:{e}" for e in emails if e]
    return keys or ([name_key] if name_key else [])


@dataclass
class ImportPlan:
    inserts: list[Contact] = field(default_factory=list)
    updates: list[Contact] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)  # name keys to store: "google:sam lee" -> contact id
    merges: list[list[int]] = field(default_factory=list)  # contacts one record's addresses show are one
    restored: set[str] = field(default_factory=set)  # removed keys an --include-removed import brought back


# -- importing into the store --------------------------------------------------
def import_file(store, path: Path, fmt: str = "auto", *, now: datetime, only_if_changed: bool = False,
                include_removed: bool = False) -> ImportReport | None:
    """Import or update contacts from one export file. Returns None when skipped as unchanged."""
    path = Path(path)
    text = read_text(path)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    key = str(path.resolve())
    if only_if_changed and store.people.import_state(key) == digest:
        return None
    report = import_text(store, text, fmt, name=str(path), now=now, include_removed=include_removed)
    store.people.set_import_state(key, digest, now)
    return report


def import_path(store, path: str, fmt: str = "auto", *, now: datetime, stdin=None,
                include_removed: bool = False) -> ImportReport:
    """`contacts import PATH`: a file, or `-` for the binary stream `stdin`."""
    if path == STDIN:
        return import_text(store, read_stream(stdin), fmt, name="standard input", now=now,
                           include_removed=include_removed)
    return import_file(store, Path(path), fmt, now=now, include_removed=include_removed)


def import_text(store, text: str, fmt: str = "auto", *, name: str, now: datetime | None = None,
                include_removed: bool = False) -> ImportReport:
    """Import or update contacts from an export's text (`name` says where it came from).

    Contacts the user removed stay out unless `include_removed`; entries whose addresses show that
    two stored contacts are one person merge them (the lower id stays)."""
    fmt, records = parse(text, fmt, source=name)
    report = ImportReport(path=name, format=fmt)
    people = store.people
    found = plan(people.contacts(), records, fmt=fmt, source_file=Path(name).name, report=report,
                 name_keys=people.name_keys(), removed=people.removed_keys(), include_removed=include_removed,
                 first_id=people.next_id())
    with store.database.transaction():
        people.write(found.inserts, found.updates, found.keys, found.restored)
        for ids in found.merges:
            merge_contacts(store, ids, now=now or datetime.now(timezone.utc))
    return report


def plan(existing: list[Contact], records: list[ContactRecord], *, fmt: str, source_file: str,
         report: ImportReport, name_keys: dict[str, int] | None = None, removed: dict[str, str] | None = None,
         include_removed: bool = False, first_id: int | None = None) -> ImportPlan:
    """Which records are new contacts and which update a known one.

    A record is a known contact when it shares a profile URL or an email address with it, or, failing
    those, when an export of the same kind (`fmt`) had an entry of the same name that no URL or
    address contradicts (re-importing an entry that has neither). A name alone never joins entries
    of two kinds of export: "Sam Lee" on LinkedIn and "Sam Lee" in Google stay two contacts, for
    `contacts duplicates` to offer when something says they may be one.
    """
    given_keys = dict(name_keys or {})
    name_keys = dict(given_keys)
    removed = removed or {}
    by_url, by_email = {}, {}
    known: dict[int, Contact] = {}
    next_id = first_id or max((c.id for c in existing), default=0) + 1
    out = ImportPlan()

    def index(contact: Contact) -> None:
        known[contact.id] = contact
        for url in contact.urls:
            by_url.setdefault(normalize_url(url), contact.id)
        for email in contact.emails:
            by_email.setdefault(normalize_email(email), contact.id)

    for contact in existing:
        index(contact)
    inserted: set[int] = set()
    changed: set[int] = set()
    retired: dict[int, int] = {}  # merged here -> the contact it joined

    def live(contact_id: int) -> int:
        while contact_id in retired:
            contact_id = retired[contact_id]
        return contact_id

    for record in records:
        urls, emails, name = identity_keys(record)
        name_key = f"{fmt}:{name}" if name else ""
        gone = [k for k in removal_keys(urls, emails, name_key) if k in removed]
        if gone and not include_removed:
            report.removed += 1
            continue
        out.restored.update(gone)
        hits = list(dict.fromkeys(live(i) for i in [*(by_url[u] for u in urls if u in by_url),
                                                   *(by_email[e] for e in emails if e in by_email)]))
        if not hits and name_key in name_keys and live(name_keys[name_key]) in known:
            candidate = live(name_keys[name_key])
            if not _conflicting(known[candidate], urls, emails):
                hits = [candidate]
        if not hits:
            contact = Contact(id=next_id, name=record.name, normalized_name=name, emails=tuple(record.emails),
                              urls=tuple(record.urls), aliases=tuple(record.aliases), company=record.company,
                              tags=tuple(record.tags), weight=1.0, last_contacted=record.connected_on,
                              source_file=source_file, connected_on=record.connected_on)
            next_id += 1
            inserted.add(contact.id)
            index(contact)
            if name_key:
                name_keys.setdefault(name_key, contact.id)
            continue
        hits.sort()
        for other in hits[1:]:  # one person's URL and address were two contacts: one now
            retired[other] = hits[0]
        if len([i for i in hits if i not in inserted]) > 1:
            out.merges.append([i for i in hits if i not in inserted])
        found = hits[0]
        old = known[found]
        base = combine([old, *(known[i] for i in hits[1:])])
        merged = replace(
            base, emails=_union(base.emails, record.emails), urls=_union(base.urls, record.urls, normalize_url),
            aliases=name_variants(base, [record.name, *record.aliases]), tags=_union(base.tags, record.tags),
            company=base.company if company_key(record.company) in ("", company_key(base.company)) else record.company,
            connected_on=base.connected_on or record.connected_on,
            last_contacted=base.last_contacted or record.connected_on)
        if name_key:
            name_keys.setdefault(name_key, found)
        if merged != old:
            index(merged)
            if found not in inserted:
                changed.add(found)
        elif found not in inserted:
            report.unchanged += 1
    report.added = len(inserted - set(retired))
    report.updated = len(changed - set(retired))
    report.merged = len([i for i in retired if i not in inserted])
    out.inserts = [known[i] for i in sorted(inserted) if i not in retired]
    out.updates = [known[i] for i in sorted(changed) if i not in retired]
    out.keys = {k: live(v) for k, v in name_keys.items() if k and k not in given_keys}
    return out


def _conflicting(contact: Contact, urls: list[str], emails: list[str]) -> bool:
    """Two profile URLs, or two sets of addresses, that differ mean two people, whatever their names."""
    known_urls = {normalize_url(u) for u in contact.urls}
    known_emails = {normalize_email(e) for e in contact.emails}
    return bool(known_urls and urls and not known_urls.intersection(urls)) or bool(
        known_emails and emails and not known_emails.intersection(emails))


def _union(old: tuple[str, ...], new, key=lambda value: value) -> tuple[str, ...]:
    """`old` and then each of `new` not in it yet (compared by `key`)."""
    out, seen = list(old), {key(v) for v in old}
    for value in new:
        if value and key(value) not in seen:
            seen.add(key(value))
            out.append(value)
    return tuple(out)


def name_variants(contact: Contact, names: Iterable[str]) -> tuple[str, ...]:
    """`contact`'s aliases with each of `names` it does not have yet (compared normalized, so
    "Lee, Dana" and "Dana Lee" are one name)."""
    seen = {normalize_name(contact.name), *(normalize_name(a) for a in contact.aliases)}
    aliases = list(contact.aliases)
    for name in names:
        norm = normalize_name(name)
        if name and norm and norm not in seen:
            seen.add(norm)
            aliases.append(name)
    return tuple(aliases)


def combine(people: list[Contact]) -> Contact:
    """One contact of several (the first's id and name stay): every name as a variant, every
    address, URL and tag; the first company given; the highest weight (someone you marked as
    mattering still does), the shortest catch-up cadence, the latest catch-up, the earliest
    connection date."""
    first, rest = people[0], people[1:]
    merged = first
    for other in rest:
        merged = replace(merged, aliases=name_variants(merged, [other.name, *other.aliases]),
                         emails=_union(merged.emails, other.emails),
                         urls=_union(merged.urls, other.urls, normalize_url),
                         tags=_union(merged.tags, other.tags))
    weights = [p.weight for p in people if p.weight is not None]
    cadences = [p.cadence_days for p in people if p.cadence_days]
    contacted = [p.last_contacted for p in people if p.last_contacted]
    connected = [p.connected_on for p in people if p.connected_on]
    return replace(merged, company=next((p.company for p in people if p.company), None),
                   weight=max(weights) if weights else None, cadence_days=min(cadences) if cadences else None,
                   last_contacted=max(contacted) if contacted else None,
                   connected_on=min(connected) if connected else None)


def merge_contacts(store, ids: list[int], *, now: datetime) -> Contact:
    """Join the stored contacts `ids` into the first: names, addresses, URLs, catch-ups, attendance
    (one evening once), name keys. Ranking sums are redone on the next read (attendance_version)."""
    by_id = {c.id: c for c in store.people.contacts()}
    survivor = combine([by_id[i] for i in ids])
    with store.database.transaction():
        store.people.merge(survivor, ids[1:], now)
        store.attendance.repoint(ids[1:], survivor.id)
    return survivor


def candidates(people: Iterable[Contact]) -> list[Candidate]:
    """Stored contacts as identity.Candidate values for the Matcher."""
    return [Candidate(c.id, c.name, c.emails, c.urls, c.aliases) for c in people]


def refresh_social(store, now: datetime, half_life_days: float, zone: tzinfo = timezone.utc) -> None:
    """Match attendees to contacts, then bring the ranking's attendance sums up to date, here rather
    than on the next query (weekdays are counted in `zone`, the user's)."""
    matcher = Matcher.build(candidates(store.people.contacts()))

    def match(name, email, url):
        found = matcher.match(name, email, url)
        return found.contact_id if found else None

    store.attendance.resolve(match)
    from aggregator.ranking import refresh

    refresh(store, now, zone, half_life_days)

