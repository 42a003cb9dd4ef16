"""Contacts named in an event's text: "Talk by Priya Raman", "with José García".

A mention is a contact's full name (first and last at least, or an alias of two
words or more) written as a name: whole words, each capitalised as a name is,
not inside a URL or an email address. A wrong mention is worse than a missed
one, so:

- exactly one contact may fit: two contacts both called Priya Raman give none;
- a first name alone is never a mention;
- a name made only of everyday words ("Will May", "April June", "Mark Hall",
  "Rose Park", "Bill Gates") counts only where a name is expected: after a
  lower-case word ("talk by Will May") or a list mark ("Speakers: Will May,
  April June"), never at the start of a sentence or in Title Case text, never
  after "at"/"in"/"near" (a place), never before a number ("May 5");
- an eponym is no person: a name followed by Room, Hall, Day, Award, Building
  and the like ("Grace Hopper Room", "Ada Lovelace Day"), or preceded by "the"
  ("the Grace Hopper Celebration"), is not a mention.

Known limit: a contact's name inside a longer name ("Mary Ann Smith" for a
contact "Ann Smith") is still found.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from aggregator.identity import fold, normalize_name

# Letters, with combining accents kept inside the word (a decomposed "José" stays one word).
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f])*")
_LETTERS = re.compile(r"[^\W\d_]+")
# What may stand between two words of one name: spaces, one line break, a hyphen or an apostrophe.
_NAME_GAP = re.compile(r"[ \t\u00a0]+|[ \t\u00a0]*\r?\n[ \t\u00a0]*|[-\u2010\u2011'\u2019]")
_INITIAL_GAP = re.compile(r"\.?(?:[ \t\u00a0]+|[ \t\u00a0]*\r?\n[ \t\u00a0]*)")  # "Dana M. Lee"
# Text where a name is not a mention: URLs, then email addresses and @handles. Each runs only when
# its mark is in the text: scanning every word for a possible email costs more than the search.
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.I)
_EMAIL_OR_HANDLE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w+")
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "della", "bin", "ibn", "al",
             "el", "ten", "ter", "dos", "das", "y", "zu"}
# Nouns that turn a name before them into the name of a thing: the Grace Hopper Room, Ada Lovelace Day.
EPONYM_NOUNS = {
    "room", "rooms", "hall", "day", "days", "park", "building", "center", "centre", "street", "st", "avenue", "ave",
    "road", "rd", "award", "awards", "prize", "lecture", "lectures", "foundation", "institute", "university",
    "college", "school", "library", "theatre", "theater", "auditorium", "stage", "hotel", "memorial", "fellowship",
    "scholarship", "square", "plaza", "bridge", "station", "airport", "stadium", "arena", "lab", "labs",
    "laboratory", "celebration", "conference", "fund", "trust", "society", "museum", "gallery", "house", "tower",
    "suite", "wing", "campus", "boulevard", "blvd", "lane", "way", "drive", "court", "place", "medal", "chair",
    "program", "programme", "hackathon", "summit", "festival", "week", "month", "challenge", "cup", "series",
}
# Everyday English words that are also first or family names; a name made only of these needs context.
COMMON_WORDS = set("""
will may june april august mark hall rose park bill gates grace hope joy faith page long young king brown white
green black gray grey rich sharp strong wise bird fox wolf hunter baker cook miller mason carter cooper fisher
porter turner walker taylor bell hill wood woods stone rock lake field fields ford bush banks rivers summer
winter autumn spring dawn eve christian frank earnest ernest guy jack jay ray rob pat sue penny ruby pearl
amber crystal daisy holly ivy lily violet iris heather olive jasper basil sky river storm rain snow star
sterling price cash gold silver bond law judge dean chase pierce hunt reed read rush west east north south
love friend lord duke earl noble early late best little small short tall hardy moody bright swift day night
morning noon hart paris florence austin chester lincoln jordan charity honor honour patience prudence
constance victor major marshall bishop pope abbott chance drew gene grant hale lane miles neil nick norman
otto pace parish parker post rowe sage shell strange trent vale wade ward wells wilde worth york
""".split())
PLACE_WORDS = {"at", "in", "near", "to", "into", "inside", "outside", "around", "via", "on", "from", "across"}
_LIST_MARK = re.compile(r"(?:[,;(&/+]|\band)\s*$|\b(?:speakers?|hosts?|presenters?|panel(?:ists)?|moderators?|"
                        r"organi[sz]ers?|featuring|feat|with|by)\s*:?\s*$", re.I)
_SENTENCE_START = re.compile(r"(?:^|[.!?\u2026\n:\"\u201c|\u2022*#-])\s*$")
MAX_NAME_WORDS = 5


@dataclass(frozen=True)
class ContactName:
    """A contact as far as mentions go: its id, its name and other names it goes by."""

    id: int
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """One place where the text names a contact: text[start:end] == matched."""

    contact_id: int
    start: int
    end: int
    matched: str


@dataclass(frozen=True)
class _Known:
    ids: frozenset[int]
    everyday: bool  # every word of the name is also an everyday word


class MentionIndex:
    """The contacts' full names, folded, built once; `find` is then one pass over a text's words."""

    def __init__(self, contacts: Sequence[ContactName]):
        owners: dict[str, set[int]] = defaultdict(set)
        for contact in contacts:
            for name in (contact.name, *contact.aliases):
                key = normalize_name(name)
                words = key.split()
                # A full name: two words at least, two of them more than an initial.
                if len(words) >= 2 and sum(len(w) > 1 for w in words) >= 2 and len(words) <= MAX_NAME_WORDS:
                    owners[key].add(contact.id)
        self.names = {key: _Known(frozenset(ids), all(w in COMMON_WORDS for w in key.split()))
                      for key, ids in owners.items()}
        self.longest = max((len(k.split()) for k in self.names), default=0)
        self.first_words = {k.split()[0] for k in self.names}

    def find(self, text: str) -> list[Mention]:
        if not text or not self.names:
            return []
        # Most texts hold no contact's first word at all: one pass in C says so, before the word-by-word
        # search in Python (ten times faster on a listing's descriptions). Only ever skips a text with no match.
        if self.first_words.isdisjoint(_LETTERS.findall(fold(text))):
            return []
        prose = _without_addresses(text)
        mentions: list[Mention] = []
        resume = 0
        for word in _WORD.finditer(prose):
            if word.start() < resume or not _capitalised(word.group()):
                continue
            taken = self._name_at(prose, word)
            if taken is None:
                continue
            end, known = taken
            if len(known.ids) == 1 and _reads_as_a_person(prose, word.start(), end, known.everyday):
                mentions.append(Mention(next(iter(known.ids)), word.start(), end, text[word.start():end]))
            resume = end  # an ambiguous or refused name is not searched again for a shorter one inside it
        return mentions

    def _name_at(self, prose: str, first: re.Match) -> tuple[int, _Known] | None:
        """The longest known name starting at word `first`, written as a name: (its end, its owners)."""
        folded = [fold(first.group())]
        if folded[0] not in self.first_words:
            return None
        best = None
        position = first.end()
        while len(folded) <= self.longest:  # one word more than the longest name: a middle initial
            gap = _NAME_GAP.match(prose, position) or (
                _INITIAL_GAP.match(prose, position) if len(folded[-1]) == 1 else None)
            word = _WORD.match(prose, gap.end()) if gap else None
            if word is None:
                break
            text = word.group()
            if not _capitalised(text) and fold(text) not in PARTICLES:
                break
            folded.append(fold(text))
            known = self.names.get(" ".join(folded))
            if known is None and len(folded) > 2:  # a middle initial the contact's name leaves out
                known = self.names.get(" ".join(_without_middle_initials(folded)))
            if known is not None and _capitalised(text):  # a name ends on a capitalised word, not a particle
                best = (word.end(), known)
            position = word.end()
        return best


def _without_middle_initials(words: list[str]) -> list[str]:
    last = len(words) - 1
    return [w for k, w in enumerate(words) if len(w) > 1 or k in (0, last)]


def _blank(match: re.Match) -> str:
    return " " * len(match.group())


def _without_addresses(text: str) -> str:
    """The text with URLs, emails and @handles blanked out, every other offset unchanged."""
    if "://" in text or "www." in text.lower():
        text = _URL.sub(_blank, text)
    if "@" in text:
        text = _EMAIL_OR_HANDLE.sub(_blank, text)
    return text


def _capitalised(word: str) -> bool:
    """Written as a name is: an initial capital, and not an all-caps shout (PRIYA) beyond an initial."""
    return word[0].isupper() and (len(word) == 1 or not word.isupper())


def _reads_as_a_person(prose: str, start: int, end: int, everyday: bool) -> bool:
    before, after = prose[max(0, start - 60):start], prose[end:end + 40]
    if re.search(r"\bthe\s+$", before, re.I):
        return False  # the Grace Hopper Celebration
    if not re.match(r"['\u2019]s\b", after):
        following = re.match(r"[ \t\u00a0]+([^\W\d_]+)", after)
        if following and following.group(1).lower() in EPONYM_NOUNS:
            return False  # Grace Hopper Room, Ada Lovelace Day
    if not everyday:
        return True
    if re.match(r"\s*\d", after):
        return False  # "May 5"
    if _LIST_MARK.search(before):
        return True  # "Speakers: Will May, April June", "with Mark Hall"
    if _SENTENCE_START.search(before):
        return False  # a capital that only starts a sentence
    previous = re.search(r"([^\W\d_]+)[ \t\u00a0]+$", before)
    if previous:
        word = previous.group(1)
        return word[0].islower() and word.lower() not in PLACE_WORDS  # "by Will May", not "at Rose Park"
    return False


def mentioned(text: str, contacts: Sequence[ContactName]) -> list[Mention]:
    """Every place `text` names exactly one of `contacts` by full name, in text order (for many
    texts, build one `MentionIndex` and call its `find`, as the ranking does)."""
    return MentionIndex(contacts).find(text)
