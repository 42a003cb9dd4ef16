"""The events page in a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path

from aggregator import config
from aggregator.model import Event
from aggregator.server import FeedService, make_server
from aggregator.store import Store
from tests.conftest import NOW, PORTLAND, require, write_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
UTC = timezone.utc



def test_page_renders_the_ranked_list_with_reasons(tmp_path):
    require(Path(CHROMIUM).exists(), "Debian's chromium", "apt-get install chromium")
    from playwright import sync_api as playwright_api

    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        profile={"topics": {"python": 3, "rust": 1}})
    settings = config.load(path)
    store = Store(settings.database)
    store.save_events("src", [
        Event("r", "Rust hack night", datetime(2026, 12, 2, 2, 0, tzinfo=UTC), group="PDX Rust"),
        Event("p", "Python typing talks", datetime(2026, 12, 5, 2, 30, tzinfo=UTC), group="PDX Python",
              url="https://example.org/p"),
        Event("x", "<img src=x onerror=alert(1)> Knitting circle", datetime(2026, 12, 3, 2, 0, tzinfo=UTC)),
    ], now=NOW, tz=PORTLAND)
    service = FeedService(settings, store, now=lambda: NOW)
    httpd = make_server(service, "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    dialogs: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            )
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            titles = page.locator(".event h2").all_inner_texts()
            assert titles == ["Python typing talks", "Rust hack night", "<img src=x onerror=alert(1)> Knitting circle"]
            first = page.locator(".event").first
            assert first.locator(".reasons li").all_inner_texts() == ["topic: python"]
            assert first.locator("h2 a").get_attribute("href") == "https://example.org/p"
            assert page.locator("a.subscribe").get_attribute("href").startswith("webcal://127.0.0.1:")
            assert page.locator("img").count() == 0  # scraped markup is text, not elements
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "events_page.png"), full_page=True)
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        store.close()
    assert dialogs == []
