"""Tests talk to servers on this machine only: the guard every test process runs under.

conftest.py installs it in the test process; this folder is put first on PYTHONPATH, so every
Python subprocess a test starts (the real CLI, `aggregator serve`) imports sitecustomize.py
here and installs it too. A connection to anything but loopback, or a name lookup of anything
but localhost, raises instead of leaving the machine.
"""

from __future__ import annotations

import ipaddress
import socket

MESSAGE = "tests talk only to servers on 127.0.0.1"


def _loopback(host: object) -> bool:
    text = (host.decode() if isinstance(host, bytes) else str(host)).split("%")[0]
    if text in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def check_address(address: object) -> None:
    """Refuse a connection to anything but loopback (a Unix socket path is local)."""
    if isinstance(address, tuple) and not _loopback(address[0]):
        raise AssertionError(f"a test tried to reach {address!r}: {MESSAGE}")


def check_lookup(host: object) -> None:
    """Refuse a name lookup that would ask a DNS server: a name other than localhost (an address
    written out is looked up by no one, and connect checks it)."""
    if host is None or _loopback(host):
        return
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        raise AssertionError(f"a test tried to look up {text!r}: {MESSAGE}") from None


def guarded(real_connect, real_connect_ex, real_getaddrinfo):
    """(connect, connect_ex, getaddrinfo) that check first, then call the real ones."""

    def connect(sock, address):
        check_address(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check_address(address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        check_lookup(host)
        return real_getaddrinfo(host, *args, **kwargs)

    return connect, connect_ex, getaddrinfo


def install() -> None:
    """Guard this process for good (a subprocess: it lives only as long as its test)."""
    connect, connect_ex, getaddrinfo = guarded(socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
