"""One crash costs one test, not every later one.

Before each test that uses the server, the plugin asks `CrashWatch.before_test`: is the server
still running? If it died, the crash is charged to exactly one test, chosen from the evidence and
never from timing: the previous test if it failed (the crash explains that failure, and its
feedback becomes the crash's cause), otherwise this test ("the server had exited after the
previous test": a test whose own checks passed keeps its points). Then the server is restarted
(same DATA_DIR) and the remaining tests run against it, up to a bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from grader.core.results import TestResult
from grader.core.text import crash_cause
from grader.sandbox import OUT_OF_TIME, Server, StartupError
from grader.sandbox.wait import Wait

__all__ = ["Crash", "CrashWatch", "ServerDown"]

_GRACE = 0.3  # s a server may take to exit after the test it crashed in
_LONG_GRACE = 3.0  # the same, when it printed a new traceback during that test
_TRACEBACK = "Traceback (most recent call last)"
_CALM = 0.2  # s asleep without using CPU that end a grace: it is not exiting


class ServerDown(Exception):
    """This test cannot run against a live server; the message is its feedback line."""


@dataclass(frozen=True)
class Crash:
    how: str  # "exited with code 1"
    cause: str  # the last traceback line of its output, or its last line
    test: str  # the title of the test it happened in or after
    when: str = "during"

    def line(self) -> str:
        return f"the server {self.how} {self.when} '{self.test}'" + (
            f": {self.cause}" if self.cause else "")


@dataclass
class CrashWatch:
    max_restarts: int
    server: Server | None = None
    crashes: list[Crash] = field(default_factory=list)
    down: str = ""  # set once the server cannot be brought back: every later test says why
    out_of_time: bool = False  # the server used up the wall-clock budget
    _tracebacks: int = 0  # tracebacks in the current run's output at the last look

    def before_test(self, *, previous: TestResult | None, never_crashed: bool) -> None:
        """Raise ServerDown if this test cannot run against a server that never crashed."""
        if self.server is None:
            return  # not started yet: the server fixture starts it
        if not self.down:
            self._check(previous, this_test_pays=True)
        if self.down:
            raise ServerDown(f"not run: {self.down}")
        if never_crashed and self.crashes:
            raise ServerDown(f"not run: this test needs a server that never crashed, and "
                             f"{self.crashes[0].line()}")

    def after_session(self, *, previous: TestResult | None) -> None:
        if self.server is not None and not self.down:
            self._check(previous, this_test_pays=False, restart=False)
        if self.server is not None and (self.server.out_of_time
                                        or self.server.exited() == OUT_OF_TIME):
            self.out_of_time = True

    def _exited(self, *, failed: bool) -> str | None:
        """After a failed test, give a dying server a moment to be seen dead, so the crash is
        charged to the test it happened in: longer when it has just printed a traceback (it may
        still be exiting, slowly on a loaded machine)."""
        assert self.server is not None
        grace = 0.0
        if failed:
            printed = self.server.current_logs().count(_TRACEBACK)
            grace = _LONG_GRACE if printed != self._tracebacks else _GRACE
            self._tracebacks = printed
        # A server seen asleep, using no CPU, is not dying (a thread's traceback, say).
        wait = Wait(grace, idle=_CALM, activity=self.server.activity)
        while (how := self.server.exited()) is None and not wait.over():
            time.sleep(0.02)
        return how

    def _check(self, previous: TestResult | None, *, this_test_pays: bool,
               restart: bool = True) -> None:
        assert self.server is not None
        how = self._exited(failed=bool(previous and previous.status != "passed"))
        if how is None:
            return
        cause = crash_cause(self.server.current_logs())
        because = f": {cause}" if cause else ""
        charged = previous is not None and previous.status != "passed"
        if previous is not None and charged:
            seen = previous.feedback
            previous.feedback = f"the server {how} during this test{because}" + (
                f" (the test saw: {seen})" if seen else "")
            self.crashes.append(Crash(how, cause, previous.title))
        else:
            self.crashes.append(Crash(how, cause, previous.title if previous else "the start",
                                      when="after"))
        if how == OUT_OF_TIME:  # the budget is for the whole submission: no second one
            self.down, self.out_of_time = f"the server {how}", True
        elif restart and len(self.crashes) > self.max_restarts:
            self.down = (f"the server stopped {len(self.crashes)} times; the grader does not "
                         f"restart it again ({self.crashes[-1].line()})")
        elif restart:
            try:
                self._tracebacks = 0
                self.server.restart()
            except StartupError as exc:
                self.down = f"the server did not start again after it {how}: {exc.reason}"
        if not charged and this_test_pays:
            after = f"after '{previous.title}'" if previous else "before this test"
            again = "" if self.down else "; it was restarted for the next test"
            raise ServerDown(f"the server {how} {after}, so this test could not run"
                             f"{because}{again}")
