"""Contacts that may be one person (`contacts duplicates`), and joining or forgetting contacts
(`contacts merge`, `contacts remove`).

An import already joins entries that share a profile URL or an email address
(contacts.py); what is left for the user to decide is a name variant: a nickname
(Mike/Michael, from nicknames.py), a middle name or initial, "Last, First", an
accent. Such a pair is offered only when something else ties the two: the same
company, or addresses at the same (non-webmail) domain. The very same name is
offered too when no company tells the two apart; two profiles on one site (two
LinkedIn connections) are two people and never offered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from aggregator.config import UnknownName
from aggregator.contacts import merge_contacts, removal_keys
from aggregator.identity import company_key, name_variant, normalize_email, normalize_name, normalize_url
from aggregator.model import Contact

# Addresses anyone can have: sharing the domain says nothing about who they are.
WEBMAIL_DOMAINS = {
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com", "hotmail.co.uk",
    "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "pm.me", "gmx.de", "gmx.net", "gmx.com", "web.de", "fastmail.com", "fastmail.fm", "hey.com",
    "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com", "comcast.net", "verizon.net",
    "att.net", "sbcglobal.net", "zoho.com", "mail.com", "tutanota.com", "orange.fr", "free.fr", "t-online.de",
}


# How two names may be one person's (identity.name_variant), the most certain first.
VARIANTS = ("same name", "middle name or initial", "initial", "nickname", "spelling")


@dataclass
class Duplicate:
    """Contacts that may be one person, and why."""

    ids: list[int]
    names: list[str]
    why: str

    def as_json(self) -> dict:
        return {"ids": self.ids, "names": self.names, "why": self.why}


def mail_domains(contact: Contact) -> set[str]:
    """The domains of the contact's addresses that are an organisation's, not a webmail's."""
    domains = {normalize_email(e).rpartition("@")[2] for e in contact.emails}
    return {d for d in domains if d and d not in WEBMAIL_DOMAINS}


def names_of(contact: Contact) -> list[str]:
    """Every normalized name the contact goes by, its own first."""
    return list(dict.fromkeys(n for n in map(normalize_name, (contact.name, *contact.aliases)) if n))


def find_duplicates(people: list[Contact]) -> list[Duplicate]:
    """Pairs of contacts that may be one person, most certain first (the same name before a
    nickname), then by id. Only contacts sharing a family name are compared, so 10,000 contacts
    cost a few thousand comparisons, not fifty million."""
    by_family: dict[str, set[int]] = defaultdict(set)
    by_id = {c.id: c for c in people}
    names = {c.id: names_of(c) for c in people}
    for contact in people:
        for name in names[contact.id]:
            by_family[name.split()[-1]].add(contact.id)
    found: dict[tuple[int, int], Duplicate] = {}
    for ids in by_family.values():
        for a, b in combinations(sorted(ids), 2):
            if (a, b) not in found and (how := _best_variant(names[a], names[b])):
                if offer := _offer(by_id[a], by_id[b], how):
                    found[(a, b)] = offer
    return sorted(found.values(), key=lambda d: (VARIANTS.index(d.why.split(":")[0]), d.ids))


def _offer(a: Contact, b: Contact, how: str) -> Duplicate | None:
    if _two_profiles(a, b):
        return None
    company_a, company_b = company_key(a.company), company_key(b.company)
    domains = sorted(mail_domains(a) & mail_domains(b))
    if company_a and company_a == company_b:
        tie = f"both at {a.company}"
    elif domains:
        tie = f"both have addresses at {domains[0]}"
    elif how == "same name" and not (company_a and company_b):
        tie = "no company tells them apart" if not (company_a or company_b) else "only one names a company"
    else:
        return None
    return Duplicate([a.id, b.id], [a.name, b.name], f"{how}: {a.name} / {b.name}, {tie}")


def _best_variant(names_a: list[str], names_b: list[str]) -> str | None:
    """The most certain way any name of one is a variant of any name of the other."""
    found = {name_variant(x, y) for x in names_a for y in names_b}
    return next((how for how in VARIANTS if how in found), None)


def _two_profiles(a: Contact, b: Contact) -> bool:
    """Each has a profile on one site, and they differ: two people (two LinkedIn connections)."""
    def sites(c: Contact) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for url in map(normalize_url, c.urls):
            if url:
                out[url.split("/", 1)[0]].add(url)
        return out

    sites_a, sites_b = sites(a), sites(b)
    return any(sites_a[s].isdisjoint(sites_b[s]) for s in set(sites_a) & set(sites_b))


def duplicates(store) -> list[Duplicate]:
    return find_duplicates(store.people.contacts())


def lookup(store, ident: str | int) -> Contact:
    """The contact with id `ident`; bad usage (exit 2) naming what became of it otherwise."""
    text = str(ident).strip()
    if not text.isdigit():
        raise UnknownName(f"contact ids are numbers: {text!r} is not one; `aggregator contacts list` shows them")
    contact_id = int(text)
    for contact in store.people.contacts():
        if contact.id == contact_id:
            return contact
    merged = store.people.merged_into(contact_id)
    if merged is not None:
        raise UnknownName(f"contact {contact_id} ({merged[1]}) was merged into contact {merged[0]}")
    raise UnknownName(f"no contact with id {contact_id}; `aggregator contacts list` shows the ids")


def merge(store, idents: list[str], *, now: datetime) -> Contact:
    """`contacts merge ID ID ...`: the first id stays, with every name, address, URL, catch-up and
    evening of the others (see contacts.combine for weight and cadence)."""
    people = [lookup(store, i) for i in idents]
    ids = list(dict.fromkeys(p.id for p in people))
    if len(ids) < 2:
        raise UnknownName("give at least two different contact ids to merge")
    return merge_contacts(store, ids, now=now)


def remove(store, ident: str, *, now: datetime) -> Contact:
    """`contacts remove ID`: forget the contact and their catch-ups; their attendance stays as an
    anonymous attendee's. Their addresses, URLs and names are remembered so that an import leaves
    them out (and says so) unless `contacts import --include-removed`."""
    contact = lookup(store, ident)
    keys = removal_keys(map(normalize_url, contact.urls), map(normalize_email, contact.emails))
    keys += [k for k, cid in store.people.name_keys().items() if cid == contact.id]
    with store.database.transaction():
        store.people.remove(contact, keys, now)
        store.attendance.forget_contact(contact.id)
    return contact
