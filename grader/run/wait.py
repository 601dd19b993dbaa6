"""Waiting for a server without waiting for nothing: a wait ends at its timeout, or early once
the server has slept through a window, using no CPU (no answer is coming). Used by the crash
watch (is a server that just failed a test exiting?) and, through `grader.testing`, by suites."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["IDLE", "Activity", "Wait", "watching"]

IDLE = 1.0  # s a server may sleep through, using no CPU, before a wait for it ends
_SLICE = 0.1  # s between looks at the server while waiting
_CPU_EPS = 0.02  # CPU seconds that still count as none (a clock tick, a timer firing)

Activity = Callable[[], "tuple[float, bool] | None"]  # () -> (CPU seconds, every thread asleep)
# The running submission's activity, while the plugin's `server` fixture holds it (`watching`);
# a Wait made without `activity` (as suites make them) reads it. None: waits last their timeout.
_watched: Activity | None = None


@contextmanager
def watching(activity: Activity) -> Iterator[None]:
    """While the block runs, every Wait without an `activity` of its own watches this one."""
    global _watched
    _watched = activity
    try:
        yield
    finally:
        _watched = None


class Wait:
    """A wait for the server of at most `timeout` s that ends early once the server has slept
    through IDLE s: every thread asleep and no CPU used while the client waits, so no answer is
    coming (a loaded, throttled or busy server is running or runnable, and is never cut short).
    A class of wrong submissions is then graded in a fraction of the time, with the same
    grades.

        wait = Wait(5)
        while ...:
            sock.settimeout(wait.step())
            try: data = sock.recv(4096)
            except TimeoutError:
                if wait.over(): fail(f"nothing came back{wait.quiet()}")
                continue
            wait.progress()
    """

    def __init__(self, timeout: float, *, idle: float | None = None,
                 activity: Activity | None = None) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._window = idle  # None: IDLE
        self._activity = activity  # None: the running submission's (`watching`)
        self._asleep: tuple[float, float] | None = None  # (since when, CPU seconds then)
        self._idle = False

    @property
    def _look(self) -> Activity | None:
        return self._activity or _watched

    @property
    def window(self) -> float:
        return IDLE if self._window is None else self._window

    def step(self) -> float:
        """How long to block before looking again."""
        left = max(0.01, self.deadline - time.monotonic())
        return min(left, _SLICE) if self._look else left

    def progress(self) -> None:
        """Something arrived: the server is not idle."""
        self._asleep = None

    def over(self) -> bool:
        """Is waiting longer pointless (timeout reached, or the server asleep for the idle
        window)?"""
        now = time.monotonic()
        if now >= self.deadline:
            return True
        look = self._look
        seen = look() if look else None
        if seen is None or not seen[1]:
            self._asleep = None
            return False
        if self._asleep is None or seen[0] - self._asleep[1] > _CPU_EPS:
            self._asleep = (now, seen[0])
            return False
        self._idle = now - self._asleep[0] >= self.window
        return self._idle

    def quiet(self) -> str:
        """How the wait ended, for a feedback line: " for 5 s" or " (asleep, ...)"."""
        if self._idle:
            return f" (it sat idle for {self.window:g} s: blocked, using no CPU)"
        return f" for {self.timeout:g} s"
