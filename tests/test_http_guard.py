"""Hostile answers over the network stay contained: redirects into internal addresses,
robots.txt read as RFC 9309 says, escape sequences in server text. All offline: made-up
public names are given addresses by a fake resolver whose connections reach the local server."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from aggregator.config import FetchSettings
from aggregator.errors import SourceError
from aggregator.http import Http, Resolver, internal_kind
from tests.conftest import Cli, write_config
from tests.localserver import LocalServer

PUBLIC_ADDRESS = "93.184.215.14"  # a global address; never dialled for real
OTHER_PUBLIC_ADDRESS = "151.101.1.69"


class FakeNet(Resolver):
    """DNS answers from a table; connections to the 'public' addresses land on local servers."""

    def __init__(self, names: dict[str, str], wires: dict[str, int]):
        self.names, self.wires = names, wires
        self.looked_up: list[str] = []

    def addresses(self, host: str, port: int) -> list[str]:
        self.looked_up.append(host)
        if host in self.names:
            return [self.names[host]]
        return super().addresses(host, port)

    def connect(self, address: str, port: int, timeout):
        if address in self.wires:
            return socket.create_connection(("127.0.0.1", self.wires[address]), timeout)
        return super().connect(address, port, timeout)


def public_http(server: LocalServer, other: LocalServer | None = None, **names: str) -> Http:
    wires = {PUBLIC_ADDRESS: server.port}
    if other is not None:
        wires[OTHER_PUBLIC_ADDRESS] = other.port
    resolver = FakeNet({"public.test": PUBLIC_ADDRESS, "other.test": OTHER_PUBLIC_ADDRESS, **names}, wires)
    return Http(FetchSettings(per_host_delay=0, timeout=5, retries=0), resolver=resolver, sleep=lambda s: None)


def public_url(server: LocalServer, path: str, host: str = "public.test") -> str:
    return f"http://{host}:{server.port}{path}"


@pytest.fixture
def other_server():
    srv = LocalServer()
    yield srv
    srv.close()


def test_the_fake_public_name_really_reaches_the_local_server(server):
    # Guards the test set-up itself: without this, every refusal below could be a connection failure.
    server.add("/events.ics", b"BEGIN:VCALENDAR")
    response = public_http(server).get(public_url(server, "/events.ics"))
    assert response.content == b"BEGIN:VCALENDAR"
    assert server.hits_for("/events.ics")[0].headers["host"].startswith("public.test")


def test_a_public_source_redirecting_to_loopback_is_refused(server):
    server.add("/admin", b"internal service page")
    server.add("/events", b"", 302, headers={"Location": server.url("/admin")})
    with pytest.raises(SourceError) as caught:
        public_http(server).get(public_url(server, "/events"))
    message = str(caught.value)
    assert "127.0.0.1 is a loopback address" in message and "refused" in message
    assert server.hits_for("/admin") == []  # the internal page was never requested


def test_a_redirect_to_a_name_resolving_to_a_private_address_is_refused(server):
    server.add("/admin", b"internal service page")
    server.add("/events", b"", 301, headers={"Location": f"http://intranet.test:{server.port}/admin"})
    http = public_http(server, **{"intranet.test": "10.1.2.3"})
    with pytest.raises(SourceError, match=r"intranet.test, which resolves to 10.1.2.3 is a private address"):
        http.get(public_url(server, "/events"))
    assert server.hits_for("/admin") == []


def test_link_local_metadata_address_is_refused_too(server):
    server.add("/events", b"", 307, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(SourceError, match="169.254.169.254 is a link-local address"):
        public_http(server).get(public_url(server, "/events"))


def test_a_source_whose_own_url_is_local_may_redirect_locally(server):
    # The user chose a local URL: a redirect within it is theirs to make.
    server.add("/old", b"", 302, headers={"Location": "/new"})
    server.add("/new", b"ok")
    assert public_http(server).get(server.url("/old")).content == b"ok"


def test_public_to_public_redirects_still_work(server, other_server):
    server.add("/events", b"", 302, headers={"Location": public_url(other_server, "/cal.ics", "other.test")})
    other_server.add("/cal.ics", b"moved")
    response = public_http(server, other_server).get(public_url(server, "/events"))
    assert response.content == b"moved" and response.url.startswith("http://other.test")


def test_robots_of_every_host_a_redirect_reaches_is_checked(server, other_server):
    server.add("/events", b"", 302, headers={"Location": public_url(other_server, "/private/cal.ics", "other.test")})
    other_server.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    other_server.add("/private/cal.ics", b"secret")
    with pytest.raises(SourceError, match="robots.txt of other.test.* disallows /private/cal.ics"):
        public_http(server, other_server).get(public_url(server, "/events"))
    assert other_server.hits_for("/private/cal.ics") == []
    assert other_server.hits_for("/robots.txt")[0].headers["user-agent"].startswith("aggregator/")


def test_a_redirect_to_another_scheme_is_refused(server):
    server.add("/events", b"", 302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(SourceError, match="only http"):
        public_http(server).get(public_url(server, "/events"))


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.8", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("::ffff:127.0.0.1", "loopback"),
    ("0.0.0.0", "unspecified"), ("100.64.0.1", "non-public"), ("93.184.215.14", None),
    ("2606:4700::1111", None),
])
def test_internal_kinds(address, kind):
    assert internal_kind(address) == kind


# -- robots.txt, RFC 9309 ---------------------------------------------------------------------
def test_robots_wildcard_and_end_anchor_are_understood(server):
    # urllib.robotparser ignored "*" and "$" and fetched the calendar.
    server.add("/robots.txt", b"User-agent: *\nDisallow: /*.ics$\n")
    server.add("/cal/team.ics", b"BEGIN:VCALENDAR")
    server.add("/cal/team.ics.html", b"<html>")
    http = public_http(server)
    with pytest.raises(SourceError, match="disallows /cal/team.ics"):
        http.get(server.url("/cal/team.ics"))
    assert http.get(server.url("/cal/team.ics.html")).content == b"<html>"  # "$" anchors at the end
    assert server.hits_for("/cal/team.ics") == []


def test_robots_longest_match_lets_a_specific_allow_win(server):
    # urllib.robotparser took the first matching rule, "Disallow: /", and refused this.
    server.add("/robots.txt", b"User-agent: *\nDisallow: /\nAllow: /calendar.ics\n")
    server.add("/calendar.ics", b"BEGIN:VCALENDAR")
    server.add("/other", b"no")
    http = public_http(server)
    assert http.get(server.url("/calendar.ics")).content == b"BEGIN:VCALENDAR"
    with pytest.raises(SourceError, match="disallows /other"):
        http.get(server.url("/other"))


# -- escape sequences in server text ------------------------------------------------------------
def test_escape_sequences_in_a_reason_phrase_do_not_reach_the_message(server):
    server.add("/events", b"", 404, reason="Not Found\x1b]8;;http://evil\x07click\x1b]8;;\x07\x1b[2J")
    with pytest.raises(SourceError) as caught:
        public_http(server).get(server.url("/events"))
    message = str(caught.value)
    assert message.startswith("HTTP 404 Not Found")
    assert "\x1b" not in message and "\x07" not in message


def test_escape_sequences_in_a_redirect_target_do_not_reach_the_message(server):
    server.add("/events", b"", 302, headers={"Location": "gopher://x/\x1b[31mred"})
    with pytest.raises(SourceError) as caught:
        public_http(server).get(server.url("/events"))
    assert "\x1b" not in str(caught.value) and "only http" in str(caught.value)


def test_a_hostile_reason_phrase_is_stored_and_shown_without_escapes(tmp_path, server):
    # Regression (issue 11, item 7): the raw reason phrase became the source's stored last error.
    url = server.add("/events.ics", b"", 503, reason="Busy\x1b[2J\x1b]0;pwned\x07")
    cli = Cli(write_config(tmp_path, [{"name": "hostile", "kind": "ics", "url": url}]))
    fetched = cli("fetch")
    assert "\x1b" not in fetched.stdout + fetched.stderr
    listed = cli("sources")
    assert listed.returncode == 0, listed.stderr
    assert "HTTP 503 Busy" in listed.stdout and "\x1b" not in listed.stdout and "\x07" not in listed.stdout


def test_a_name_is_resolved_once_per_run_so_a_second_dns_answer_cannot_swap_in_an_internal_address(server):
    # DNS rebinding: the address checked must be the address connected to, for the whole run.
    server.add("/a", b"", 302, headers={"Location": "/b"})
    server.add("/b", b"ok")
    http = public_http(server)
    assert http.get(public_url(server, "/a")).content == b"ok"
    assert http.get(public_url(server, "/a")).content == b"ok"
    assert http.resolver.looked_up.count("public.test") == 1


def test_a_redirect_to_another_host_waits_that_hosts_interval(server, other_server):
    """Per-host spacing holds for a redirect's hop too: a source redirecting to a host we just
    asked does not make us ask it again at once."""
    server.add("/events", b"", 302, headers={"Location": public_url(other_server, "/cal.ics", "other.test")})
    other_server.add("/cal.ics", b"moved")
    sleeps: list[float] = []
    resolver = FakeNet({"public.test": PUBLIC_ADDRESS, "other.test": OTHER_PUBLIC_ADDRESS},
                       {PUBLIC_ADDRESS: server.port, OTHER_PUBLIC_ADDRESS: other_server.port})
    http = Http(FetchSettings(per_host_delay=30, timeout=5, retries=0), resolver=resolver, sleep=sleeps.append)
    http.get(public_url(other_server, "/cal.ics", "other.test"))  # other.test was just asked
    assert sleeps == []
    assert http.get(public_url(server, "/events")).content == b"moved"
    assert len(sleeps) == 1 and 25 < sleeps[0] <= 30  # the hop to other.test waited its turn
    http.get(public_url(other_server, "/cal.ics", "other.test"))
    assert len(sleeps) == 2 and 25 < sleeps[1] <= 30  # and the hop counts as other.test's last request


def test_the_suite_itself_refuses_to_leave_the_machine():
    """The guard every test process runs under (tests/offline/netguard.py): a connection anywhere but
    loopback, or a name lookup, fails instead of leaving the machine. Checked on the guard's own
    checks and on which functions the socket module holds, never by trying to get out."""
    from tests.offline import netguard

    for address in (("192.0.2.1", 80), ("2001:db8::1", 443, 0, 0), ("10.0.0.7", 8080)):
        with pytest.raises(AssertionError, match="tests talk only to servers on 127.0.0.1"):
            netguard.check_address(address)
    for name in ("example.org", "www.meetup.com", b"lu.ma"):
        with pytest.raises(AssertionError, match="tests talk only to servers on 127.0.0.1"):
            netguard.check_lookup(name)
    for address in (("127.0.0.1", 80), ("::1", 80, 0, 0), ("localhost", 80), "/tmp/a.sock"):
        netguard.check_address(address)
    for name in ("localhost", "127.0.0.1", "192.0.2.1", None):
        netguard.check_lookup(name)  # an address written out asks no DNS server: connect checks it
    # In this process (conftest) ...
    assert socket.socket.connect.__module__ == socket.getaddrinfo.__module__ == netguard.__name__
    # ... and in every Python process a test starts (tests/offline/sitecustomize.py).
    code = "import socket; print(socket.socket.connect.__module__, socket.getaddrinfo.__module__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["netguard", "netguard"], result.stderr
