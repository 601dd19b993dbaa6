"""Waits that do not charge the server for the machine's load (issue 20, item 2): time its
threads spent waiting for a CPU, or blocked writing their own output, is added back; and the
/proc readings behind it, from real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from grader.sandbox.base import Activity, tree_activity
from grader.sandbox.wait import STRETCH, Wait

TIER = "process"  # real child processes and their /proc (tests/conftest.py)


def _wait_out(wait: Wait) -> float:
    """Wait as a suite does (nothing arrives) until it is over; the seconds it took."""
    start = time.monotonic()
    while not wait.over():
        time.sleep(wait.step())
    return time.monotonic() - start


@pytest.mark.pure
@pytest.mark.parametrize(("share", "lasts"), [
    (0.0, 0.4),  # a server that had the CPU whenever it wanted: the timeout
    (0.5, 0.8),  # one that waited for a CPU half the time: twice as long
    (1.0, 0.4 * STRETCH),  # never got to run: stretched as far as a wait goes
])
def test_a_wait_adds_back_the_time_the_server_waited_for_a_cpu(share: float, lasts: float) -> None:
    t0 = time.monotonic()
    wait = Wait(0.4, activity=lambda: Activity(1.0, False, share * (time.monotonic() - t0), False))
    took = _wait_out(wait)
    assert lasts - 0.15 < took < lasts + 0.3, took
    assert wait.quiet() == " for 0.4 s"  # the line speaks of the silence the student gets


@pytest.mark.pure
def test_a_server_blocked_on_its_own_output_is_neither_idle_nor_charged() -> None:
    wait = Wait(0.3, idle=0.1, activity=lambda: Activity(1.0, False, 0.0, True))
    took = _wait_out(wait)
    assert took > 0.3 * STRETCH - 0.15, took  # not cut short as idle, and the time added back
    assert "idle" not in wait.quiet()


@pytest.mark.pure
def test_pieces_of_a_whole_wait_end_with_it() -> None:
    whole = Wait(0.3)
    assert whole.piece(10).timeout <= 0.3
    time.sleep(0.35)
    assert whole.expired() and whole.piece(10).timeout == pytest.approx(0.01)


@contextmanager
def _child(code: str) -> Iterator[subprocess.Popen[bytes]]:
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as proc:
        try:
            yield proc
        finally:
            proc.kill()


def test_tree_activity_sees_a_server_blocked_writing_its_output() -> None:
    # Nobody reads its stdout: once the pipe is full, it sleeps in pipe_write.
    with _child("import sys\nwhile True: sys.stdout.buffer.write(b'x' * 65536)") as proc:
        time.sleep(0.5)
        seen = tree_activity(proc.pid)
        assert seen is not None and seen.writing and not seen.asleep, seen


def test_tree_activity_counts_the_time_a_server_waited_for_a_cpu() -> None:
    # Two busy loops pinned to one CPU: each waits for it about half the time.
    code = "import os\nos.sched_setaffinity(0, {0})\nwhile True: pass"
    with _child(code) as proc, _child(code):
        time.sleep(0.3)
        before = tree_activity(proc.pid)
        time.sleep(1.0)
        after = tree_activity(proc.pid)
        assert before is not None and after is not None
        assert 0.2 < after.delayed - before.delayed < 1.0, (before, after)
        assert not after.asleep and not after.writing


def test_tree_activity_sees_a_sleeping_server_asleep() -> None:
    with _child("import socket\ns = socket.create_server(('127.0.0.1', 0))\ns.accept()") as proc:
        time.sleep(0.5)
        seen = tree_activity(proc.pid)
        assert seen is not None and seen.asleep and not seen.writing, seen
