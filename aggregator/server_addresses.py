"""The addresses the server is reached at: a Host header that can be trusted for links, an
address as host:port text, and the machine's LAN address for a server on every interface."""

from __future__ import annotations

import re
import socket

HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                  r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")  # a name, an IPv4 or an [IPv6] literal, a port


def valid_host(host: str) -> bool:
    """A Host header that is a host[:port] as clients send it, nothing a link could be forged from."""
    return len(host) <= 255 and HOST.fullmatch(host) is not None


def address_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def lan_address(host: str) -> str:
    """The address to open for a server bound to `host`: the machine's LAN address when it listens on every
    interface (0.0.0.0, ::), found without sending anything; else `host` itself. Never 0.0.0.0."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # a UDP connect only picks the route: no packet leaves
        found = probe.getsockname()[0]
    except OSError:
        found = ""
    finally:
        probe.close()
    if found and not found.startswith(("0.", "127.")):
        return found
    try:
        for *_, address in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            if not address[0].startswith("127."):
                return address[0]
    except OSError:
        pass
    return "127.0.0.1"
