"""The phone page: the ranked upcoming events, grouped by day in the user's zone.

Compact cards so a phone shows several events a screen: the time, the title,
group · place, and one line naming the people most likely there with their
evidence in words; why it was picked, everyone likely there and the score are
folded into the card's <details>. Subscribing is one row that expands. Nothing
is loaded from elsewhere (no fonts, images, scripts from a CDN); the markup is
semantic (a section and a list per day, an article per event, <time>
elements) and works without JavaScript. Scraped text is escaped and URLs pass
`clean_url` before they become links. The only script makes the copy buttons
copy and, on a static site published without `feed.public_url`, shows the feed's
full address (without it the page links the feed relatively).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aggregator.config import Settings
from aggregator.evidence import kind
from aggregator.present import evidence_words, record_words, zone_words
from aggregator.ranking import ContactChance, Ranked
from aggregator.text import clean_url, safe_text

SAID = 0.2  # people named on a card's one line (present.SAID: the reasons name the same)
LISTED = 0.05  # people counted and listed in the details (present.LISTED: `upcoming --json` lists the same)
LINE_PEOPLE = 3
TOP_PICKS = 3


@dataclass
class Links:
    """Every address the page writes.

    `base` is the absolute address subscribers use, ending in "/": `feed.public_url`, else
    the scheme and host the page was requested at; None on a static site published without
    `feed.public_url` (its subscribe links are then relative). Links between pages and to
    one event's .ics are always relative, so the page works under any path a proxy or a
    static host puts it at. `files` is set on a static site: each topic's file name (its
    feed `topics/<name>.ics`, its page `topics/<name>.html`), and `up` leads from this page
    to the site's root ("../" on a topic page).
    """

    base: str | None
    token: str | None = None
    files: dict[str, str] | None = None
    up: str = ""
    event_files: dict[str, str] = field(default_factory=dict)  # a static site: event id -> its file name

    def _query(self, **params: str | None) -> str:
        wanted = {k: v for k, v in params.items() if v}
        if self.token:
            wanted["token"] = self.token
        return ("?" + urlencode(wanted, quote_via=quote)) if wanted else ""

    def _feed_path(self, topic: str | None) -> str:
        if self.files is None:
            return "feed.ics" + self._query(topic=topic)
        return f"topics/{self.files[topic]}.ics" if topic else "feed.ics"

    def feed(self, topic: str | None = None) -> str:
        """The feed's http(s) address: absolute under `base`, else relative to this page."""
        return (self.base or self.up) + self._feed_path(topic)

    def webcal(self, topic: str | None = None) -> str | None:
        """The same address as webcal:// (calendar apps open it as a subscription); None without a base."""
        return "webcal://" + self.feed(topic).partition("://")[2] if self.base else None

    def page(self, topic: str | None = None) -> str:
        if self.files is None:
            return "./" + self._query(topic=topic)
        return self.up + (f"topics/{self.files[topic]}.html" if topic else "index.html")

    def event(self, event_id: str) -> str:
        if self.files is None:
            return f"event/{quote(event_id, safe='')}.ics{self._query()}"
        return f"{self.up}events/{self.event_files.get(event_id, event_id)}.ics"

    @property
    def plain_http(self) -> bool:
        return bool(self.base) and self.base.startswith("http:")


@dataclass
class Status:
    """What the footer tells: when the last fetch ran and which sources are failing."""

    last_fetch: datetime | None = None
    failing: list[tuple[str, str]] = field(default_factory=list)  # (source name, its last error)


@dataclass(frozen=True)
class Window:
    """What the page lists: events from now to `days` ahead, at most `limit` of them (0: all)."""

    days: int
    limit: int = 0


WINDOW = Window(days=60, limit=100)  # the server's and a published site's: two months, the best 100


def render(items: list[Ranked], settings: Settings, links: Links, *, now: datetime, window: Window = WINDOW,
           topic: str | None = None, status: Status | None = None) -> str:
    zone = settings.timezone
    name = safe_text(settings.feed.name, one_line=True)
    title = name + (f" — {topic}" if topic else "")
    picks = top_picks(items)
    days = "".join(_day(day, day_items, zone, links, now, picks) for day, day_items in by_day(items, zone))
    if not days:
        days = ('<p class="empty">No events' + (f" about {_e(topic)}" if topic else "")
                + f" in the next {window.days} days yet. Run <code>aggregator fetch</code>, or widen "
                  "<code>profile.topics</code>.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="aggregator">
<title>{_e(title)}</title>
<style>{CSS}</style></head>
<body>
<header>
<h1>{_e(name)}</h1>
<p class="lede">{_lede(items, window, zone, now, topic, picks)}</p>
{_topics(settings, links, topic)}
{_subscribe(links, topic)}
</header>
<main id="events">
{days}
</main>
{_footer(status or Status(), zone)}
<script>{SCRIPT}</script>
</body></html>
"""


def _lede(items: list[Ranked], window: Window, zone: ZoneInfo, now: datetime, topic: str | None,
          picks: set[str]) -> str:
    """How many events, and which window: the page's is not `upcoming`'s, so it says its own."""
    last = now.astimezone(zone).date() + timedelta(days=window.days)
    count = len(items)
    what = (f"The best {count} events" if window.limit and count >= window.limit
            else f"{count} event{'' if count == 1 else 's'}")
    about = f" about <strong>{_e(topic)}</strong>" if topic else ""
    until = f'<time datetime="{last.isoformat()}">{last.strftime("%a %b ")}{last.day}</time>'
    star = "; ★ marks the best for you" if picks else ""
    return f"{what}{about} in the next {window.days} days (to {until}), by day, in {zone_words(zone)}{star}."


def by_day(items: Iterable[Ranked], zone: ZoneInfo) -> list[tuple[date, list[Ranked]]]:
    """Days in order, each day's events by start time (ties: the better score first)."""
    days: dict[date, list[Ranked]] = {}
    for item in items:
        days.setdefault(local_day(item, zone), []).append(item)
    return [(day, sorted(found, key=lambda i: (i.start_utc(), -i.score, i.id)))
            for day, found in sorted(days.items())]


def local_day(item: Ranked, zone: ZoneInfo) -> date:
    start = item.event.start
    return start.astimezone(zone).date() if isinstance(start, datetime) else start


def top_picks(items: list[Ranked], count: int = TOP_PICKS) -> set[str]:
    """The best few, marked on the page (it is ordered by time, so the ranking needs a sign)."""
    best = sorted((i for i in items if i.score > 0), key=lambda i: (-i.score, i.start_utc(), i.id))
    return {i.id for i in best[:count]} if len(items) > count else set()


def _day(day: date, items: list[Ranked], zone: ZoneInfo, links: Links, now: datetime, picks: set[str]) -> str:
    today = now.astimezone(zone).date()
    label = day.strftime("%A, %B ") + str(day.day) + ("" if day.year == today.year else f", {day.year}")
    if day == today:
        label = "Today · " + label
    elif day == today + timedelta(days=1):
        label = "Tomorrow · " + label
    heading = f"day-{day.isoformat()}"
    events = "".join(f"<li>{_event(item, zone, links, item.id in picks)}</li>\n" for item in items)
    return (f'<section class="day" aria-labelledby="{heading}">\n<h2 id="{heading}">'
            f'<time datetime="{day.isoformat()}">{_e(label)}</time></h2>\n'
            f'<ol class="events" role="list">\n{events}</ol>\n</section>\n')


def _event(item: Ranked, zone: ZoneInfo, links: Links, pick: bool = False) -> str:
    e = item.event
    plain = _e(safe_text(e.title, one_line=True))
    url = clean_url(e.url)
    title = f'<a href="{_e(url)}" rel="noopener noreferrer">{plain}</a>' if url else plain
    where = " · ".join(_e(safe_text(part, one_line=True)) for part in
                       (e.group, e.venue.label() or ("Online" if e.online else None)) if part)
    star = '<span class="pick" title="Top pick">★<span class="hidden"> Top pick</span></span>' if pick else ""
    return f"""<article class="event" data-id="{_e(item.id)}" data-score="{item.score:g}">
<p class="when">{_when(item, zone)}{star}<a class="add" href="{_e(links.event(item.id))}" download \
aria-describedby="title-{_e(item.id)}">Add to calendar</a></p>
<h3 id="title-{_e(item.id)}"{f' title="{plain}"' if len(plain) > 80 else ""}>{title}</h3>
{f'<p class="where">{where}</p>' if where else ""}
{_people_line(item)}
{_details(item)}
</article>"""


def _when(item: Ranked, zone: ZoneInfo) -> str:
    e = item.event
    if e.all_day or not isinstance(e.start, datetime):
        return '<span class="time">All day</span>'
    start = e.start.astimezone(zone)
    end = e.effective_end()
    text = f'<time datetime="{start.isoformat(timespec="minutes")}">{clock(start)}</time>'
    if isinstance(end, datetime):
        end = end.astimezone(zone)
        text += f'–<time datetime="{end.isoformat(timespec="minutes")}">{clock(end)}</time>'
    return f'<span class="time">{text}</span>'


def clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def person_words(chance: ContactChance, recent: dict[int, tuple[int, int]], *, full: bool = False) -> str:
    """Why a contact is likely there, in the words the terminal uses too (present.evidence_words); `full` adds
    their record at the group and whether they are overdue."""
    words = evidence_words(chance.probability, chance.evidence, chance.detail)
    came, of = recent.get(chance.contact_id, (0, 0))
    if full and kind(chance.evidence).by_history and of:
        words += f"; {record_words(came, of)}"
    elif full and chance.detail.startswith("goes to "):  # new to this group (coldstart.py)
        words += f"; {chance.detail}"
    return words + ("; overdue for a catch-up" if full and chance.overdue else "")


def _people_line(item: Ranked) -> str:
    """One line: the few people most likely there, with why; the rest are counted."""
    named = sorted((c for c in item.chances if c.probability >= SAID), key=lambda c: -c.probability)[:LINE_PEOPLE]
    if not named:
        return ""
    listed = [c for c in item.chances if c.probability >= LISTED]
    names = ", ".join(f"{_e(safe_text(c.name, one_line=True))} <span class=\"why\">"
                      f"({_e(person_words(c, item.recent))})</span>" for c in named)
    more = len(listed) - len(named)
    return f'<p class="people">{names}{f" +{more}&nbsp;more" if more > 0 else ""}</p>'


def _details(item: Ranked) -> str:
    """What the card folds away: why, everyone likely there with their chance, the score's parts."""
    reasons = "".join(f"<li>{_e(safe_text(r, one_line=True))}</li>" for r in item.reasons)
    people = "".join(f"<li>{_e(safe_text(c.name, one_line=True))}: "
                     f"{_e(person_words(c, item.recent, full=True))}</li>"
                     for c in item.chances if c.probability >= LISTED)
    place = item.event.venue.label()  # the card's line may be cut short on a phone
    parts = (f"score {item.score:.1f} = topics {item.topic_part:.1f} × people {item.social_part:.1f} × "
             f"distance {item.distance_factor:.1f}")
    return f"""<details class="more"><summary>Why this event</summary>
{f'<p class="place">Where: {_e(safe_text(place, one_line=True))}</p>' if place else ""}
{f'<ul class="reasons" aria-label="Why">{reasons}</ul>' if reasons else ""}
{f'<p class="label">Likely there</p><ul class="likely">{people}</ul>' if people else ""}
<p class="score">{parts}</p>
</details>"""


def _topics(settings: Settings, links: Links, current: str | None) -> str:
    topics = sorted(settings.profile.topics, key=lambda t: (-settings.profile.topics[t], t))
    if current and current not in topics:
        topics.append(current)
    if not topics:
        return ""
    entries = [("All", None)] + [(t, t) for t in topics]
    chips = "".join(
        f'<li><a href="{_e(links.page(value))}"{" aria-current=page" if value == current else ""}>'
        f"{_e(label)}</a></li>" for label, value in entries)
    return f'<nav aria-label="Topics"><ul class="topics">{chips}</ul></nav>'


def _subscribe(links: Links, topic: str | None) -> str:
    what = f"the {_e(topic)} feed" if topic else "this feed"
    address, webcal = links.feed(topic), links.webcal(topic)
    relative = ' data-absolute=""' if webcal is None else ""
    note = "" if not links.plain_http else (
        '<p class="note">Google Calendar subscribes only to https addresses: put this server behind a TLS proxy '
        "and set <code>feed.public_url</code>, or publish the site to a static host.</p>")
    return f"""<details class="subscribe"><summary>Subscribe to {what}</summary>
<p><a class="button" href="{_e(webcal or address)}"{relative}>Open in your calendar app</a></p>
<p class="copy"><span id="feed-label">Or add it by address (Google Calendar: Other calendars, From URL):</span>
<span class="copy-row"><code id="feed-url" aria-labelledby="feed-label"{relative}>{_e(address)}</code>
<button type="button" class="copy-button" data-copy="feed-url" hidden>Copy</button></span></p>
{note}</details>"""


def _footer(status: Status, zone: ZoneInfo) -> str:
    if status.last_fetch:
        local = status.last_fetch.astimezone(zone)
        fetched = (f'Last fetch: <time datetime="{status.last_fetch.isoformat()}">'
                   f'{local.strftime("%a %b ")}{local.day}, {clock(local)} {local.tzname()}</time>.')
    else:
        fetched = "No fetch has run yet."
    failing = ""
    if status.failing:
        entries = "".join(f"<li><strong>{_e(safe_text(name, one_line=True))}</strong>: "
                          f"{_e(safe_text(error, one_line=True)[:200])}</li>" for name, error in status.failing)
        failing = f'<p>Sources failing at the last fetch:</p><ul class="failing">{entries}</ul>'
    return f"<footer><p>{fetched}</p>{failing}<p>From aggregator; ranked on this machine.</p></footer>"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


CSS = """
:root { --ink: #1b1f24; --muted: #4f5863; --line: #dde1e6; --bg: #fbfbfa; --card: #fff; --accent: #1f52b8;
  --good: #236b3a; --chip: #eef2f8; --warn: #8a3a00; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #eceff3; --muted: #b3bcc6; --line: #343b44; --bg: #14171b; --card: #1c2026; --accent: #8db4ff;
    --good: #8fd3a4; --chip: #26303d; --warn: #ffb27a; } }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 44rem; padding: 0 .75rem 1.5rem; background: var(--bg); color: var(--ink);
  font: 16px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; overflow-wrap: anywhere; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, summary:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px;
  border-radius: 4px; }
h1 { font-size: 1.35rem; margin: .7rem 0 0; line-height: 1.2; }
.lede { color: var(--muted); margin: .1rem 0 .4rem; font-size: .9rem; }
.topics { list-style: none; display: flex; flex-wrap: wrap; gap: .35rem; padding: 0; margin: .4rem 0; }
.topics a { display: inline-block; padding: .25rem .75rem; border-radius: 999px; background: var(--chip);
  text-decoration: none; color: var(--ink); min-height: 2rem; line-height: 1.5rem; }
.topics a[aria-current] { background: var(--accent); color: var(--bg); font-weight: 600; }
summary { cursor: pointer; }
.subscribe { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: 0 .75rem;
  margin: .4rem 0 .2rem; }
.subscribe summary { padding: .45rem 0; font-weight: 600; min-height: 2.2rem; }
.subscribe[open] { padding-bottom: .5rem; }
.button { display: inline-block; background: var(--accent); color: var(--bg); padding: .55rem 1rem;
  border-radius: .5rem; text-decoration: none; font-weight: 600; }
.copy { margin: .5rem 0 0; font-size: .9rem; }
.copy-row { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .3rem 0; }
.copy code { flex: 1 1 14rem; min-width: 0; padding: .45rem .6rem; background: var(--chip); border-radius: .4rem;
  font-size: .85rem; user-select: all; -webkit-user-select: all; }
.copy-button { font: inherit; padding: .35rem .9rem; border-radius: .4rem; border: 1px solid var(--line);
  background: var(--card); color: var(--ink); cursor: pointer; }
.note { color: var(--muted); font-size: .85rem; margin: .3rem 0 0; }
.day h2 { position: sticky; top: 0; background: var(--bg); margin: .6rem 0 .3rem; padding: .3rem 0;
  font-size: .95rem; border-bottom: 2px solid var(--line); z-index: 1; }
.events { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: minmax(0, 1fr);
  gap: .4rem; }
.event { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: .45rem .75rem .35rem; }
.event p { margin: 0; }
.when { display: flex; flex-wrap: wrap; align-items: baseline; column-gap: .5rem; font-size: .9rem; }
.when .time { font-weight: 600; }
.pick { color: var(--good); font-weight: 700; }
.hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.add { margin-left: auto; font-size: .85rem; }
.event h3 { font-size: 1.05rem; margin: .05rem 0; line-height: 1.25;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; line-clamp: 3; overflow: hidden; }
.event h3 a { color: var(--ink); text-decoration-color: var(--line); }
.where, .people { color: var(--muted); font-size: .88rem; }
.where { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.people { color: var(--ink); }
.people .why { color: var(--muted); }
.more summary { color: var(--muted); font-size: .82rem; padding: .15rem 0; }
.more ul { margin: .2rem 0; padding-left: 1.1rem; font-size: .88rem; }
.reasons { color: var(--good); }
.label { font-size: .82rem; color: var(--muted); }
.score { color: var(--muted); font-size: .82rem; margin-bottom: .2rem; }
.place { font-size: .88rem; margin: .2rem 0; }
.empty { color: var(--muted); }
footer { margin-top: 1.5rem; padding-top: .6rem; border-top: 1px solid var(--line); color: var(--muted);
  font-size: .85rem; }
.failing { color: var(--warn); padding-left: 1.1rem; }
@media (min-width: 60rem) {
  body { max-width: 76rem; padding: 0 2rem 3rem; font-size: 17px; }
  h1 { font-size: 1.9rem; margin-top: 1.2rem; }
  header { display: grid; grid-template-columns: 1fr 24rem; column-gap: 2rem; align-items: start; }
  header h1, header .lede, header nav { grid-column: 1; }
  .subscribe { grid-column: 2; grid-row: 1 / span 3; margin-top: 1.2rem; }
  .day { display: grid; grid-template-columns: 13rem minmax(0, 1fr); column-gap: 1.5rem; align-items: start;
    border-top: 2px solid var(--line); margin-top: .8rem; padding-top: .6rem; }
  .day h2 { border: 0; margin: 0; padding: .2rem 0; top: .5rem; }
  .events { grid-template-columns: repeat(auto-fit, minmax(24rem, 1fr)); gap: .6rem; }
  .event { padding: .7rem 1rem .5rem; }
  .where { white-space: normal; }
  .place { display: none; } }
"""

# Copy buttons appear only when the script runs; the address stays selectable text either way. On a static
# site published without feed.public_url the feed links are relative: the script shows their full address.
SCRIPT = """
for (const el of document.querySelectorAll("[data-absolute]")) {
  const url = new URL(el.tagName === "A" ? el.getAttribute("href") : el.textContent, location);
  if (!/^https?:$/.test(url.protocol)) continue;
  if (el.tagName === "A") el.href = "webcal://" + url.host + url.pathname + url.search;
  else el.textContent = url.href;
}
for (const button of document.querySelectorAll("[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; }
    catch (error) {
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      getSelection().removeAllRanges(); getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
}
"""
