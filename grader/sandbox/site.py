"""A client assignment (`kind: client`): the student's program is run once, to completion,
against the course's own site, and the suite reads both sides.

The site (`site/site.py` of the assignment, course code) runs inside the submission's network
sandbox, where only the program reaches it: docker, a container of the runtime image in the
sandbox's network namespace, listening on its loopback; process backend, a process of this
machine on 127.0.0.1 (the process backend is no security boundary). It gets PORT, HOST and
SITE_URL; once it listens it prints one JSON line (anything it wants the suite to know, e.g.
the data it serves), then one JSON line per request it answers (what it saw). The program gets
SITE_URL and `run_timeout` seconds; what it printed on stdout, its exit code, its stderr and the
site's lines come back as a `ProgramRun`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from grader.core.text import crash_cause
from grader.sandbox.base import FILE_CAP, InfraError, Server
from grader.sandbox.wait import Wait

__all__ = ["SITE_READY", "STDOUT_CAP", "ProgramRun", "parse_site_log", "run_program",
           "site_env", "wait_site"]

STDOUT_CAP = 4 * 1024 * 1024  # bytes of the program's stdout the suite gets, at most
SITE_READY = 20.0  # s the course's site may take to print its first line
_LOG_LINES = 20_000  # lines of the site's log read, at most (a flooding program: the rest)


@dataclass(frozen=True)
class ProgramRun:
    """One run of a client program, as the suite sees it."""

    exit_code: int | None  # None: it did not finish in time and was stopped
    ended: str  # how, in words: "exited with code 0", "did not finish within 30 s ..."
    stdout: bytes  # what it printed on stdout (the first STDOUT_CAP bytes)
    output: str  # the tail of its stderr (tracebacks), untrusted
    site: dict[str, Any]  # the site's first line: what it served
    requests: list[dict[str, Any]] = field(default_factory=list)  # a line per request, in order
    duration: float = 0.0  # seconds from its start to its end
    capped: bool = False  # its stdout reached FILE_CAP (then `ended` says so, on both backends)

    @property
    def cause(self) -> str:
        """The line that says why it failed: the last exception line of its stderr, else its
        last line ('' when it printed nothing there)."""
        return crash_cause(self.output)


def site_env(*, port: int, url: str) -> dict[str, str]:
    """The site's environment (the same on both backends)."""
    return {"PORT": str(port), "HOST": "127.0.0.1", "SITE_URL": url, "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def wait_site(first_line: Any, exited: Any, logs: Any) -> None:
    """Until the site printed its first line (`first_line()` true); InfraError when it exits
    first or takes too long: the course's site is broken, never the student's fault."""
    deadline = time.monotonic() + SITE_READY
    pause = 0.01
    while not first_line():
        if exited():
            raise InfraError(f"the course's site exited before it was ready: "
                             f"{crash_cause(logs()) or 'no output'}")
        if time.monotonic() > deadline:
            raise InfraError(f"the course's site was not ready within {SITE_READY:g} s")
        time.sleep(pause)
        pause = min(0.1, pause * 1.5)


def parse_site_log(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the first line, the rest) of the site's JSON lines; a line that does not parse (cut
    short when the site was stopped) is left out."""
    lines = []
    for line in text.splitlines()[:_LOG_LINES]:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return (lines[0] if lines else {}), lines[1:]


def run_program(server: Server, *, timeout: float) -> ProgramRun:
    """Start the site and the program, wait until the program exits or `timeout` s pass
    (counted like every Wait: the time the machine's load took is added back), and read both
    sides. The caller stops `server` (and with it a program still running)."""
    server.start()  # the site first, then the program (it returns once the program runs)
    started = time.monotonic()
    deadline = Wait(timeout, activity=server.activity, output_counts=True)
    how = server.exited()
    while how is None and not deadline.expired():
        time.sleep(0.05)
        how = server.exited()
    duration = round(time.monotonic() - started, 2)
    code = server.exit_code() if how is not None else None
    if how is None:
        how = f"did not finish within {timeout:g} s, so it was stopped"
    # the same line on both backends, however the cap showed (EFBIG, SIGXFSZ, the time limit)
    capped = server.stdout_size() >= FILE_CAP
    if capped:
        how = f"was stopped when its standard output reached the {FILE_CAP >> 20} MiB limit"
    stdout = server.stdout(STDOUT_CAP)
    site, requests = parse_site_log(server.site_log())
    return ProgramRun(exit_code=code, ended=how, stdout=stdout, output=server.logs(), site=site,
                      requests=requests, duration=duration, capped=capped)
