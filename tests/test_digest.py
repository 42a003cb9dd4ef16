"""`aggregator digest`: the coming week in a few lines (text, Markdown, email-safe HTML), through the
real CLI on the demo city: best events with people in words, overdue contacts and where to meet
them, and what changed since last week (new, cancelled, vanished, moved) from the store's bookkeeping."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from aggregator.demo import write_demo
from aggregator.digest import markdown_escape
from tests.conftest import NOW, PORTLAND, Cli, write_config

HOSTILE = "<script>alert(1)</script> *Data* [night](javascript:x) & 1 < 2"
STORED = "*Data* [night](javascript:x) & 1 < 2"  # the title once the pipeline has cleaned it (tags gone)


def read(path) -> str:
    return path.read_bytes().decode("utf-8")  # CRLF kept


def edit(path, old: str, new: str) -> None:
    text = read(path)
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8", newline="")


def drop_event(path, uid: str) -> None:
    text = read(path)
    text = re.sub(rf"BEGIN:VEVENT\r\nUID:{re.escape(uid)}.*?END:VEVENT\r\n", "", text, flags=re.S)
    path.write_text(text, encoding="utf-8", newline="")


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The demo city fetched ten days ago, then a week of changes fetched now."""
    config = write_demo(tmp_path_factory.mktemp("digest") / "demo", now=NOW)
    assert Cli(config, now=NOW - timedelta(days=10))("fetch").returncode == 0
    calendars = config.parent / "calendars"
    edit(calendars / "pdx-python.ics", "DTSTART:20261203T023000Z\r\nDTEND:20261203T043000Z",
         "DTSTART:20261204T033000Z\r\nDTEND:20261204T053000Z")  # moved a day later
    rust = read(calendars / "rust-pdx.ics")
    first = rust.index("UID:rust-pdx-20261203")
    cancelled = rust[:first] + rust[first:].replace("STATUS:CONFIRMED", "STATUS:CANCELLED", 1)
    (calendars / "rust-pdx.ics").write_text(cancelled, encoding="utf-8", newline="")
    drop_event(calendars / "pdx-design.ics", "pdx-design-20261207@demo.aggregator.invalid")  # vanished
    edit(calendars / "pdx-data.ics", "END:VCALENDAR",
         "BEGIN:VEVENT\r\nUID:data-social@demo.aggregator.invalid\r\nDTSTAMP:20261201T120000Z\r\n"
         "DTSTART:20261205T020000Z\r\nDTEND:20261205T040000Z\r\n"
         f"SUMMARY:{HOSTILE}\r\nURL:https://example.org/data?a=1&b=2\r\nEND:VEVENT\r\nEND:VCALENDAR")
    cli = Cli(config, now=NOW)
    fetched = cli("fetch")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    return cli


def test_text_digest_has_the_best_events_people_in_words_and_where_to_meet_overdue_contacts(week):
    result = week("digest")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("Your week: Tue 1 Dec to Mon 7 Dec 2026")
    best = text.split("Best events", 1)[1].split("\n\n", 1)[0]
    assert "Thu 3 Dec 19:30  Async Python, gently" in best  # where it is now
    assert "Dana Lee (RSVPed; overdue)" in best and "%; overdue)" in best  # evidence in words
    meet = text.split("Catch up with", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"- Samuel Ortiz  \d+ months since you caught up; likely at Async Python, gently, "
                     r"Thu 3 Dec 19:30 at Puppet Labs, 308 SW 2nd Ave, Portland, OR \(RSVPed\)", meet)
    assert "`aggregator reconnect` lists them all" in meet
    assert len(text.splitlines()) < 40  # a few lines, for mail or chat


def test_what_changed_since_last_week_comes_from_the_store(week):
    changes = week("digest").stdout.split("Since last week", 1)[1]
    assert f"new: Fri 4 Dec 18:00  {STORED} (above)" in changes  # among the best: named, not repeated
    assert "cancelled: Thu 3 Dec 18:30  Rust lightning talks" in changes  # STATUS:CANCELLED
    assert "cancelled: Mon 7 Dec 18:30  Service design 101" in changes  # vanished from its calendar
    assert "changed: Thu 3 Dec 19:30  Async Python, gently (above)" in changes
    unchanged = week("digest", "--days", "30").stdout.split("Since last week", 1)[1]
    assert "Profiling Python code" not in unchanged  # first seen ten days ago and never changed


def test_html_is_an_email_safe_document_with_every_text_escaped(week):
    page = week("digest", "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "<style" not in page and "src=" not in page
    assert 'href="javascript' not in page
    assert '<a href="https://example.org/data?a=1&amp;b=2"' in page  # the event's page, escaped
    assert ">*Data* [night](javascript:x) &amp; 1 &lt; 2</a>" in page
    assert re.search(r'<li style="[^"]+"><strong>cancelled: Thu 3 Dec 18:30</strong>', page)

    class Checker(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in ("br", "meta"):
                self.open.append(tag)
            assert all(name in ("style", "href", "lang", "charset", "name", "content") for name, _ in attrs)

        def handle_endtag(self, tag):
            assert self.open.pop() == tag

    checker = Checker()
    checker.feed(page)
    assert checker.open == []  # every element closed, in order


def test_markdown_escapes_titles_and_keeps_links_and_ids(week):
    text = week("digest", "--format", "markdown").stdout
    assert text.startswith("**Your week: Tue 1 Dec to Mon 7 Dec 2026**")
    assert "### Best events" in text and "### Since last week" in text
    # what Markdown would misread is escaped (no link forged); "&" and "1 < 2" read as typed in Slack too
    assert r"[\*Data\* \[night\](javascript:x) & 1 < 2](<https://example.org/data?a=1&b=2>)" in text
    assert r"\&" not in text and r"\<" not in text
    assert "](<https://example.org/data?a=1&b=2>)" in text
    assert re.search(r"`[0-9a-f]{10}`", text)


@pytest.mark.parametrize("raw,escaped", [
    ("*bold* _it_ `code`", r"\*bold\* \_it\_ \`code\`"),
    ("~struck~ ~20 people", r"\~struck\~ \~20 people"),
    ("- a list", r"\- a list"),
    ("+ a list", r"\+ a list"),
    ("1. first", r"1\. first"),
    ("2026) first", r"2026\) first"),
    ("# heading", r"\# heading"),
    ("> quote", r"\> quote"),
    ("---", r"\-\-\-"),
    ("===", r"\==="),
    ("|:-|-|", r"\|:\-\|\-\|"),  # a table's delimiter row
    ("a | b <i>", r"a | b \<i>"),
    ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
    ("<https://evil.example> <!channel>", r"\<https://evil.example> \<!channel>"),
    ("&amp; &#38;", r"\&amp; \&#38;"),  # an entity would be decoded
    ("ends in a backslash \\", "ends in a backslash \\\\"),  # would escape our own `](`
    ("plain words, 48% (ok)", "plain words, 48% (ok)"),
    ("R&D, Tom & Jerry, snake_case, 5 * 3, a ~ b, 1 < 2, a > b", "R&D, Tom & Jerry, snake_case, 5 * 3, a ~ b, 1 < 2, a > b"),
    ("C# | Rust -3 .NET #hashtag+1 C:\\Users", "C# | Rust -3 .NET #hashtag+1 C:\\Users"),
])
def test_markdown_escape(raw, escaped):
    assert markdown_escape(raw) == escaped


def test_an_empty_week_says_so_and_what_to_do(week, tmp_path):
    quiet = week("digest", "--days", "1")
    assert quiet.returncode == 0 and "Nothing on in the next day." in quiet.stdout
    assert quiet.stdout.startswith(f"Your day: {NOW.astimezone(PORTLAND):%a} ")  # not "Your next 1 days: ... to ..."
    assert "aggregator digest --days 30" in quiet.stdout
    unfetched = Cli(write_config(tmp_path, [{"name": "a", "kind": "ics", "url": "https://example.org/a.ics"}]),
                    now=NOW)("digest")
    assert unfetched.returncode == 0 and "Nothing fetched yet: run `aggregator fetch`" in unfetched.stdout
    (tmp_path / "none").mkdir()
    no_sources = Cli(write_config(tmp_path / "none", []), now=NOW)("digest", "--format", "html")
    assert no_sources.returncode == 0 and "No sources configured yet" in no_sources.stdout
    assert "<!DOCTYPE html>" in no_sources.stdout
    bad = week("digest", "--format", "pdf")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize("raw", [
    "*bold* _it_ `code` ~~struck~~", "[x](javascript:alert(1)) <https://evil.example> <b>hi</b>", "&amp; &#38; R&D",
    "- a list", "1. first", "# heading", "> quote", "---", "|-|-|", "snake_case 5 * 3 a ~ b 1 < 2 a > b C# | Rust",
    "ends in a backslash \\", "\\*not bold\\*", "a*b*c __init__ _x_",
])
def test_markdown_escape_reads_as_typed_in_a_commonmark_renderer(raw):
    """Rendered (CommonMark with GFM tables and strikethrough) as an item and as a detail line under it,
    the text comes back as typed: no markup, no link, no HTML."""
    import html

    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    escaped = markdown_escape(raw)
    page = renderer.render(f"- {escaped} `abc`\n  {escaped}\n")
    assert "<a " not in page and "<em>" not in page and "<strong>" not in page and "<table>" not in page
    assert "<h" not in page and "<s>" not in page and "<blockquote>" not in page and "<hr" not in page
    assert page.count("<li>") == 1 and "<ol" not in page, page
    shown = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert shown.strip().split("\n") == [f"{raw} abc", raw], page
