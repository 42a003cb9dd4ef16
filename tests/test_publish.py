"""`aggregator publish DIR` through the real CLI on the demo city, the site served by a plain static
HTTP server (python's http.server on 127.0.0.1): links resolve, feeds parse (icalendar, ical.js), files
stay byte-stable, stale files go, a token or private names are never published by accident."""

from __future__ import annotations

import functools
import html
import html.parser
import json
import re
import shutil
import subprocess
import threading
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import icalendar
import pytest
import requests
import yaml

from aggregator.demo import write_demo
from aggregator.publish import event_names, topic_names
from tests.conftest import NOW, Cli, write_config

http = requests.Session()  # every request of these tests goes to 127.0.0.1


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    """The demo city, fetched once: the tests copy it (publishing writes the feeds' versions)."""
    config = write_demo(tmp_path_factory.mktemp("city") / "demo", now=NOW)
    fetched = Cli(config, now=NOW)("fetch")
    assert fetched.returncode == 0, fetched.stderr
    return config.parent


@pytest.fixture
def demo(city, tmp_path) -> Cli:
    folder = tmp_path / "demo"
    shutil.copytree(city, folder)
    return Cli(folder / "config.yaml", now=NOW)


def configure(cli: Cli, **feed) -> None:
    data = yaml.safe_load(cli.config.read_text())
    data["feed"] = {**data.get("feed", {}), **feed}
    cli.config.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def static_server():
    """A plain static file server over a folder, as any host would serve the site."""
    started = []

    def serve(folder: Path) -> str:
        quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(folder)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield serve
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


class LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("href", "src") and value]


def links_of(text: str) -> list[str]:
    parser = LinkParser()
    parser.feed(text)
    return parser.links


def vevents(data: bytes) -> list:
    return icalendar.Calendar.from_ical(data).walk("VEVENT")


def test_publish_writes_a_site_a_static_server_serves_whole(demo, tmp_path, static_server, ical_js):
    site = tmp_path / "site"
    result = demo("publish", str(site))
    assert result.returncode == 0, result.stderr
    assert "the published site shows your contacts' names" in result.stdout
    base = static_server(site)
    pages = [base + "index.html"] + [base + f"topics/{name}.html" for name in ("python", "rust", "data")]
    checked = set()
    for page in pages:
        answer = http.get(page)
        assert answer.status_code == 200, page
        own = [link for link in links_of(answer.text) if not urlsplit(link).scheme]  # the site's own links
        assert own and all(not link.startswith("/") for link in own)  # relative: any folder on any host
        for link in own:
            target = urljoin(page, link)
            if target not in checked:
                assert http.get(target).status_code == 200, (page, link)
                checked.add(target)
    assert base + "topics/rust.ics" in checked and base + "feed.ics" in checked
    events = sorted((site / "events").glob("*.ics"))
    assert events and all(urljoin(base, f"events/{path.name}") in checked for path in events)

    feed = http.get(base + "feed.ics").content
    assert len(vevents(feed)) >= 5
    for path in events:  # one event a file, the same UID as in the feed when it is there
        (event,) = vevents(path.read_bytes())
        assert str(event["UID"]) == f"{path.stem}@aggregator"
    rust = vevents((site / "topics/rust.ics").read_bytes())
    python = vevents((site / "topics/python.ics").read_bytes())
    assert rust and python
    assert all("rust" in str(e["DESCRIPTION"]).split("\n")[0].lower() for e in rust)  # "Why: topic: rust..."
    assert all("python" in str(e["DESCRIPTION"]).split("\n")[0].lower() for e in python)
    everything = {str(e["UID"]) for e in vevents(feed)}
    assert {str(e["UID"]) for e in python} - {str(e["UID"]) for e in rust}  # a python night is no rust one
    assert everything - {str(e["UID"]) for e in rust}  # the topic feed is a part of the whole

    read = subprocess.run(["node", str(ical_js), str(site / "topics/rust.ics")], capture_output=True, text=True,
                          check=True)
    parsed = json.loads(read.stdout)
    assert parsed["props"]["x-wr-calname"].endswith("— rust")
    assert {e["uid"] for e in parsed["events"]} == {str(e["UID"]) for e in rust}


PERSON = re.compile(r"([^,()]+?) \(([^()]*)\)")


def test_the_page_and_the_terminal_say_why_a_person_is_there_in_the_same_words(demo, tmp_path):
    """One vocabulary (present.evidence_words): the page once said "RSVP'd" and "likely, 5 of last 5" where
    `plan` and the agenda said "RSVPed" and "often comes, 48%" of the same person at the same event."""
    assert demo("publish", str(tmp_path / "site")).returncode == 0
    page = (tmp_path / "site" / "index.html").read_text()
    on_page: dict[tuple[str, str], str] = {}
    for card in page.split("<article")[1:]:
        ident = re.search(r'aria-describedby="title-([0-9a-f]+)"', card).group(1)
        line = html.unescape(re.sub(r"<[^>]+>", "", card.split('<p class="people">')[1].split("</p>")[0]))
        on_page.update({(ident[:10], name.strip()): words for name, words in PERSON.findall(line.split(" +")[0])})
    plan = demo("plan")
    assert plan.returncode == 0, plan.stderr
    compared = []
    for head, people in re.findall(r"\[([0-9a-f]{10})\]\n +(.+)", plan.stdout):
        for name, words in PERSON.findall(people):
            if (head, name.strip()) in on_page:
                compared.append((on_page[head, name.strip()], words))
    assert len(compared) >= 4 and any("%" in words for words, _ in compared)  # RSVPs and predictions alike
    assert all(page_words == plan_words for page_words, plan_words in compared), compared
    assert "RSVP'd" not in page
    feed = icalendar.Calendar.from_ical((tmp_path / "site" / "feed.ics").read_bytes())
    said = " ".join(str(e.get("DESCRIPTION")) for e in feed.walk("VEVENT"))
    assert "(RSVPed)" in said and "(often comes, " in said  # the calendar app reads the same words


def test_a_second_publish_keeps_every_byte_and_a_later_one_removes_old_events(demo, tmp_path):
    site = tmp_path / "site"
    (site / ".git").mkdir(parents=True)
    (site / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (site / "CNAME").write_text("events.example.org\n")
    assert demo("publish", str(site)).returncode == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()}
    again = demo.json("publish", str(site))
    assert again["changed"] == [] and again["removed"] == [] and again["unchanged"] == len(before) - 2
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()} == before

    later = Cli(demo.config, now=NOW + timedelta(days=20))  # the first events are past now
    moved = later.json("publish", str(site))
    assert moved["removed"] and all(not (site / path).exists() for path in moved["removed"])
    assert all(path.startswith("events/") for path in moved["removed"])
    assert "index.html" in moved["changed"]
    assert (site / "CNAME").exists() and (site / ".git" / "HEAD").exists()  # not ours: left alone
    assert not list(site.rglob(".*.tmp"))


def test_a_folder_with_someone_elses_site_is_refused_unless_forced(demo, tmp_path):
    """`publish ~/www` replaced the home page there and deleted the .html files of its events/ folder."""
    www = tmp_path / "www"
    (www / "events").mkdir(parents=True)
    (www / "index.html").write_text("<h1>My home page</h1>")
    (www / "events" / "party-2024.html").write_text("<p>My party</p>")
    refused = demo("publish", str(www))
    assert refused.returncode == 2 and "holds files publish did not write (events/party-2024.html, index.html)" \
        in refused.stderr, refused.stderr
    assert (www / "index.html").read_text() == "<h1>My home page</h1>" and (www / "events" / "party-2024.html").exists()
    assert not (www / "feed.ics").exists()  # nothing written at all
    (tmp_path / "nobody").mkdir()
    nobody = Cli(write_config(tmp_path / "nobody", []), now=NOW)("publish", str(tmp_path / "empty-site"))
    assert nobody.returncode == 0 and "contacts' names" not in nobody.stdout  # no contacts: nothing to warn of
    notes = tmp_path / "notes"  # other files, none in the way: published beside them
    notes.mkdir()
    (notes / "README.md").write_text("my notes")
    assert demo("publish", str(notes)).returncode == 0 and (notes / "README.md").read_text() == "my notes"
    assert demo("publish", str(notes)).returncode == 0  # its own site: published over again
    forced = demo("publish", str(www), "--force")
    assert forced.returncode == 0 and not (www / "events" / "party-2024.html").exists()
    assert '<meta name="generator" content="aggregator">' in (www / "index.html").read_text()


def test_with_a_token_publishing_is_refused_unless_public_which_names_nobody(demo, tmp_path):
    configure(demo, token="s3cret-token")
    site = tmp_path / "site"
    refused = demo("publish", str(site))
    assert refused.returncode == 2 and "static site checks no token" in refused.stderr
    assert "Traceback" not in refused.stderr and not site.exists()
    public = demo("publish", str(site), "--public")
    assert public.returncode == 0, public.stderr
    assert "contacts' names" not in public.stdout + public.stderr
    names = [line.split(",")[1] for line in (demo.config.parent / "Connections.csv").read_text().splitlines()[1:]]
    every = b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())
    for last in names:
        assert last.encode() not in every, last
    assert b"s3cret-token" not in every
    assert b"topic: python" in every  # the topics still say why
    forced = demo("publish", str(tmp_path / "forced"), "--force")
    assert forced.returncode == 0 and b"Dana Lee" in (tmp_path / "forced" / "index.html").read_bytes()


def test_public_url_makes_the_subscribe_links_absolute(demo, tmp_path):
    configure(demo, public_url="https://events.example.org/pdx")
    site = tmp_path / "site"
    result = demo("publish", str(site))
    assert result.returncode == 0, result.stderr
    assert "Subscribe: https://events.example.org/pdx/feed.ics" in result.stdout
    index = (site / "index.html").read_text()
    assert 'href="webcal://events.example.org/pdx/feed.ics"' in index
    assert ">https://events.example.org/pdx/feed.ics</code>" in index
    topic = (site / "topics/rust.html").read_text()
    assert 'href="webcal://events.example.org/pdx/topics/rust.ics"' in topic
    assert 'href="../index.html"' in topic  # pages still link each other relatively


def test_bad_folders_and_bad_public_urls_are_one_line_errors(demo, tmp_path):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    result = demo("publish", str(a_file))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    configure(demo, public_url="ftp://example.org/")
    result = demo("publish", str(tmp_path / "site"))
    assert result.returncode == 2
    assert "feed.public_url: must be an http(s) address" in result.stderr


def test_file_names_are_plain_and_unique():
    assert topic_names(["machine learning", "C++", "C#", "Café", "!!"]) == {
        "machine learning": "machine-learning", "C++": "c", "C#": "c-2", "Café": "cafe", "!!": "topic"}
    names = event_names({"f19a5a0396565645": None, "../etc/passwd": None, ".hidden": None})
    assert names["f19a5a0396565645"] == "f19a5a0396565645"
    assert all(len(names[k]) == 16 and names[k].isalnum() for k in ("../etc/passwd", ".hidden"))
