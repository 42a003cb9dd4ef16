"""The phone page: the ranked upcoming events, grouped by day in the user's zone.

One column on a phone, nothing loaded from elsewhere (no fonts, images, scripts
from a CDN), semantic HTML (a section per day, an article per event, <time>
elements) so screen readers and keyboard users get the same page. Scraped text
is escaped and URLs pass `clean_url` before they become links. The only script
makes the copy buttons copy; without it the feed address is plain selectable text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aggregator.config import Settings
from aggregator.rank import Ranked
from aggregator.text import clean_url, safe_text

EVIDENCE_WORDS = {"rsvp": "RSVP'd", "speaker": "speaking", "host": "hosting", "mentioned": "named in the listing",
                  "logged": "going, by your log", "predicted": "often goes"}
MAX_PEOPLE = 4
TOP_PICKS = 3


@dataclass
class Links:
    """Every URL the page writes, with the token when the server needs one."""

    host: str  # host[:port] as the client reached us
    token: str | None = None
    secure: bool = False  # the page itself came over https (a TLS proxy in front)

    def _query(self, **params: str | None) -> str:
        wanted = {k: v for k, v in params.items() if v}
        if self.token:
            wanted["token"] = self.token
        return ("?" + urlencode(wanted, quote_via=quote)) if wanted else ""

    def feed(self, scheme: str, topic: str | None = None) -> str:
        return f"{scheme}://{self.host}/feed.ics{self._query(topic=topic)}"

    def page(self, topic: str | None = None) -> str:
        return "/" + self._query(topic=topic)

    def event(self, event_id: str) -> str:
        return f"/event/{quote(event_id, safe='')}.ics{self._query()}"


@dataclass
class Status:
    """What the footer tells: when the last fetch ran and which sources are failing."""

    last_fetch: datetime | None = None
    failing: list[tuple[str, str]] = field(default_factory=list)  # (source name, its last error)


def render(items: list[Ranked], settings: Settings, links: Links, *, now: datetime, topic: str | None = None,
           status: Status | None = None) -> str:
    zone = settings.timezone
    name = safe_text(settings.feed.name, one_line=True)
    title = name + (f" — {topic}" if topic else "")
    picks = top_picks(items)
    days = "".join(_day(day, day_items, zone, links, now, picks) for day, day_items in by_day(items, zone))
    if not days:
        days = ('<p class="empty">No upcoming events' + (f" about {_e(topic)}" if topic else "")
                + " yet. Run <code>aggregator fetch</code>, or widen <code>profile.topics</code>.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{_e(title)}</title>
<style>{CSS}</style></head>
<body>
<header>
<h1>{_e(name)}</h1>
<p class="lede">{len(items)} upcoming event{"" if len(items) == 1 else "s"}{f" about <strong>{_e(topic)}</strong>" if topic else ""}, best for you first within each day.</p>
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
    events = "".join(_event(item, zone, links, item.id in picks) for item in items)
    return (f'<section class="day" aria-labelledby="{heading}">\n<h2 id="{heading}">'
            f'<time datetime="{day.isoformat()}">{_e(label)}</time></h2>\n{events}</section>\n')


def _event(item: Ranked, zone: ZoneInfo, links: Links, pick: bool = False) -> str:
    e = item.event
    title = _e(safe_text(e.title, one_line=True))
    url = clean_url(e.url)
    if url:
        title = f'<a href="{_e(url)}" rel="noopener noreferrer">{title}</a>'
    where = " · ".join(_e(safe_text(part, one_line=True)) for part in
                       (e.group, e.venue.label() or ("Online" if e.online else None)) if part)
    reasons = "".join(f"<li>{_e(safe_text(r, one_line=True))}</li>" for r in item.reasons)
    return f"""<article class="event" data-id="{_e(item.id)}" data-score="{item.score:g}">
{'<span class="pick">Top pick</span>' if pick else ""}
<h3>{title}</h3>
<p class="when">{_when(item, zone)}</p>
{f'<p class="where">{where}</p>' if where else ""}
{f'<ul class="reasons" aria-label="Why">{reasons}</ul>' if reasons else ""}
{_people(item)}
<p class="actions"><a class="add" href="{_e(links.event(item.id))}" download>Add to calendar</a>
<span class="score">score {item.score:.1f}</span></p>
</article>
"""


def _when(item: Ranked, zone: ZoneInfo) -> str:
    e = item.event
    if e.all_day or not isinstance(e.start, datetime):
        return "All day"
    start = e.start.astimezone(zone)
    end = e.effective_end()
    text = f'<time datetime="{start.isoformat(timespec="minutes")}">{clock(start)}</time>'
    if isinstance(end, datetime):
        end = end.astimezone(zone)
        text += f'–<time datetime="{end.isoformat(timespec="minutes")}">{clock(end)}</time>'
    return text


def clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _people(item: Ranked) -> str:
    people = item.contacts[:MAX_PEOPLE]
    if not people:
        return ""
    names = ", ".join(
        f'{_e(safe_text(p["name"], one_line=True))} <span class="chance">{p["probability"]:.0%}, '
        f'{_e(EVIDENCE_WORDS.get(p["evidence"], p["evidence"]))}</span>' for p in people)
    more = len(item.contacts) - len(people)
    return f'<p class="people">Likely there: {names}{f" and {more} more" if more > 0 else ""}</p>'


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
    https = links.feed("https", topic)
    what = f"the {_e(topic)} feed" if topic else "this feed"
    note = "" if links.secure else (
        '<details class="note"><summary>Served over plain http?</summary><p>Google Calendar needs https: put '
        f'this server behind a TLS proxy. Other apps on this network can use '
        f'<code>{_e(links.feed("http", topic))}</code></p></details>')
    return f"""<section class="subscribe" aria-labelledby="subscribe-heading">
<h2 id="subscribe-heading">Subscribe to {what}</h2>
<p><a class="button" href="{_e(links.feed("webcal", topic))}">Subscribe in your calendar app</a></p>
<p class="copy"><span id="feed-label">Or add it by URL (Google Calendar: Other calendars, From URL):</span>
<span class="copy-row"><code id="feed-url" aria-labelledby="feed-label">{_e(https)}</code>
<button type="button" class="copy-button" data-copy="feed-url" hidden>Copy</button></span></p>
{note}</section>"""


def _footer(status: Status, zone: ZoneInfo) -> str:
    if status.last_fetch:
        local = status.last_fetch.astimezone(zone)
        fetched = (f'Last fetch: <time datetime="{status.last_fetch.isoformat()}">'
                   f'{local.strftime("%a %b ")}{local.day}, {clock(local)}</time>.')
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
body { margin: 0 auto; max-width: 44rem; padding: 0 1rem 2rem; background: var(--bg); color: var(--ink);
  font: 17px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; overflow-wrap: anywhere; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; border-radius: 4px; }
h1 { font-size: 1.6rem; margin: 1.2rem 0 .2rem; line-height: 1.2; }
.lede { color: var(--muted); margin: 0 0 .8rem; }
.topics { list-style: none; display: flex; flex-wrap: wrap; gap: .4rem; padding: 0; margin: .6rem 0; }
.topics a { display: inline-block; padding: .35rem .8rem; border-radius: 999px; background: var(--chip);
  text-decoration: none; color: var(--ink); min-height: 2.2rem; line-height: 1.5rem; }
.topics a[aria-current] { background: var(--accent); color: var(--bg); font-weight: 600; }
.subscribe { background: var(--card); border: 1px solid var(--line); border-radius: .8rem; padding: .2rem 1rem .6rem;
  margin: .8rem 0 1rem; }
.subscribe h2 { font-size: 1.05rem; margin: .7rem 0 .3rem; }
.button { display: inline-block; background: var(--accent); color: var(--bg); padding: .6rem 1rem;
  border-radius: .5rem; text-decoration: none; font-weight: 600; }
.copy-row { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .3rem 0; }
.copy code { flex: 1 1 14rem; min-width: 0; padding: .5rem .6rem; background: var(--chip); border-radius: .4rem;
  font-size: .85rem; user-select: all; -webkit-user-select: all; }
.copy-button { font: inherit; padding: .35rem .9rem; border-radius: .4rem; border: 1px solid var(--line);
  background: var(--card); color: var(--ink); cursor: pointer; }
.note { color: var(--muted); font-size: .85rem; margin: .2rem 0 .4rem; }
.note summary { cursor: pointer; }
.pick { display: inline-block; font-size: .75rem; font-weight: 700; letter-spacing: .03em; text-transform: uppercase;
  color: var(--good); margin-bottom: .1rem; }
.day h2 { position: sticky; top: 0; background: var(--bg); margin: 1.2rem 0 .4rem; padding: .4rem 0;
  font-size: 1rem; text-transform: none; border-bottom: 2px solid var(--line); z-index: 1; }
.event { background: var(--card); border: 1px solid var(--line); border-radius: .8rem; padding: .75rem 1rem;
  margin: .6rem 0; }
.event h3 { font-size: 1.08rem; margin: 0 0 .2rem; line-height: 1.3; }
.event h3 a { color: var(--ink); text-decoration-color: var(--line); }
.when { font-weight: 600; margin: 0; }
.where, .people { color: var(--muted); margin: .15rem 0; font-size: .95rem; }
.reasons { margin: .35rem 0 .2rem; padding-left: 1.1rem; color: var(--good); font-size: .92rem; }
.chance { white-space: nowrap; font-size: .85rem; }
.actions { display: flex; justify-content: space-between; align-items: center; margin: .4rem 0 0; }
.add { font-size: .95rem; }
.score { color: var(--muted); font-size: .85rem; }
.empty { color: var(--muted); }
footer { margin-top: 2rem; padding-top: .8rem; border-top: 1px solid var(--line); color: var(--muted);
  font-size: .88rem; }
.failing { color: var(--warn); padding-left: 1.1rem; }
@media (min-width: 48rem) { body { padding: 0 2rem 3rem; } h1 { font-size: 2rem; } }
"""

# Copy buttons appear only when the script runs; the address stays selectable text either way.
SCRIPT = """
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
