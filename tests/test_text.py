"""Outside text made safe to print and store; URLs that are really http(s) links."""

import time

import pytest

from aggregator.errors import SourceError
from aggregator.text import clean_url, safe_text
from tests.conftest import make_ctx


def test_safe_text_removes_screen_clears_hyperlinks_and_bidi_overrides():
    hostile = "Bad\x1b[2J\x1b[H gateway\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\u202eevil\x9b31m\x07"
    cleaned = safe_text(hostile)
    assert "\x1b" not in cleaned and "\x07" not in cleaned and "\u202e" not in cleaned and "\x9b" not in cleaned
    assert cleaned == "Bad gatewayclickevil"


def test_safe_text_one_line_folds_line_breaks():
    assert safe_text("line one\r\nline\ttwo\n", one_line=True) == "line one line two"


@pytest.mark.parametrize("url", ["https://example.org/e/1", " http://example.org/a?b=1&c=2 ", "https://example.org:8443/x#y"])
def test_clean_url_keeps_well_formed_http_links(url):
    assert clean_url(url) == url.strip()


@pytest.mark.parametrize("url", [
    "https://example.org/a\r\nX-Injected: 1", "https://example.org/a b", "javascript:alert(1)", "ftp://example.org/x",
    "https:///nohost", "http://[::1", "http://example.org:99999/", "https://exa\x00mple.org/", "", None,
])
def test_clean_url_refuses_anything_else(url):
    assert clean_url(url) is None


def test_context_deadline_fails_the_source_once_spent():
    ctx = make_ctx()
    ctx.check_deadline()  # no deadline: never fails
    ctx.deadline = time.monotonic() - 1
    with pytest.raises(SourceError, match="time budget"):
        ctx.check_deadline()
