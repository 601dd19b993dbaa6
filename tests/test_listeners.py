"""Readiness and crash causes as pure logic: socket tables, wrong listeners, the line quoted."""

from __future__ import annotations

from grader.core.text import crash_cause, last_lines
from grader.sandbox.listeners import Listener, judge, parse_proc_tcp

TIER = "pure"  # what its tests need (tests/conftest.py)

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001 0 111 1
   1: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001 0 112 1
   2: 0100007F:1F40 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1001 0 113 1
"""
TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F42 00000000000000000000000000000000:0000 0A 0 0 0 0 0 114
   1: 00000000000000000000000001000000:1F43 00000000000000000000000000000000:0000 0A 0 0 0 0 0 115
"""


def test_parse_proc_tcp_keeps_listeners_only() -> None:
    assert parse_proc_tcp(TCP + TCP6) == [
        Listener("0.0.0.0", 8000), Listener("127.0.0.1", 8001), Listener("::", 8002),
        Listener("127.0.0.1", 8003)]


def test_ready_on_a_wildcard_or_a_reachable_address() -> None:
    assert judge([Listener("0.0.0.0", 8000)], port=8000, reachable=set()) == (True, "")
    assert judge([Listener("::", 8000)], port=8000, reachable=set()) == (True, "")
    assert judge([Listener("172.18.0.2", 8000)], port=8000, reachable={"172.18.0.2"})[0]
    assert judge([Listener("127.0.0.1", 8000)], port=8000, reachable={"127.0.0.1"})[0]


def test_nothing_listening_is_no_problem_yet() -> None:
    assert judge([], port=8000, reachable=set()) == (False, "")
    assert judge([Listener("127.0.0.11", 35000)], port=8000, reachable=set()) == (False, "")


def test_every_problem_is_named_in_one_line() -> None:
    ready, line = judge([Listener("127.0.0.1", 8001)], port=8000, reachable=set())
    assert not ready
    assert line.startswith("the server listens on 127.0.0.1:8001: ")
    assert "PORT environment variable (PORT=8000)" in line and "all interfaces" in line
    _, port_only = judge([Listener("0.0.0.0", 8001)], port=8000, reachable=set())
    assert "PORT=8000" in port_only and "interfaces" not in port_only
    _, address_only = judge([Listener("127.0.0.1", 8000)], port=8000, reachable=set())
    assert "all interfaces" in address_only and "PORT" not in address_only


def test_crash_cause_is_the_traceback_line_else_the_last_line() -> None:
    log = ("serving on 8000\nTraceback (most recent call last):\n  File \"server.py\", line 9\n"
           "    path = request.split()[1]\nIndexError: list index out of range\n")
    assert crash_cause(log) == "IndexError: list index out of range"
    assert crash_cause("Usage: server.py <HOST> <PORT>\n\n") == "Usage: server.py <HOST> <PORT>"
    assert crash_cause("") == ""
    assert crash_cause("\x1b[31mboom\x1b[0m\n") == "boom"  # colour codes never reach a student


def test_last_lines_are_capped_and_stripped() -> None:
    log = "".join(f"\x1b[1mline {i}\x1b[0m\n" for i in range(100))
    assert last_lines(log, 3) == "line 97\nline 98\nline 99"
    assert len(last_lines("x" * 10_000, cap=500)) == 500
