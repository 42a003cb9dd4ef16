"""Why a contact may be at an event: the one vocabulary every layer reads. Pure; imports nothing.

Three tables, each a row per value:

- KINDS: a contact's evidence as the ranking and every surface show it (CONTRACT.md's
  `upcoming --json` contacts[].evidence; the row's name is that JSON value): the P it
  gives, whether it is weak, the words beside a name, in ten cells and in a reason;
- STATUSES and ROLES: an attendee as a source yields it (model.Person), which the
  plugin kit checks and normalise keeps: what P an RSVP with the status gives, whether
  it counts as a visit in the contact's history, and which stored evidence a role gives;
- STORED: the attendance table's `evidence` column (the store's rows) and the kind each gives.

Adding a value is adding a row. A value not in a table raises UnknownValue wherever it is
looked up (tests/test_evidence_table.py runs every layer over every row, and fails on an
evidence string written anywhere else in the code).
"""

from __future__ import annotations

from dataclasses import dataclass

RSVP, SPEAKER, HOST, MENTIONED, LOGGED, PREDICTED = "rsvp", "speaker", "host", "mentioned", "logged", "predicted"
FEED, MANUAL = "feed", "manual"  # stored: a source's attendee list; the user's own word (log, calendars)
GOING, MAYBE, DECLINED, INVITED, ATTENDED = "going", "maybe", "declined", "invited", "attended"  # statuses


class UnknownValue(ValueError):
    """A value none of the tables below holds: a row is missing, or a layer was handed a stray value."""


@dataclass(frozen=True)
class Kind:
    """One kind of evidence a contact's chance carries.

    probability: the P it gives; None when it comes from the RSVP's status (`by_status`)
    or from the contact's history (`by_history`).
    weak: counts only for a contact nothing stronger places at the event.
    words: beside a name on the page, the agenda, the digest, plan and the feed ("Dana Lee
    (speaking)"); short: the same in ten cells; sentence: after the name in a reason, with
    {where} the chance's detail (None: from the status or the history, in present.py).
    """

    name: str
    probability: float | None
    weak: bool = False
    by_status: bool = False
    by_history: bool = False
    words: str | None = None
    short: str | None = None
    sentence: str | None = None

    @property
    def explicit(self) -> bool:
        """The event or the user places the contact there (everything but a prediction)."""
        return not self.by_history


# A contact's full name in the event's title or description (mentions.py): most often the speaker
# or the organiser, sometimes a talk about their work or a thank-you; 0.6 sits between a "maybe"
# RSVP (0.5) and the user's own log (0.9).
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(RSVP, None, by_status=True),
    Kind(SPEAKER, 0.95, words="speaking", short="speaking", sentence="is speaking"),
    Kind(HOST, 0.9, words="hosting", short="hosting", sentence="is hosting"),
    Kind(LOGGED, 0.9, words="going, by your log", short="going", sentence="is going (your log)"),
    Kind(MENTIONED, 0.6, weak=True, words="named in the listing", short="named", sentence="is named in the {where}"),
    Kind(PREDICTED, None, by_history=True),
)}


@dataclass(frozen=True)
class Status:
    """An attendee's answer. rsvp: the P it gives as an RSVP (None: no evidence, e.g. only
    invited); came: it counts as a visit in the contact's history at the group; words / short:
    an RSVP's chance in words (short None: "50% chance")."""

    name: str
    rsvp: float | None
    came: bool = False
    words: str | None = None
    short: str | None = None


STATUSES: dict[str, Status] = {s.name: s for s in (
    Status(GOING, 1.0, came=True, words="RSVPed", short="RSVPed"),
    Status(MAYBE, 0.5, words="RSVPed maybe"),
    Status(DECLINED, 0.0, words="declined", short="declined"),
    Status(INVITED, None),
    Status(ATTENDED, 1.0, came=True, words="RSVPed", short="RSVPed"),
)}
DEFAULT_STATUS = GOING  # model.Person's default; what normalise reads an unknown status as

# A role an event names a person in -> the stored evidence of their row (None: a plain attendee).
ROLES: dict[str | None, str] = {None: FEED, SPEAKER: SPEAKER, HOST: HOST}

# The attendance table's `evidence` column -> the kind of the chance it gives.
STORED: dict[str, str] = {FEED: RSVP, SPEAKER: SPEAKER, HOST: HOST, MANUAL: LOGGED}


def _look_up(table: dict, value, what: str):
    try:
        return table[value]
    except (KeyError, TypeError):
        raise UnknownValue(f"{what} {value!r} is not one of {', '.join(map(repr, table))} "
                           f"(aggregator/evidence.py)") from None


def kind(name: str) -> Kind:
    return _look_up(KINDS, name, "evidence")


def status(name: str) -> Status:
    return _look_up(STATUSES, name, "attendee status")


def role_evidence(role: str | None) -> str:
    """The stored evidence of an attendee with `role`."""
    return _look_up(ROLES, role, "attendee role")


def stored_kind(evidence: str) -> Kind:
    """The kind of chance a stored attendance row gives."""
    return kind(_look_up(STORED, evidence, "stored evidence"))


def rsvp_status(probability: float) -> Status:
    """The answer an RSVP's chance stands for: a yes at P 1, a no at 0, a maybe between."""
    answers = [s for s in STATUSES.values() if s.words]
    if probability >= 1:
        return next(s for s in answers if s.rsvp == 1.0)
    if probability > 0:
        return next(s for s in answers if s.rsvp is not None and 0 < s.rsvp < 1)
    return next(s for s in answers if s.rsvp == 0.0)


def sql_list(values) -> str:
    """('a', 'b'): values of these tables in an SQL `in` clause (never user text)."""
    for value in values:
        if "'" in value:
            raise UnknownValue(f"{value!r} cannot be written in SQL")
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


CAME = tuple(s.name for s in STATUSES.values() if s.came)  # statuses that count as a visit
RSVP_PROBABILITY = {s.name: s.rsvp for s in STATUSES.values() if s.rsvp is not None}
EXPLICIT = frozenset(k.name for k in KINDS.values() if k.explicit)
WEAK = frozenset(k.name for k in KINDS.values() if k.weak)
EVIDENCE_PROBABILITY = {k.name: k.probability for k in KINDS.values() if k.probability is not None}
PERSON_STATUSES = tuple(STATUSES)
PERSON_ROLES = tuple(ROLES)
