"""Import contacts: LinkedIn Connections.csv, Google Contacts CSV, vCard 2.1/3.0/4.0.

The parsers are pure (text in, ContactRecords out). Importing updates a
contact found by profile URL, email or exact name, and never duplicates one.
Contacts stay on this machine.
"""

from __future__ import annotations

import csv
import hashlib
import io
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from aggregator import snapshot
from aggregator.errors import AggregatorError
from aggregator.identity import Candidate, Matcher, normalize_email, normalize_name, normalize_url
from aggregator.model import Contact

MAX_BYTES = 50_000_000  # exports of tens of thousands of contacts stay far below this
STDIN = "-"


class ContactsError(AggregatorError):
    """A contacts export that cannot be read: names the file and the problem. Bad usage (exit 2)."""

    exit_code = 2

    def __init__(self, source: str | Path, problem: str):
        self.source, self.problem = str(source), problem
        super().__init__(f"{source}: {problem}")


@dataclass
class ContactRecord:
    name: str
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    company: str | None = None
    tags: tuple[str, ...] = ()
    connected_on: str | None = None  # ISO date, when the export says


@dataclass
class ImportReport:
    path: str
    format: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def read_text(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ContactsError(path, "contacts file not found") from None
    except OSError as exc:
        raise ContactsError(path, f"cannot read it: {exc.strerror or exc}") from None
    return decode(data, path)


def read_stream(stream, name: str = "standard input") -> str:
    """An export piped in (`contacts import -`), read up to MAX_BYTES."""
    return decode(stream.read(MAX_BYTES + 1), name)


def decode(data: bytes, source: str | Path) -> str:
    """UTF-8 (with or without BOM) or UTF-16 as exported; else cp1252, never an error."""
    if len(data) > MAX_BYTES:
        raise ContactsError(source, f"over {MAX_BYTES:,} bytes: is this a contacts export?")
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("cp1252", errors="replace")


def detect_format(text: str, source: str | Path = "contacts") -> str:
    head = text[:5000]
    if re.search(r"^BEGIN:VCARD", head, re.I | re.M):
        return "vcard"
    lowered = head.lower()
    if any(line.strip().lower().startswith("first name,last name,url") for line in head.splitlines()):
        return "linkedin"
    if "e-mail 1 - value" in lowered or lowered.startswith(("name,given name", "first name,middle name")):
        return "google"
    raise ContactsError(
        source, "cannot tell the contacts format: expected a LinkedIn Connections.csv, a Google Contacts CSV or a "
        "vCard (.vcf) file; pass --format linkedin|google|vcard"
    )


def parse(text: str, fmt: str = "auto", *, source: str | Path = "contacts") -> tuple[str, list[ContactRecord]]:
    """(format, records). Damage a reader can see past is repaired; anything else is one ContactsError."""
    text = repair_newlines(text)
    fmt = detect_format(text, source) if fmt == "auto" else fmt
    parser = {"linkedin": parse_linkedin, "google": parse_google, "vcard": parse_vcard}[fmt]
    try:
        return fmt, parser(text)
    except ContactsError:
        raise
    except AggregatorError as exc:
        raise ContactsError(source, str(exc)) from None
    except (csv.Error, ValueError) as exc:
        raise ContactsError(source, f"not a readable {fmt} export: {exc}") from None


def repair_newlines(text: str) -> str:
    """Line ends made LF; a stray CR inside a line becomes a space (a CR-only file keeps its lines);
    NUL bytes go. A CSV reader refuses both, and a person reading the file would not see them."""
    text = text.replace("\x00", "").replace("\r\n", "\n")
    if "\r" in text:
        text = text.replace("\r", " " if "\n" in text else "\n")
    return text


# -- LinkedIn -----------------------------------------------------------------
def parse_linkedin(text: str) -> list[ContactRecord]:
    """Connections.csv: a Notes preamble comes before the header; most emails are empty."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().lower().startswith("first name,last name")), None)
    if start is None:
        raise AggregatorError("no 'First Name,Last Name,URL,...' header found: is this LinkedIn's Connections.csv?")
    records = []
    for row in csv.DictReader(io.StringIO("\n".join(lines[start:]))):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        name = " ".join(p for p in (row.get("first name"), row.get("last name")) if p)
        url = row.get("url", "")
        if not name and not url:
            continue
        records.append(ContactRecord(
            name=name, emails=_clean_emails([row.get("email address", "")]), urls=(url,) if url else (),
            company=row.get("company") or None, connected_on=_date(row.get("connected on", "")),
        ))
    return records


def _date(text: str) -> str | None:
    for fmt in ("%d %b %Y", "%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


# -- Google ---------------------------------------------------------------------
def parse_google(text: str) -> list[ContactRecord]:
    """Google Contacts CSV, current ('First Name', 'E-mail 1 - Value') and legacy ('Name', 'Given Name')."""
    records = []
    for row in csv.DictReader(io.StringIO(text)):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        name = row.get("name") or " ".join(
            p for p in (row.get("first name") or row.get("given name"), row.get("middle name") or
                        row.get("additional name"), row.get("last name") or row.get("family name")) if p)
        emails, urls = [], []
        for key, value in row.items():
            values = [v.strip() for v in value.split(":::")] if value else []
            if re.fullmatch(r"e-mail \d+ - value", key):
                emails += values
            elif re.fullmatch(r"website \d+ - value", key):
                urls += values
        nickname = row.get("nickname")
        company = row.get("organization name") or row.get("organization 1 - name") or None
        labels = row.get("labels") or row.get("group membership") or ""
        tags = tuple(t.strip(" *") for t in labels.split(":::") if t.strip(" *") and "mycontacts" not in t.lower())
        if not name and not emails:
            continue
        records.append(ContactRecord(
            name=name or emails[0], emails=_clean_emails(emails), urls=tuple(u for u in urls if u),
            aliases=(f"{nickname} {normalize_name(name).split()[-1]}",) if nickname and len(normalize_name(name).split()) > 1 else (),
            company=company, tags=tags,
        ))
    return records


# -- vCard ----------------------------------------------------------------------
def parse_vcard(text: str) -> list[ContactRecord]:
    """vCard 2.1/3.0/4.0: FN, N, NICKNAME, EMAIL, URL, X-SOCIALPROFILE, IMPP, ORG, CATEGORIES."""
    records = []
    for card in re.split(r"(?im)^BEGIN:VCARD\s*$", text)[1:]:
        props = _vcard_properties(card.split("END:VCARD")[0] if "END:VCARD" in card.upper() else card)

        def get(name: str, props=props) -> list[str]:
            return [v for n, v in props if n == name]

        formatted = " ".join(next((v for v in get("FN") if v.strip()), "").split())
        structured = " ".join(_name_from_n(next(iter(get("N")), "")).split())
        name = structured or formatted  # N is unambiguous; FN may be "Mr. John Richter, James Doe Sr."
        emails = _clean_emails(get("EMAIL"))
        urls = tuple(v for v in get("URL") + get("X-SOCIALPROFILE") + [i for i in get("IMPP") if "://" in i] if v)
        if not name and not emails:
            continue
        nicknames = [n.strip() for v in get("NICKNAME") for n in v.split(",") if n.strip()]
        last = normalize_name(name).split()[-1] if len(normalize_name(name).split()) > 1 else ""
        org = next(iter(get("ORG")), "").split(";")[0].strip() or None
        tags = tuple(t.strip() for v in get("CATEGORIES") for t in v.split(",") if t.strip())
        records.append(ContactRecord(
            name=name or emails[0], emails=emails, urls=urls,
            aliases=tuple(a for a in [*(f"{n} {last}" for n in nicknames if last), formatted] if a and a != name),
            company=org, tags=tags,
        ))
    return records


def _vcard_properties(card: str) -> list[tuple[str, str]]:
    lines: list[str] = []
    raw = card.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(raw):
        line = raw[i]
        i += 1
        if not line.strip():
            continue
        if line[0] in " \t" and lines:
            lines[-1] += line[1:]
            continue
        # quoted-printable soft line breaks: a line ending in '=' continues on the next
        while "QUOTED-PRINTABLE" in line.upper().split(":", 1)[0] and line.endswith("=") and i < len(raw):
            line = line[:-1] + raw[i].lstrip()
            i += 1
        lines.append(line)
    props = []
    for line in lines:
        head, sep, value = line.partition(":")
        if not sep:
            continue
        parts = head.split(";")
        name = parts[0].split(".")[-1].upper()  # item1.EMAIL -> EMAIL
        params = [p.upper() for p in parts[1:]]
        if any("QUOTED-PRINTABLE" in p for p in params):
            charset = next((p.split("=", 1)[1] for p in params if p.startswith("CHARSET=")), "utf-8")
            try:
                value = quopri.decodestring(value.encode("latin-1", errors="replace")).decode(charset, errors="replace")
            except (LookupError, ValueError):  # an unknown or damaged charset name: read it as UTF-8
                value = quopri.decodestring(value.encode("latin-1", errors="replace")).decode("utf-8", errors="replace")
        value = value.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",").replace("\\;", ";").replace("\\:", ":")
        props.append((name, value.strip()))
    return props


def _name_from_n(value: str) -> str:
    """Given and family names from N (family;given;additional;prefix;suffix)."""
    parts = (value.split(";") + [""] * 5)[:5]
    family, given = parts[0].strip(), parts[1].strip()
    return f"{given} {family}" if given and family else ""


def _clean_emails(values) -> tuple[str, ...]:
    out = []
    for value in values:
        email = normalize_email(value)
        if email and email not in out:
            out.append(email)
    return tuple(out)


def identity_keys(record: ContactRecord) -> tuple[list[str], list[str], str]:
    return ([normalize_url(u) for u in record.urls if normalize_url(u)],
            [normalize_email(e) for e in record.emails if normalize_email(e)],
            normalize_name(record.name))


# -- importing into the store --------------------------------------------------
def import_file(store, path: Path, fmt: str = "auto", *, now: datetime, only_if_changed: bool = False) -> ImportReport | None:
    """Import or update contacts from one export file. Returns None when skipped as unchanged."""
    path = Path(path)
    text = read_text(path)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    key = str(path.resolve())
    if only_if_changed and store.people.import_state(key) == digest:
        return None
    report = import_text(store, text, fmt, name=str(path))
    store.people.set_import_state(key, digest, now)
    return report


def import_path(store, path: str, fmt: str = "auto", *, now: datetime, stdin=None) -> ImportReport:
    """`contacts import PATH`: a file, or `-` for the binary stream `stdin`."""
    if path == STDIN:
        return import_text(store, read_stream(stdin), fmt, name="standard input")
    return import_file(store, Path(path), fmt, now=now)


def import_text(store, text: str, fmt: str = "auto", *, name: str) -> ImportReport:
    """Import or update contacts from an export's text (`name` says where it came from)."""
    fmt, records = parse(text, fmt, source=name)
    report = ImportReport(path=name, format=fmt)
    inserts, updates = plan(store.people.contacts(), records, source_file=Path(name).name, report=report)
    store.people.write(inserts, updates)
    return report


def plan(existing: list[Contact], records: list[ContactRecord], *, source_file: str,
         report: ImportReport) -> tuple[list[Contact], list[Contact]]:
    """Which records are new contacts and which update a known one (by URL, email, then exact name)."""
    by_url, by_email, by_name = {}, {}, {}
    known: dict[int, Contact] = {}
    next_id = max((c.id for c in existing), default=0) + 1

    def index(contact: Contact) -> None:
        known[contact.id] = contact
        for url in contact.urls:
            by_url.setdefault(normalize_url(url), contact.id)
        for email in contact.emails:
            by_email.setdefault(normalize_email(email), contact.id)
        by_name.setdefault(contact.normalized_name or "", []).append(contact.id)

    for contact in existing:
        index(contact)
    inserted: set[int] = set()
    changed: set[int] = set()
    for record in records:
        urls, emails, name = identity_keys(record)
        found = next((by_url[u] for u in urls if u in by_url), None)
        found = found or next((by_email[e] for e in emails if e in by_email), None)
        if found is None and name:
            same_name = [i for i in by_name.get(name, []) if not _conflicting(known[i], urls)]
            found = same_name[0] if len(same_name) == 1 else None
        if found is None:
            contact = Contact(id=next_id, name=record.name, normalized_name=name, emails=tuple(record.emails),
                              urls=tuple(record.urls), aliases=tuple(record.aliases), company=record.company,
                              tags=tuple(record.tags), weight=1.0, last_contacted=record.connected_on,
                              source_file=source_file, connected_on=record.connected_on)
            next_id += 1
            inserted.add(contact.id)
            index(contact)
            continue
        old = known[found]
        merged = replace(
            old,
            emails=_union(old.emails, record.emails), urls=_union(old.urls, record.urls),
            aliases=_union(old.aliases, record.aliases), tags=_union(old.tags, record.tags),
            company=record.company or old.company, connected_on=old.connected_on or record.connected_on,
            last_contacted=old.last_contacted or record.connected_on)
        if merged != old:
            index(merged)
            if found not in inserted:
                changed.add(found)
        elif found not in inserted:
            report.unchanged += 1
    report.added = len(inserted)
    report.updated = len(changed)
    return [known[i] for i in sorted(inserted)], [known[i] for i in sorted(changed)]


def _conflicting(contact: Contact, urls: list[str]) -> bool:
    """Two profile URLs that differ mean two people, whatever their names."""
    known = {normalize_url(u) for u in contact.urls}
    return bool(known and urls and not known.intersection(urls))


def _union(old: tuple[str, ...], new) -> tuple[str, ...]:
    out = list(old)
    for value in new:
        if value and value not in out:
            out.append(value)
    return tuple(out)


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
    offset = now.astimezone(zone).utcoffset()
    snapshot.ensure_cache(store.database, now, int(offset.total_seconds() // 60) if offset else 0, half_life_days)

