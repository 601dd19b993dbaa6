"""Text that came from a submission (its output, its bytes), made safe and short to show.

Student output is untrusted: control characters are shown, never executed; lines that a CI
runner would obey are prefixed; colour codes are stripped for reading.
"""

from __future__ import annotations

import re

__all__ = ["crash_cause", "last_lines", "neutralise", "printable", "strip_ansi"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# CSI (colours, cursor moves), OSC (titles, links) and two-byte escapes, as terminals parse them
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b.*|^\w+: .+")


def printable(text: str) -> str:
    """Control characters (ANSI escapes included) shown as visible escapes, not executed."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def neutralise(text: str) -> str:
    """Lines a CI runner would read as a workflow command (`::...`, `##[...]`) get a prefix."""
    return "\n".join(f"> {line}" if line.lstrip().startswith(("::", "##[")) else line
                     for line in text.split("\n"))


def strip_ansi(text: str) -> str:
    """Server logs without colour codes (Flask's and others'), for reading as plain text."""
    return _ANSI.sub("", text)


def last_lines(log: str, count: int = 10, *, cap: int = 2000) -> str:
    """The last non-empty lines of a server's output, colour codes stripped, size-capped."""
    lines = [ln.rstrip() for ln in strip_ansi(log).splitlines() if ln.strip()]
    return "\n".join(lines[-count:])[-cap:]


def crash_cause(log: str, *, cap: int = 200) -> str:
    """The line that says why a server stopped: the last exception line of a traceback, else
    its last line of output ('' when it printed nothing)."""
    lines = [ln.strip() for ln in strip_ansi(log).splitlines() if ln.strip()]
    if not lines:
        return ""
    if any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        for ln in reversed(lines):
            if _EXCEPTION.match(ln) and not ln.startswith("File "):
                return ln[:cap]
    return lines[-1][:cap]
