"""The events page in a real headless browser (Debian's chromium, driven by Playwright), on a
phone (390x844) and a desktop (1280x900). Screenshots go to tests/screenshots/ (gitignored)."""

from __future__ import annotations

import re
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aggregator import config
from aggregator.model import Event, Venue
from aggregator.server import FeedService, make_server
from aggregator.store import Store
from tests.conftest import NOW, PORTLAND, require, write_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
UTC = timezone.utc
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=PORTLAND).astimezone(UTC)


def city_events() -> list[Event]:
    library = Venue("Central Library", "801 SW 10th Ave", "Portland", 45.519, -122.682)
    return [
        Event("r", "Rust hack night", at(1, 18), group="PDX Rust", venue=library, tags=("rust",)),
        Event("p", "Python typing talks", at(4, 18, 30), end=at(4, 20, 30), group="PDX Python",
              url="https://example.org/p", venue=library, description="Talks about typing in Python."),
        Event("x", "<img src=x onerror=alert(1)> Knitting circle", at(2, 18), url="javascript:alert(2)"),
        Event("long", "Supercalifragilisticexpialidocious-data-engineering-with-python-and-rust-"
              "in-production-at-scale", at(4, 12), group="Data Eng PDX with a very long group name indeed",
              venue=Venue("A venue whose name goes on and on", "1234 Northeast Martin Luther King Jr Blvd")),
        Event("py2", "Python office hours", at(3, 9), online=True, group="PDX Python"),
        Event("rust2", "Rust and WebAssembly workshop", at(8, 10), end=at(8, 16), group="PDX Rust"),
    ]


@contextmanager
def serving(settings, store):
    """The real server over `store` on a free loopback port, for as long as the block runs; closes the store."""
    httpd = make_server(FeedService(settings, store, now=lambda: NOW), "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        store.close()


@pytest.fixture
def served(tmp_path):
    require(Path(CHROMIUM).exists(), "Debian's chromium", "apt-get install chromium")
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        profile={"topics": {"python": 3, "rust": 1}}, feed={"token": "t0ken-with-some-length"})
    settings = config.load(path)
    store = Store(settings.database)
    store.events.save("src", city_events(), now=NOW, tz=PORTLAND)
    store.runs.record_source(name="src", kind="ics", url="https://example.org/a.ics", now=NOW, error=None, seen=6)
    store.runs.record_source(name="broken", kind="ics", url="https://example.org/b.ics", now=NOW - timedelta(hours=1),
                        error="HTTP 503 from example.org")
    with serving(settings, store) as base:
        yield f"{base}/?token=t0ken-with-some-length"


@pytest.fixture
def browser():
    from playwright import sync_api as playwright_api

    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_page_fits_groups_by_day_and_filters_by_topic(served, browser, device):
    page = browser.new_page(viewport=VIEWPORTS[device])
    dialogs: list[str] = []
    requests_seen: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests_seen.append(r.url))
    page.goto(served)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"page_{device}.png"), full_page=True)

    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")  # no horizontal scroll
    days = page.locator("main section.day > h2 time").evaluate_all("els => els.map(e => e.dateTime)")
    assert days == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-08"]  # Portland days
    assert page.locator("main section.day").first.locator("h2").inner_text().startswith("Today")
    dec4 = page.locator("section.day", has=page.locator('time[datetime="2026-12-04"]'))
    assert dec4.locator("article h3").all_inner_texts()[1] == "Python typing talks"  # by start time: noon first
    talk = dec4.locator("article").nth(1)
    assert talk.locator("h3 a").get_attribute("href") == "https://example.org/p"
    assert not talk.locator(".reasons").is_visible()  # folded into the card's details
    talk.locator("details summary").click()
    assert talk.locator(".reasons li").all_inner_texts() == ["topic: python"]
    assert talk.locator(".score").inner_text().startswith("score ")
    assert talk.locator(".when time").first.get_attribute("datetime") == "2026-12-04T18:30-08:00"
    assert talk.locator(".when .time").inner_text() == "6:30 PM–8:30 PM"
    assert talk.locator(".when a.add").get_attribute("href").startswith("event/")
    knit = page.locator("article", has_text="Knitting circle")
    assert knit.locator("a[href^=javascript]").count() == 0 and page.locator("img").count() == 0
    if device == "phone":
        widths = page.locator("article h3").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
        assert min(widths) >= 250, widths

    subscribe = page.locator("a.button")
    assert subscribe.get_attribute("href").startswith("webcal://127.0.0.1:")
    assert not subscribe.is_visible()  # one row that expands
    page.locator(".subscribe summary").click()
    assert subscribe.is_visible()
    assert page.locator("#feed-url").inner_text().startswith("http://127.0.0.1:")  # as requested: plain http
    assert page.locator("#feed-url").inner_text().endswith("/feed.ics?token=t0ken-with-some-length")
    assert page.locator("button.copy-button").is_visible()  # shown once the script runs
    assert "HTTP 503 from example.org" in page.locator("footer").inner_text()

    page.locator("nav .topics a", has_text="rust").click()
    page.wait_for_load_state()
    titles = page.locator("article h3").all_inner_texts()
    assert set(titles) == {"Rust hack night", "Rust and WebAssembly workshop",
                           "Supercalifragilisticexpialidocious-data-engineering-with-python-and-rust-"
                           "in-production-at-scale"}
    assert page.locator("nav .topics a[aria-current=page]").inner_text() == "rust"
    assert "topic=rust" in page.locator("a.button").get_attribute("href")
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    page.screenshot(path=str(SCREENSHOTS / f"page_{device}_rust.png"), full_page=True)
    assert dialogs == []
    assert all(url.startswith("http://127.0.0.1:") for url in requests_seen)  # nothing from elsewhere


def test_keyboard_focus_is_visible_and_copy_works_without_script(served, browser):
    page = browser.new_page(viewport=VIEWPORTS["phone"])
    page.goto(served)
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert page.evaluate("document.activeElement.tagName") == "A" and outline != "none"

    quiet = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"]).new_page()
    quiet.goto(served)
    assert not quiet.locator("button.copy-button").is_visible()  # no dead button without script
    quiet.locator(".subscribe summary").click()  # details open without script
    url = quiet.locator("#feed-url")
    assert url.is_visible() and url.inner_text().startswith("http://127.0.0.1:")


def test_dark_mode_keeps_the_text_readable(served, browser):
    page = browser.new_page(viewport=VIEWPORTS["phone"], color_scheme="dark")
    page.goto(served)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "page_phone_dark.png"), full_page=True)
    colors = page.evaluate("""() => {
        const rgb = (el, prop) => getComputedStyle(el)[prop].match(/\\d+/g).slice(0, 3).map(Number);
        const title = document.querySelector("article h3");
        return [rgb(title, "color"), rgb(title.closest("article"), "backgroundColor")];
    }""")
    (text, background) = colors
    assert sum(text) > 600 and sum(background) < 150  # light text on a dark card
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")


FIRST_SCREEN = """() => [...document.querySelectorAll("main article")].filter(card => {
    const box = card.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= innerHeight && box.left >= 0 && box.right <= innerWidth; }).length"""


@pytest.fixture
def demo_page(tmp_path):
    """The demo city's page, served as `aggregator serve` serves it."""
    from aggregator.demo import write_demo
    from tests.conftest import Cli

    require(Path(CHROMIUM).exists(), "Debian's chromium", "apt-get install chromium")
    path = write_demo(tmp_path / "demo", now=NOW)
    assert Cli(path, now=NOW)("fetch").returncode == 0
    settings = config.load(path)
    store = Store(settings.database)
    with serving(settings, store) as base:
        yield f"{base}/"


def test_a_phone_screen_shows_several_events_of_the_demo(demo_page, browser):
    """Issue 21: the demo took ~630 CSS px an event at 390x844, one event a screen."""
    heights = {}
    for device in ("phone", "desktop"):
        page = browser.new_page(viewport=VIEWPORTS[device])
        page.goto(demo_page)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"demo_{device}.png"))
        events = page.locator("main article").count()
        heights[device] = page.evaluate("document.scrollingElement.scrollHeight") / events
        assert events >= 5
        assert page.evaluate(FIRST_SCREEN) >= 2, device  # at least two whole cards before any scrolling
        assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
        people = page.locator("main .people").all_inner_texts()
        assert people and not re.search(r"\(\d+%", " ".join(people))  # evidence in words, never a bare 100%
        assert any("(RSVPed" in line for line in people) and any(" comes, " in line for line in people)
        assert "in the next 60 days" in page.locator(".lede").inner_text()  # the page says its window
    assert heights["phone"] <= 320, heights
    page.locator("main article details summary").first.click()
    page.screenshot(path=str(SCREENSHOTS / "demo_desktop_open.png"))


def test_a_published_site_on_a_static_server_fills_in_its_own_address(tmp_path, browser):
    """`publish DIR` without feed.public_url: relative links, and the script shows the feed's full address."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from aggregator.demo import write_demo
    from tests.conftest import Cli

    require(Path(CHROMIUM).exists(), "Debian's chromium", "apt-get install chromium")
    cli = Cli(write_demo(tmp_path / "demo", now=NOW), now=NOW)
    assert cli("fetch").returncode == 0
    assert cli("publish", str(tmp_path / "site")).returncode == 0
    quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(tmp_path / "site")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    try:
        page = browser.new_page(viewport=VIEWPORTS["phone"])
        page.goto(base)
        page.locator(".subscribe summary").click()
        assert page.locator("#feed-url").inner_text() == base + "feed.ics"
        assert page.locator("a.button").get_attribute("href") == base.replace("http:", "webcal:") + "feed.ics"
        page.locator("nav .topics a", has_text="rust").click()
        page.wait_for_load_state()
        assert page.url == base + "topics/rust.html"
        assert page.locator("#feed-url").text_content() == base + "topics/rust.ics"  # folded: its text
        assert page.evaluate(FIRST_SCREEN) >= 2
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "published_phone_rust.png"))
        add = page.locator("main article a.add").first.get_attribute("href")
        assert add.startswith("../events/") and add.endswith(".ics")

        quiet_page = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"]).new_page()
        quiet_page.goto(base)
        assert quiet_page.locator("a.button").get_attribute("href") == "feed.ics"  # relative: still opens the feed
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_runaway_title_takes_three_lines_at_most(tmp_path, browser):
    """A 400-character title filled a phone screen on its own; it is cut after three lines (the whole title
    stays in the markup and its tooltip)."""
    from aggregator.page import Links, render
    from aggregator.ranking import Ranked
    from tests.conftest import stored_event

    require(Path(CHROMIUM).exists(), "Debian's chromium", "apt-get install chromium")
    settings = config.load(write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}]))
    long = Event("long", "Python " + "very-long " * 40 + "title", at(4, 18))
    short = Event("short", "Rust night", at(4, 19))
    items = [Ranked(id=e.source_uid, event=e, stored=stored_event(e, tz=PORTLAND), score=1.0) for e in (long, short)]
    page = browser.new_page(viewport=VIEWPORTS["phone"])
    page.set_content(render(items, settings, Links("http://127.0.0.1:8080/"), now=NOW))
    heights = page.locator("article h3").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert heights[0] <= 3.2 * heights[1], heights  # three lines of the one-line title, no more
    assert "very-long " * 40 in page.locator("article h3").first.text_content()
