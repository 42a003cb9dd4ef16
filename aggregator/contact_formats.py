"""Contacts exports read: LinkedIn Connections.csv, Google Contacts CSV, vCard 2.1/3.0/4.0.

Pure: a file's bytes or text in, ContactRecords out (`parse` tells the format when not
given). Damage a reader can see past (stray CRs, NULs, a BOM, cp1252) is repaired; anything
else is one ContactsError naming the file. What the records do to your contacts is `contacts`'.
"""

from __future__ import annotations

import csv
import io
import quopri
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aggregator.errors import AggregatorError
from aggregator.identity import normalize_email, normalize_name

# Connections.csv's header: today's, and the one before 2019 (no URL; "Connected On" as "1/8/18, 6:14 PM")
LINKEDIN_HEADERS = ("first name,last name,url", "first name,last name,email address,company,position")
MAX_BYTES = 50_000_000  # exports of tens of thousands of contacts stay far below this


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
    if any(line.strip().lower().startswith(LINKEDIN_HEADERS) for line in head.splitlines()):
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
            return datetime.strptime(text.split(",")[0].strip(), fmt).date().isoformat()
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
