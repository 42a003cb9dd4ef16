"""What the daily commands show in a terminal: the agenda of upcoming events (by day,
in the manner of khal and gcalcli), overdue contacts, the sources' health and `why`
(a fetch run's report is `fetch_report`'s).

On a terminal each event takes two lines fitted to the width (60 to 200 columns):
time, title, group and place, then a dim line of topics and likely people. Text is
cut at a word with an ellipsis, never wrapped, never split mid-word. Piped (not a
terminal) each event is one plain line, for grep and scripts. Every text that came
from outside (titles, names, errors) goes through `safe_text`, so a server cannot
send escape sequences to the user's terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from aggregator.present import LISTED, days_words, evidence_words, short_evidence_words, where_words, zone_words
from aggregator.ranking import Ranked, local_time
from aggregator.text import safe_text

MAX_WIDTH = 200  # wider lines are harder to read, not more useful
ID_LENGTH = 10
STARS = 5
ELLIPSIS = "…"
INDENT = 10  # "  18:30   ": where the title and the detail line start


def short_id(event_id: str) -> str:
    """Ten characters: enough to be unique, and accepted by why/attended as a prefix."""
    return event_id[:ID_LENGTH]


def one_line(text: object) -> str:
    return safe_text(text, one_line=True)


def fit(text: str, width: int) -> str:
    """`text` in at most `width` cells: cut after a whole word with an ellipsis.
    A word longer than the whole room is cut with an ellipsis rather than dropped ("Python…" said nothing
    of "Python very-long-…-title")."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    cut, used = 0, 0
    for index, char in enumerate(text):
        used += cell_len(char)
        if used > width - 1:
            break
        cut = index + 1
    head = text[:cut]
    last_space = head.rstrip().rfind(" ")
    word_end = text.find(" ", cut) % (len(text) + 1)  # the end of the word the room ends in
    if cut < len(text) and not text[cut].isspace() and last_space > 0 and word_end - last_space <= width:
        head = head[:last_space]  # back to the end of the last whole word, unless this one could never fit
    return head.rstrip(" ,;·-") + ELLIPSIS


def fit_parts(parts: Iterable[tuple[str, str]], width: int) -> Text:
    """Styled pieces, one after another, cut (at a word) where the room ends."""
    out = Text()
    room = width
    for text, style in parts:
        if not text:
            continue
        if cell_len(text) <= room:
            out.append(text, style)
            room -= cell_len(text)
            continue
        shown = fit(text, room)
        if shown.strip(ELLIPSIS + " "):
            out.append(shown, style)
        elif out.plain:
            out.append(ELLIPSIS[:room])
        break
    return out


def stars(score: float, best: float) -> tuple[str, str]:
    """★★★☆☆ relative to the listing's best event, and the colour that goes with it."""
    filled = 0 if score <= 0 or best <= 0 else max(1, min(STARS, int(STARS * score / best + 0.5)))  # half up
    style = "bold green" if filled >= 4 else "yellow" if filled >= 2 else "dim"
    return "★" * filled + "☆" * (STARS - filled), style


# -- upcoming ------------------------------------------------------------------
def when(item: Ranked, tz: ZoneInfo) -> str:
    start = local_time(item.event.start, item.event.timezone, tz)
    if item.event.all_day:
        return start.strftime("%a %Y-%m-%d (all day)")
    return start.strftime("%a %Y-%m-%d ") + clock(start, tz)


def clock(start: datetime, tz: ZoneInfo) -> str:
    """"19:00", the event's own wall time, with its zone's abbreviation when that is not the
    user's ("19:00 CET" for a Berlin event in a Portland user's list)."""
    text = start.strftime("%H:%M")
    if start.utcoffset() != start.astimezone(tz).utcoffset():
        text += " " + (start.tzname() or start.strftime("%z"))
    return text


def title(item: Ranked) -> str:
    text = one_line(item.event.title)
    group = one_line(item.event.group or "")
    if group and group.lower() not in text.lower():
        text = f"{text} [{group}]"
    return ("CANCELLED: " + text) if item.event.status == "cancelled" else text


def plain_upcoming(items: list[Ranked], tz: ZoneInfo) -> list[str]:
    """One line per event, best first: what a pipe or a script gets."""
    lines = []
    for item in items:
        where = f" @ {one_line(item.event.venue.label())}" if item.event.venue.label() else ""
        why = f"  ({one_line('; '.join(item.reasons))})" if item.reasons else ""
        lines.append(f"{when(item, tz)}  {title(item)}{where}  score {item.score:g}{why}  [{short_id(item.id)}]")
    return lines


def day_heading(day: date, today: date) -> Text:
    relative = {0: "Today", 1: "Tomorrow"}.get((day - today).days)
    text = Text(f"{day:%a} {day.day} {day:%b %Y}", "bold underline")
    if relative:
        text.append(f"  {relative}", "bold cyan")
    return text


def event_lines(item: Ranked, tz: ZoneInfo, best: float, width: int, room: int, clock_width: int = 7) -> list[Text]:
    """Two lines: time, title, group, place, stars and id; then topics, people, distance."""
    at = at_words(item, tz)
    rating, rating_style = stars(item.score, best)
    middle = fit_parts(headline_parts(item), room)
    middle.pad_right(room - middle.cell_len)
    first = Text.assemble(f"  {at:<{clock_width}} ", middle, " ", (rating, rating_style), " ",
                          (short_id(item.id), "dim"))
    details = detail_parts(item)
    if not details:
        return [first]
    indent = INDENT + clock_width - 7
    return [first, Text.assemble(" " * indent, fit_parts(details, width - indent))]


def at_words(item: Ranked, tz: ZoneInfo) -> str:
    """The time column: "18:30", "19:00 CET" for an event in another zone, or "all day"."""
    return "all day" if item.event.all_day else clock(local_time(item.event.start, item.event.timezone, tz), tz)


def own_day(item: Ranked, tz: ZoneInfo) -> date:
    """The day an event is on where it happens: the day its own wall time (what the agenda shows) is on."""
    start = local_time(item.event.start, item.event.timezone, tz)
    return start.date() if isinstance(start, datetime) else start


def headline_parts(item: Ranked) -> list[tuple[str, str]]:
    event = item.event
    name = one_line(event.title)
    group = one_line(event.group or "")
    place = "online" if event.online and not event.venue.label() else one_line(event.venue.label() or "")
    return [("CANCELLED ", "bold red") if event.status == "cancelled" else ("", ""),
            (name, "bold"),
            (f" · {group}", "cyan") if group and group.lower() not in name.lower() else ("", ""),
            (f" · {place}", "dim") if place else ("", "")]


def detail_parts(item: Ranked) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    if item.topics:
        parts.append((", ".join(item.topics), "dim"))
    likely = [c for c in item.chances if c.probability >= 0.2]
    for i, chance in enumerate(likely):
        lead = (" · " if parts else "") if i == 0 else ", "
        parts.append((lead, "dim"))
        parts.append((person_in_words(chance), "yellow" if chance.overdue else "magenta"))
    if item.distance_km is not None:
        km = f"{item.distance_km:.0f} km" if item.distance_km >= 1 else "<1 km"
        parts.append((f"{' · ' if parts else ''}{km}", "dim"))
    elif item.event.online:
        parts.append((f"{' · ' if parts else ''}online", "dim"))
    return parts


def person_in_words(chance, *, say_overdue: bool = True) -> str:
    """"Dana Lee (RSVPed)", "José Núñez (often comes, 48%; overdue)": a ContactChance for a reader."""
    words = evidence_words(chance.probability, chance.evidence, getattr(chance, "detail", ""))
    return f"{one_line(chance.name)} ({words}{'; overdue' if say_overdue and chance.overdue else ''})"


def agenda(items: list[Ranked], tz: ZoneInfo, *, now: datetime, width: int, latest_first: bool = False) -> list[Text]:
    """The chosen events by day, soonest first (latest_first: the most recent day and hour first, as `past`
    lists them), each rated against the listing's best."""
    width = min(width, MAX_WIDTH)
    best = max((i.score for i in items), default=0.0)
    today = now.astimezone(tz).date()
    # the title column as wide as the longest headline needs, so stars and ids line up close by
    natural = max((sum(cell_len(text) for text, _ in headline_parts(i)) for i in items), default=0)
    clock_width = max([7, *(len(at_words(i, tz)) + 1 for i in items)])  # "09:00 JST" needs more than "18:30"
    room = max(8, min(natural, width - INDENT - (clock_width - 7) - 2 - STARS - ID_LENGTH))
    lines: list[Text] = []
    current: date | None = None
    # by the day each event is on where it happens (the day of the time shown), then by the clock: a Tokyo
    # morning (a Portland evening before) once opened a second "Wed 9 Dec" after "Thu 10 Dec"
    order = ((lambda i: (own_day(i, tz), i.start_utc(), i.score)) if latest_first
             else (lambda i: (own_day(i, tz), i.start_utc(), -i.score)))
    for item in sorted(items, key=order, reverse=latest_first):
        day = own_day(item, tz)
        if day != current:
            if lines:
                lines.append(Text())
            lines.append(day_heading(day, today))
            current = day
        lines.extend(event_lines(item, tz, best, width, room, clock_width))
    return lines


def nothing_upcoming(days: int, topic: str | None, *, fetched: bool, config: str | None = None) -> str:
    """What an empty agenda says, and the next step: add sources (`config` names the file when
    none are configured), fetch, or nothing (there just are none)."""
    if config is not None:
        return no_sources(config)
    hint = "" if fetched else " Run `aggregator fetch` first."
    return f"No upcoming events in the next {days_words(days)}{' about ' + one_line(topic) if topic else ''}.{hint}"


def print_upcoming(console: Console, items: list[Ranked], tz: ZoneInfo, *, now: datetime, window: str = "",
                   latest_first: bool = False) -> None:
    """The agenda on a terminal, closed by `window` (what it lists, whose clock); piped, a line an event
    in the items' own order."""
    if console.is_terminal:
        for line in agenda(items, tz, now=now, width=console.width, latest_first=latest_first):
            console.print(line, overflow="ignore", no_wrap=True, crop=False)
        if window:
            console.print(Text("\n" + window, "dim"), overflow="ignore", no_wrap=False, crop=False)
    else:
        for line in plain_upcoming(items, tz):
            console.print(line, markup=False)


# -- sources -------------------------------------------------------------------
def state(health: dict) -> tuple[str, str]:
    """The source's state in words, and its colour."""
    if health["last_error"]:
        failures = health["consecutive_failures"]
        return (f"FAILED x{failures}" if failures > 1 else "FAILED"), "bold red"
    if not health["last_ok_at"]:
        return "never fetched", "dim"
    if health["stale"]:
        return "stale: nothing new for 30 days", "yellow"
    return ("suspect", "yellow") if health["warning"] else ("ok", "green")


def local_stamp(value: str | None, tz: ZoneInfo | None) -> str:
    """A stored UTC time in the user's zone, its zone named ("2026-12-01 04:00 PST"); "never" for none.
    Without a zone it stays UTC and says so: a bare time read as local (issue 21)."""
    if not value:
        return "never"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return one_line(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    moment = moment.astimezone(tz or ZoneInfo("UTC"))
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or moment.strftime('%z')}"


def source_blocks(health: list[dict], width: int, tz: ZoneInfo | None = None) -> list[Text]:
    """A block per source: its full name (what --source takes), state and kind; the counts;
    the problem, wrapped at words on up to three lines."""
    width = min(width, MAX_WIDTH)
    lines: list[Text] = []
    for h in health:
        words, style = state(h)
        lines.append(Text.assemble((one_line(h["name"]), "bold"), "  ", (words, style), "  ", (h["kind"], "dim")))
        lines.append(Text("    " + fit(f"{h['events']} events, {h['upcoming']} upcoming · last ok "
                                       f"{local_stamp(h['last_ok_at'], tz)}", width - 4)))
        problem = h["last_error"] or h["warning"]
        if problem:
            for row in wrap(one_line(problem), width - 4, most=3):
                lines.append(Text("    " + row, "red" if h["last_error"] else "yellow"))
    return lines


def wrap(text: str, width: int, *, most: int) -> list[str]:
    """Lines of whole words; the last one cut with an ellipsis when more is left."""
    rows: list[str] = []
    rest = text
    while rest and len(rows) < most:
        if cell_len(rest) <= width or len(rows) == most - 1:
            rows.append(fit(rest, width))
            break
        head = fit(rest, width + 1)[:-1].rstrip()  # room for the whole width, no ellipsis
        rows.append(head)
        rest = rest[len(head):].lstrip()
    return rows


def print_sources(console: Console, health: list[dict], tz: ZoneInfo | None = None) -> None:
    if console.is_terminal:
        for line in source_blocks(health, console.width, tz):
            console.print(line, overflow="ignore", no_wrap=True, crop=False)
    else:
        for h in health:
            problem = h["last_error"] or h["warning"]
            console.print(f"{one_line(h['name'])}  {h['kind']}  {h['events']} events, {h['upcoming']} upcoming; "
                          f"last ok {local_stamp(h['last_ok_at'], tz)}; {state(h)[0]}"
                          + (f" ({one_line(problem)})" if problem else ""), markup=False)
    if not any(h["last_run_at"] for h in health):
        console.print(f"Not fetched yet: run `aggregator fetch` to fetch {'it' if len(health) == 1 else 'them'}.",
                      markup=False)


def window_words(count: int, days: int, tz: ZoneInfo, *, limit: int = 0, past: bool = False) -> str:
    """What an agenda lists, under it: "5 events in the next 30 days; times in Los Angeles time." The page
    says its own window (60 days), so the two counts no longer disagree unsaid."""
    cut = f" (the best {limit}: `--limit 0` lists all)" if limit and count >= limit else ""
    return (f"{plural(count, 'event')} in the {'last' if past else 'next'} {days_words(days)}{cut}; "
            f"times in {zone_words(tz)}.")


def no_sources(config: str) -> str:
    return f"No sources configured yet: add some to {config}, then run `aggregator fetch`."


# -- reconnect -----------------------------------------------------------------
def reconnect_lines(entries, describe, tz: ZoneInfo, width: int, terminal: bool) -> list[Text | str]:
    """A contact per line, then up to three events where they are likely, fitted on a terminal: the
    date, title and evidence (in words) each in a column of its own."""
    width = min(width, MAX_WIDTH)
    shown = [e for entry in entries for e in entry.events[:3]]
    natural = max((cell_len(one_line(e["title"])) for e in shown), default=0)
    narrow = width < 80  # the day without its time, the evidence in ten cells: room for the title
    day_only = (lambda text: text[:-6] if narrow and text[-3:-2] == ":" else text)
    dates = max((len(day_only(_event_start(e["start"], tz, short=True))) for e in shown), default=0)
    said = {id(e): evidence_words(e["probability"], e["evidence"]) for e in shown}
    words = max((len(w) for w in said.values()), default=0)
    lines: list[Text | str] = []
    for entry in entries:
        name = one_line(entry.contact.name)
        if terminal:
            lines.append(Text.assemble((name, "bold"), "  ", (describe(entry), "yellow")))
        else:
            lines.append(f"{name}: {describe(entry)}")
        for e in entry.events[:3]:
            start = _event_start(e["start"], tz, short=terminal)
            start = day_only(start) if terminal else start
            if terminal:
                chance = (f"{said[id(e)]:<{words}}" if not narrow  # the words when there is room
                          else f"{short_evidence_words(e['probability'], e['evidence']):<10}")
                right = Text.assemble("  ", (chance, "magenta"), "  ", (short_id(e["id"]), "dim"))  # 2-space gutters
                room = max(8, min(natural, width - 4 - dates - 2 - right.cell_len))
                middle = fit_parts([(one_line(e["title"]), "")], room)
                middle.pad_right(room - middle.cell_len)
                lines.append(Text.assemble("    ", (f"{start:<{dates}}", "cyan"), "  ", middle, right))
            else:
                lines.append(f"    {where_words(e['probability'])} {one_line(e['title'])} ({start}, {said[id(e)]})  "
                             f"[{short_id(e['id'])}]")
    return lines


def nobody_overdue(has_contacts: bool, after_days: int) -> str:
    """What an empty `reconnect` says, and the next step."""
    if not has_contacts:
        return ("No contacts yet: import them with `aggregator contacts import PATH` (a LinkedIn, Google "
                "Contacts or vCard export); they stay on this machine.")
    return (f"Nobody is overdue for a catch-up (after {after_days} days, profile.reconnect_after_days). "
            "Log one with `aggregator touched NAME`; `aggregator upcoming` shows where your people will be.")


def _event_start(value: str, tz: ZoneInfo, *, short: bool = False) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value[:16].replace("T", " ")
    if len(value) <= 10:
        return _day_words(moment, short) + (" all day" if short else "")
    moment = moment.astimezone(tz) if moment.tzinfo else moment
    return _day_words(moment, short) + moment.strftime(" %H:%M")


def _day_words(moment: date, short: bool) -> str:
    """"Wed 9 Dec" as the agenda and the digest write a day (not "Wed 09 Dec"), or "Wed 2026-12-09"."""
    return f"{moment:%a} {moment.day} {moment:%b}" if short else f"{moment:%a %Y-%m-%d}"


def contact_lines(rows: list[dict]) -> list[str]:
    """`contacts list`: the most often seen first."""
    lines = []
    for r in sorted(rows, key=lambda r: (-r["events_matched"], r["name"])):
        company = f" ({one_line(r['company'])})" if r["company"] else ""
        lines.append(f"{r['id']:>5}  {one_line(r['name'])}{company}  seen at {plural(r['events_matched'], 'event')}; "
                     f"last catch-up {r['last_contacted'] or 'never logged'}")
    return lines


def print_lines(console: Console, lines: list[Text | str]) -> None:
    for line in lines:
        if isinstance(line, Text):
            console.print(line, overflow="ignore", no_wrap=True, crop=False)
        else:
            console.print(line, markup=False)


# -- why -----------------------------------------------------------------------
def plural(count: int, noun: str) -> str:
    """"1 source", "4 sources"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


WHY_CONTACTS = 10  # the text view names the likeliest (P >= LISTED); --json lists every contact with evidence


def why_lines(detail: dict, *, has_home: bool) -> list[str]:
    """`aggregator why`: the score's three parts and what each is made of."""
    lines = [f"{one_line(detail['title'])}  [{detail['id']}]", f"score {detail['score']:g} = {detail.get('formula', '')}"]
    if detail.get("dropped"):
        return [*lines, detail["reasons"][0]]
    topic = detail["topic_part"]
    matched = " + ".join(f"{w:g} ({t})" for t, w in topic["topics"].items()) or "no profile topic"
    lines.append(f"  topic part     {topic['value']:g}  = base {topic['base']:g} + {matched}")
    social = detail["social_part"]
    lines.append(f"  social part    {social['value']:g}  = 1 + each contact's weight x probability")
    likely = [c for c in social["contacts"] if c["probability"] >= LISTED]  # as `upcoming` lists them
    listed = likely[:WHY_CONTACTS]
    for c in listed:
        recent = (f"; came to {c['recent']['attended']} of the group's last {c['recent']['of']}"
                  if c["recent"]["of"] else "")
        late = "; overdue for a catch-up" if c["overdue"] else ""
        lines.append(f"      {one_line(c['name'])}: {c['probability']:.0%} ({c['evidence']}), "
                     f"weight {c['weight']:g} -> +{c['contribution']:g}{recent}{late}")
    if len(social["contacts"]) > len(listed):
        rest = [c for c in social["contacts"] if c not in listed]
        below = len(social["contacts"]) - len(likely)
        which = (f"below {LISTED:.0%}" if below == len(rest) else
                 f"with some evidence ({below} below {LISTED:.0%})" if below else "with some evidence")
        lines.append(f"      and {plural(len(rest), 'more contact')} counted {which}, together "
                     f"+{sum(c['contribution'] for c in rest):.4g} (why --json lists them)")
    distance = detail["distance_factor"]
    where = (f"{distance['km_from_home']:g} km from home" if distance["km_from_home"] is not None
             else "online" if distance["online"]
             else "the event gives no coordinates" if has_home else "no profile.home set")
    lines.append(f"  distance       {distance['value']:g}  ({where})")
    lines.extend(f"  - {one_line(reason)}" for reason in detail["reasons"])
    return lines
