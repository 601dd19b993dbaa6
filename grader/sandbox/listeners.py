"""Is the submission listening where it should? Read from socket tables, never by connecting.

A readiness probe that connects and hangs up is itself a client: servers that crash on an empty
request, or exit after their first client, would be judged on the grader's probe. So readiness is
read from the listening sockets (the namespace's /proc/net/tcp for docker, the process tree's
sockets for the process backend), and a wrong listener is explained in one line at once.
"""

from __future__ import annotations

import socket
from typing import NamedTuple

__all__ = ["Listener", "judge", "normalise", "parse_proc_tcp"]

_WILDCARD = {"0.0.0.0", "::"}


class Listener(NamedTuple):
    address: str
    port: int


def parse_proc_tcp(text: str) -> list[Listener]:
    """The LISTEN sockets in /proc/net/tcp{,6} text (::1 reads as 127.0.0.1)."""
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 10 or parts[3] != "0A" or ":" not in parts[1]:
            continue
        hex_addr, hex_port = parts[1].split(":")
        try:
            raw = bytes.fromhex(hex_addr)
        except ValueError:
            continue
        if len(raw) == 4:
            addr = socket.inet_ntop(socket.AF_INET, raw[::-1])
        elif len(raw) == 16:
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
            addr = socket.inet_ntop(socket.AF_INET6, words)
        else:
            continue
        found.append(Listener(normalise(addr), int(hex_port, 16)))
    return found


def normalise(addr: str) -> str:
    addr = addr.removeprefix("::ffff:")
    return "127.0.0.1" if addr == "::1" else addr


def judge(listeners: list[Listener], *, port: int, reachable: set[str]) -> tuple[bool, str]:
    """(ready, problem): ready when something listens on `port` at an address the grader can
    reach (a wildcard or one of `reachable`); otherwise every problem named in one line."""
    listeners = [ls for ls in listeners if ls.address != "127.0.0.11"]  # docker's own DNS
    ok = _WILDCARD | reachable
    if any(ls.port == port and ls.address in ok for ls in listeners):
        return True, ""
    if not listeners:
        return False, ""
    where = ", ".join(sorted({f"{ls.address}:{ls.port}" for ls in listeners}))
    fixes = []
    if all(ls.port != port for ls in listeners):
        fixes.append(f"read the port from the PORT environment variable (PORT={port})")
    if any(ls.address not in ok for ls in listeners):
        fixes.append("listen on all interfaces (HOST, i.e. 0.0.0.0), not only on loopback, "
                     "so clients can reach it")
    return False, f"the server listens on {where}: {' and '.join(fixes)}"
