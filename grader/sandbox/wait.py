"""Waiting for a server without waiting for nothing, and without blaming it for the machine's
load: a wait ends at its timeout, early once the server has slept through a window using no CPU
(no answer is coming), and late by whatever time the machine's load took from the server or
from the client meanwhile. Used by the crash watch (is a server that just failed a test
exiting?), the server's start and the wall-clock budget, and, through `grader.testing`, by
suites."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

__all__ = ["IDLE", "STRETCH", "Activity", "Look", "Wait", "watching"]

IDLE = 1.0  # s a server may sleep through, using no CPU, before a wait for it ends
# The machine's load may stretch a wait, a test's timer or the wall-clock budget (each counts
# only time the server and its client had to work in) to at most this many times its length.
STRETCH = 4
_SLICE = 0.1  # s between looks at the server while waiting
_CPU_EPS = 0.02  # CPU seconds that still count as none (a clock tick, a timer firing)


class Activity(NamedTuple):
    """What a server's process tree is doing, read from this host's /proc (`tree_activity`)."""

    cpu: float  # CPU seconds so far
    asleep: bool  # no thread running, runnable, or blocked writing to a pipe (its own output)
    delayed: float  # seconds its threads have waited for a CPU so far (the machine's load)
    writing: bool  # a thread is blocked writing to a pipe: its output is not read fast enough


Look = Callable[[], "Activity | None"]  # what the server is doing now
# The running submission's, while the plugin's `server` fixture holds it (`watching`); a Wait
# made without `activity` (as suites make them) reads it. None: waits are wall-clock waits.
_watched: Look | None = None


@contextmanager
def watching(activity: Look) -> Iterator[None]:
    """While the block runs, every Wait without an `activity` of its own watches this one."""
    global _watched
    _watched = activity
    try:
        yield
    finally:
        _watched = None


class Wait:
    """A wait for the server of `timeout` s, counted in time the server and the client had to
    work in: time the server's threads spent waiting for a CPU, the client's thread waiting for
    one, or the server blocked writing its own output (a pipe nobody read fast enough) is added
    back, up to STRETCH times the timeout. So a window of silence only counts while the server
    was free to answer, and a class graded four suites to a core gets the grades each
    submission gets alone.

    It also ends early once the server has slept through IDLE s: every thread asleep and no CPU
    used while the client waits, so no answer is coming. A class of wrong submissions is then
    graded in a fraction of the time, with the same grades.

        wait = Wait(5)
        while ...:
            sock.settimeout(wait.step())
            try: data = sock.recv(4096)
            except TimeoutError:
                if wait.over(): fail(f"nothing came back{wait.quiet()}")
                continue
            wait.progress()

    For "at most T s in all, and at most t s of silence", make pieces of one whole wait:
    `whole = Wait(T)`, then `piece = whole.piece(t)` after each arrival, and stop when
    `whole.expired()` or `piece.over()`.

    `client`: the thread that does the client's work, where another thread looks (a watchdog);
    by default the one that looks.
    """

    def __init__(self, timeout: float, *, idle: float | None = None,
                 activity: Look | None = None, output_counts: bool = False,
                 client: int | None = None) -> None:
        now = time.monotonic()
        self.timeout = timeout
        self.deadline = now + timeout  # moves later by the time the machine's load took
        self._cap = now + timeout * STRETCH
        self._window = idle  # None: IDLE
        self._activity = activity  # None: the running submission's (`watching`)
        self._output_counts = output_counts  # True: time blocked on its output is not added
        self._asleep: tuple[float, float] | None = None  # (since when, CPU seconds then)
        self._idle = False
        self._looked = now  # when the load was last accounted
        self._delayed: float | None = None  # the server's run-queue seconds then
        self._client = client  # the client's thread (a native id); None: whichever looks
        self._mine = _own_delay(client)  # the client's run-queue seconds then
        self.stretched = 0.0  # s added to the timeout for the machine's load

    @property
    def _look(self) -> Look | None:
        return self._activity or _watched

    @property
    def window(self) -> float:
        return IDLE if self._window is None else self._window

    def left(self) -> float:
        """Seconds left before the deadline (as it stands now)."""
        return max(0.0, min(self.deadline, self._cap) - time.monotonic())

    def from_now(self) -> Wait:
        """Read the server's counters now (one look), so the load it meets is added back from
        the start of the wait, not from its first look (for a wait that looks only at its end,
        like the per-test timer)."""
        seen = self._look() if self._look else None
        if seen is not None:
            self._delayed = seen.delayed
        return self

    def piece(self, timeout: float) -> Wait:
        """A wait of at most `timeout` s that ends no later than this one."""
        self.expired()  # the load so far moves this wait's deadline first
        return Wait(min(timeout, max(0.01, self.left())), idle=self._window,
                    activity=self._activity, client=self._client)

    def step(self) -> float:
        """How long to block before looking again."""
        left = max(0.01, min(self.deadline, self._cap) - time.monotonic())
        return min(left, _SLICE) if self._look else left

    def progress(self) -> None:
        """Something arrived: the server is not idle."""
        self._asleep = None

    def expired(self) -> bool:
        """Is the time up (the timeout plus what the machine's load took meanwhile)?"""
        now = time.monotonic()
        if now - self._looked >= _SLICE:
            self._account(now, self._look() if self._look else None)
        return now >= min(self.deadline, self._cap)

    def over(self) -> bool:
        """Is waiting longer pointless (time up, or the server asleep for the idle window)?"""
        now = time.monotonic()
        seen = self._look() if self._look else None
        self._account(now, seen)
        if now >= min(self.deadline, self._cap):
            return True
        if seen is None or not seen.asleep:
            self._asleep = None
            return False
        if self._asleep is None or seen.cpu - self._asleep[1] > _CPU_EPS:
            self._asleep = (now, seen.cpu)
            return False
        self._idle = now - self._asleep[0] >= self.window
        return self._idle

    def _account(self, now: float, seen: Activity | None) -> None:
        """Move the deadline by what the machine's load took since the last look: the longest
        of this thread's wait for a CPU, the server's threads' wait for one, and (all of it)
        while the server was blocked writing its own output."""
        elapsed, mine = now - self._looked, _own_delay(self._client)
        lost = mine - self._mine
        if seen is not None:
            if seen.writing and not self._output_counts:
                lost = elapsed
            elif self._delayed is not None:
                lost = max(lost, seen.delayed - self._delayed)
            self._delayed = seen.delayed
        self._looked, self._mine = now, mine
        lost = min(max(0.0, lost), max(0.0, elapsed))
        self.deadline += lost
        self.stretched += lost

    def quiet(self) -> str:
        """How the wait ended, for a feedback line: " for 5 s" or " (asleep, ...)"."""
        if self._idle:
            return f" (it sat idle for {self.window:g} s: blocked, using no CPU)"
        return f" for {self.timeout:g} s"


def _own_delay(thread: int | None = None) -> float:
    """Seconds a thread of this process (None: the calling one) has waited for a CPU so far (0
    where this cannot be read)."""
    path = "/proc/thread-self/schedstat" if thread is None else \
        f"/proc/self/task/{thread}/schedstat"
    try:
        with open(path) as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0
