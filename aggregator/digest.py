"""`aggregator digest`: the coming days in a few lines, for mail or chat.

Three parts, each read from what the rest of the tool already knows:

- the best events (the ranking's listing, best first) with the contacts likely
  there and their evidence in words;
- overdue contacts you could meet, and where (the reconnect list: a contact with
  an event in the window at P >= 0.2);
- what changed in the last CHANGES_DAYS among the window's events, from the
  store's bookkeeping: new (first_seen), cancelled (status, or removed_at when
  the event vanished from its source), changed (sequence bumped, updated_at in
  the week). The store records that an event changed, not what, so a changed
  event is shown with its time and place as they are now.

`build` gathers a Week of values; `render` writes it as plain text, Markdown (the
outside texts escaped) or an email-safe HTML document (inline styles only, every
text escaped, links only to http(s)), all from one list of sections.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.agenda import clock, no_sources, one_line, person_in_words, short_id
from aggregator.present import evidence_words, local_time, where_words
from aggregator.ranking import Ranked
from aggregator.text import clean_url

DAYS = 7
BEST = 5  # events in the "best" part
MEET = 6  # overdue contacts named with a place to meet them
CHANGES_SHOWN = 5  # events named in each kind of change; the rest are counted
CHANGES_DAYS = 7  # "since last week"
SAID = 0.2  # contacts named beside an event (as the agenda does)


@dataclass
class Meeting:
    name: str
    overdue: str  # "35 months since you caught up"
    event: Ranked | None
    title: str
    start: str
    chance: str  # "RSVPed", "often comes, 48%"
    at: str = "likely at"  # present.where_words


@dataclass
class Week:
    now: datetime
    days: int
    best: list[Ranked]
    total: int  # events in the window
    meet: list[Meeting]
    meet_more: int  # more overdue contacts you could meet than MEET
    overdue_elsewhere: int  # overdue contacts likely at no event of the window
    new: list[Ranked] = field(default_factory=list)
    cancelled: list[Ranked] = field(default_factory=list)
    changed: list[Ranked] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # new, cancelled, changed: every one, not only those named
    configured: str | None = None  # the config file, when it names no sources
    fetched: bool = True
    failing: list[str] = field(default_factory=list)  # sources whose last fetch failed


def build(store, settings, *, now: datetime, days: int = DAYS) -> Week:
    from aggregator import journal, ranking

    items = ranking.upcoming(store, settings, now=now, days=days, limit=0)
    by_id = {i.id: i for i in items}
    meet, elsewhere = [], 0
    for entry in journal.reconnect(store, settings, now=now, days=days):
        if not entry.events:
            elsewhere += 1
            continue
        first = entry.events[0]
        meet.append(Meeting(entry.contact.name, journal.describe_overdue(entry), by_id.get(first["id"]),
                            first["title"], first["start"], evidence_words(first["probability"], first["evidence"]),
                            where_words(first["probability"])))
    week = Week(now=now, days=days, best=items[:BEST], total=len(items), meet=meet[:MEET],
                meet_more=max(0, len(meet) - MEET), overdue_elsewhere=elsewhere,
                configured=None if settings.sources else str(settings.path), fetched=store.events.count() > 0,
                failing=sorted(name for name, h in store.runs.health().items()
                               if h.last_error and any(s.name == name for s in settings.sources)))
    _changes(week, store, settings, by_id)
    return week


def _changes(week: Week, store, settings, by_id: dict[str, Ranked]) -> None:
    """New, cancelled and changed events of the window, from the store's bookkeeping."""
    from aggregator import ranking

    since = week.now - timedelta(days=CHANGES_DAYS)
    stored = store.events.between(start=week.now, end=week.now + timedelta(days=week.days), changed_since=since)
    gone = [s for s in stored if s.event.status == "cancelled" or s.removed_at is not None]
    gone_ids = {s.id for s in gone}
    new = [by_id[s.id] for s in stored if s.id in by_id and s.id not in gone_ids and s.first_seen >= since]
    changed = [by_id[s.id] for s in stored if s.id in by_id and s.id not in gone_ids and s.first_seen < since
               and s.sequence > 0 and s.updated_at >= since]
    cancelled = ranking.rank_events(store, settings, gone, now=week.now, explain=False) if gone else []
    cancelled.sort(key=lambda r: (r.start_utc(), r.id))
    week.counts = {"new": len(new), "cancelled": len(cancelled), "changed": len(changed)}
    week.new, week.cancelled, week.changed = (new[:CHANGES_SHOWN], cancelled[:CHANGES_SHOWN],
                                              changed[:CHANGES_SHOWN])


# -- one list of sections, written three ways ------------------------------------
@dataclass
class Line:
    """One entry: a bold lead (a time, a name), text before the title, the title (linked when it has a
    page), text after it, the event's short id; then a second line (who is likely there)."""

    lead: str = ""
    before: str = ""
    title: str = ""
    url: str | None = None
    after: str = ""
    ident: str = ""
    detail: str = ""


def when(item: Ranked, tz: ZoneInfo) -> str:
    start = local_time(item.event.start, item.event.timezone, tz)
    if not isinstance(start, datetime):
        return f"{start:%a} {start.day} {start:%b} (all day)"
    return f"{start:%a} {start.day} {start:%b} {clock(start, tz)}"


def event_line(item: Ranked, tz: ZoneInfo, *, people: bool = True, lead: str = "") -> Line:
    event = item.event
    rest = [one_line(event.group)] if event.group and event.group.lower() not in event.title.lower() else []
    place = "online" if event.online and not event.venue.label() else event.venue.label()
    rest += [one_line(place)] if place else []
    likely = [c for c in item.chances if c.probability >= SAID] if people else []
    return Line(lead=lead + when(item, tz), title=one_line(event.title), url=clean_url(event.url),
                after="".join(f" · {r}" for r in rest), ident=short_id(item.id),
                detail=", ".join(person_in_words(c) for c in likely))


def meeting_line(meeting: Meeting, tz: ZoneInfo) -> Line:
    before = f"{meeting.overdue}; {meeting.at}"
    if meeting.event is None:  # a conference talk rolled into its day: the reconnect entry says enough
        start = datetime.fromisoformat(meeting.start)
        moment = f"{start:%a} {start.day} {start:%b}" + (f" {clock(start, tz)}" if len(meeting.start) > 10 else "")
        return Line(lead=one_line(meeting.name), before=before, title=one_line(meeting.title),
                    after=f", {moment} ({meeting.chance})")
    event = meeting.event.event
    place = f" at {one_line(event.venue.label())}" if event.venue.label() else " (online)" if event.online else ""
    return Line(lead=one_line(meeting.name), before=before, title=one_line(event.title), url=clean_url(event.url),
                after=f", {when(meeting.event, tz)}{place} ({meeting.chance})", ident=short_id(meeting.event.id))


def sections(week: Week, tz: ZoneInfo) -> tuple[str, list[tuple[str, list[Line]]], list[str]]:
    """(heading, [(section title, lines)], closing notes)."""
    first = week.now.astimezone(tz)
    last = first + timedelta(days=week.days - 1)
    span = f"{first:%a} {first.day} {first:%b} to {last:%a} {last.day} {last:%b %Y}"
    heading = (f"Your week: {span}" if week.days == 7 else f"Your next {week.days} days: {span}" if week.days > 1
               else f"Your day: {first:%a} {first.day} {first:%b %Y}")  # not "next 1 days: Mon 7 Dec to Mon 7 Dec"
    notes = [f"Sources that failed at the last fetch: {', '.join(map(one_line, week.failing))} "
             "(see `aggregator sources`)."] if week.failing else []
    if week.configured is not None:
        return heading, [], [no_sources(week.configured)]
    if not week.fetched:
        return heading, [], ["Nothing fetched yet: run `aggregator fetch` (or try `aggregator demo`, offline)."]
    parts: list[tuple[str, list[Line]]] = []
    if week.best:
        more = f" (of {week.total})" if week.total > len(week.best) else ""
        parts.append((f"Best events{more}", [event_line(i, tz) for i in week.best]))
    else:
        notes.append(f"Nothing on in the next {f'{week.days} days' if week.days != 1 else 'day'}. Look further with "
                     f"`aggregator digest --days {max(30, week.days * 2)}`, or add sources to your config.")
    if week.meet:
        meet = [meeting_line(m, tz) for m in week.meet]
        more = [f"{week.meet_more} more you could meet"] if week.meet_more else []
        more += [f"{week.overdue_elsewhere} more overdue, likely at no event these days"] \
            if week.overdue_elsewhere else []
        if more:
            meet.append(Line(before=f"and {'; '.join(more)}: `aggregator reconnect` lists them all"))
        parts.append(("Catch up with", meet))
    changes, above = [], {i.id for i in week.best}
    for kind, items in (("new", week.new), ("cancelled", week.cancelled), ("changed", week.changed)):
        for item in items:
            line = event_line(item, tz, people=False, lead=f"{kind}: ")
            if item.id in above:  # said above: the title is enough
                line.after, line.ident = " (above)", ""
            changes.append(line)
        hidden = week.counts.get(kind, 0) - len(items)
        if hidden > 0:
            changes.append(Line(before=f"and {hidden} more {kind}"))
    if changes:
        parts.append(("Since last week", changes))
    if week.best:
        notes.append(f"Everything: `aggregator upcoming --days {week.days}`; the evenings that see most of "
                     "your overdue contacts: `aggregator plan`.")
    return heading, parts, notes


def render(week: Week, fmt: str, tz: ZoneInfo) -> str:
    heading, parts, notes = sections(week, tz)
    return {"text": _text, "markdown": _markdown, "html": _html}[fmt](heading, parts, notes)


def _text(heading: str, parts, notes: list[str]) -> str:
    out = [heading]
    for title, lines in parts:
        out += ["", title]
        for line in lines:
            middle = " ".join(p for p in (line.before, line.title) if p) + line.after
            ident = f"  [{line.ident}]" if line.ident else ""
            out.append("- " + "  ".join(p for p in (line.lead, middle) if p) + ident)
            if line.detail:
                out.append(f"  {line.detail}")
    if notes:
        out += ["", *notes]
    return "\n".join(out) + "\n"


# What Markdown (CommonMark, GFM, chat apps) would read as markup where it stands, and nothing else: a
# backslash before any other character is shown as typed by Slack and most chat apps ("R\\&D").
_MARKDOWN_INLINE = re.compile(
    r"`|\[|\]"  # code spans (ours close with a backtick too), links and images: always
    r"|\\(?=[!-/:-@\[-`{-~]|$)"  # a backslash that would escape what follows (or our own `](`)
    r"|<(?=\S)"  # HTML, autolinks, Slack's <url|label> and <!channel>; "1 < 2" stays
    r"|&(?=#?[A-Za-z0-9]+;)"  # an entity (&amp; &#38;) would be decoded; "R&D" stays
    r"|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"  # emphasis; snake_case stays
    r"|(?<!\s)[*~]|[*~](?!\s)"  # emphasis, strikethrough; "5 * 3" and "a ~ b" stay (never a delimiter)
)
# a quote, a heading, a list item (- + 1. 1)), a rule or a setext underline (--- ===)
_MARKDOWN_LINE_START = re.compile(r"^(\s*\d*)([>#]|[-+](?=\s|$)|(?<=\d)[.)](?=\s|$)|[-=](?=[-=\s]*$))",
                                  re.MULTILINE)
_MARKDOWN_TABLE_ROW = re.compile(r"[\s|:]*-[\s|:-]*")  # a line that could be a table's delimiter row


def markdown_escape(text: str) -> str:
    """Outside text shown as typed in Markdown: only what would be read as markup where it stands is
    escaped (code, links, HTML, entities, emphasis, a line start that makes a quote, heading or list),
    so "R&D", "snake_case" and "C# | Rust" read as typed in chat apps that show a backslash literally."""
    escaped = _MARKDOWN_INLINE.sub(lambda m: "\\" + m.group(), text)
    if _MARKDOWN_TABLE_ROW.fullmatch(text):
        escaped = re.sub(r"[|-]", r"\\\g<0>", escaped)
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def _markdown(heading: str, parts, notes: list[str]) -> str:
    out = [f"**{markdown_escape(heading)}**"]
    for title, lines in parts:
        out += ["", f"### {markdown_escape(title)}", ""]
        for line in lines:
            name = markdown_escape(line.title)
            if line.title and line.url:
                name = f"[{name}](<{line.url.replace('<', '%3C').replace('>', '%3E')}>)"
            lead = f"**{markdown_escape(line.lead)}**" if line.lead else ""
            middle = " ".join(p for p in (_code_spans(line.before), name) if p) + markdown_escape(line.after)
            ident = f" `{line.ident}`" if line.ident else ""
            out.append("- " + " ".join(p for p in (lead, middle) if p) + ident)
            if line.detail:
                out.append(f"  {markdown_escape(line.detail)}")
    if notes:
        out += [""] + [_code_spans(n) for n in notes]
    return "\n".join(out) + "\n"


def _code_spans(note: str) -> str:
    """Our own notes: text escaped, `commands` kept as code."""
    return "".join(piece if i % 2 else markdown_escape(piece)
                   for i, piece in enumerate(re.split(r"(`[^`]*`)", note)))


# Email clients drop <style> blocks and scripts: every style is inline, nothing is loaded.
_STYLE = {
    "body": "margin:0;padding:16px;background:#ffffff;color:#1f2328;"
            "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45",
    "h1": "font-size:19px;margin:0 0 14px 0",
    "h2": "font-size:15px;margin:18px 0 6px 0;color:#57606a;text-transform:uppercase;letter-spacing:0.04em",
    "ul": "list-style:none;margin:0;padding:0",
    "li": "margin:0 0 10px 0",
    "a": "color:#0969da;text-decoration:none;font-weight:600",
    "title": "font-weight:600",
    "dim": "color:#57606a",
    "people": "color:#8250df;font-size:14px",
    "note": "color:#57606a;font-size:13px;margin:16px 0 0 0",
    "code": "font-family:Menlo,Consolas,monospace;font-size:13px;background:#f6f8fa",
}


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_code(text: str) -> str:
    """Our own text, escaped, with `commands` as code."""
    return "".join(f'<code style="{_STYLE["code"]}">{_e(piece[1:-1])}</code>' if i % 2 else _e(piece)
                   for i, piece in enumerate(re.split(r"(`[^`]*`)", text)))


def _html(heading: str, parts, notes: list[str]) -> str:
    body = [f'<h1 style="{_STYLE["h1"]}">{_e(heading)}</h1>']
    for title, lines in parts:
        body += [f'<h2 style="{_STYLE["h2"]}">{_e(title)}</h2>', f'<ul style="{_STYLE["ul"]}">']
        for line in lines:
            name = ""
            if line.title:
                name = (f'<a href="{_e(line.url)}" style="{_STYLE["a"]}">{_e(line.title)}</a>' if line.url
                        else f'<span style="{_STYLE["title"]}">{_e(line.title)}</span>')
            pieces = [f"<strong>{_e(line.lead)}</strong>" if line.lead else "", _html_code(line.before), name]
            row = " ".join(p for p in pieces if p) + _e(line.after)
            if line.ident:
                row += f' <span style="{_STYLE["dim"]}">{_e(line.ident)}</span>'
            if line.detail:
                row += f'<br><span style="{_STYLE["people"]}">{_e(line.detail)}</span>'
            body.append(f'<li style="{_STYLE["li"]}">{row}</li>')
        body.append("</ul>")
    body += [f'<p style="{_STYLE["note"]}">{_html_code(note)}</p>' for note in notes]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(heading)}</title></head>\n<body style=\"{_STYLE['body']}\">\n"
            + "\n".join(body) + "\n</body></html>\n")
