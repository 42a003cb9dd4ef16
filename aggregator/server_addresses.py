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
    interface (0.0.0.0, ::); else `host` itself. Never 0.0.0.0. Found by asking the kernel for its interfaces'
    addresses: no packet, no route probe, no name lookup leaves the machine."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    addresses = interface_addresses()
    usable = [a for a in addresses if not a.startswith(("127.", "0.", "169.254."))]
    return usable[0] if usable else "127.0.0.1"


SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def interface_addresses() -> list[str]:
    """The IPv4 addresses of this machine's interfaces, in the kernel's order; [] where it cannot be asked
    this way (not Linux)."""
    import struct

    found: list[str] = []
    try:
        import fcntl

        names = [name for _, name in socket.if_nameindex()]
    except (ImportError, OSError):
        return found
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # never connected, never sends
        for name in names:
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:  # an interface without an IPv4 address
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found
