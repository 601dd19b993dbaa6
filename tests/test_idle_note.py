"""The idle-CPU note as pure logic: which connections in a socket table are clients still
connected, and the note's line (a share of the CPU the server may use, no guessed cause)."""

from __future__ import annotations

from grader.core.results import Record
from grader.run.grade import _busy
from grader.sandbox.base import client_connections

TIER = "pure"  # what its tests need (tests/conftest.py)

HEAD = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"


def _row(local_port: int, state: str, tx: int = 0, remote_port: int = 0x9C40) -> str:
    return (f"   0: 0100007F:{local_port:04X} 0100007F:{remote_port:04X} {state} "
            f"{tx:08X}:00000000 00:00000000 00000000  1001 0 113 1\n")


def test_a_client_counts_while_its_socket_is_open_or_data_drains() -> None:
    port = 8000
    assert client_connections(HEAD + _row(port, "0A", remote_port=0), port) == 0  # listener
    for state in ("01", "03", "04", "05"):  # established .. the server closed, the client not
        assert client_connections(HEAD + _row(port, state), port) == 1, state
    for state in ("06", "08", "09", "0B"):  # the client closed its side
        assert client_connections(HEAD + _row(port, state), port) == 0, state
    assert client_connections(HEAD + _row(port, "08", tx=4096), port) == 1  # still draining
    # the suite's own sockets (a local ephemeral port) and other ports are not the server's
    assert client_connections(HEAD + _row(0x9C41, "01", remote_port=port), port) == 0
    assert client_connections(HEAD + _row(8001, "01"), port) == 0
    assert client_connections("", port) is None  # no table: no evidence either way


def test_the_note_is_a_share_of_the_allowed_cpu_and_names_no_cause() -> None:
    # Before: "kept 687% of a core busy (a loop that polls without blocking, e.g. select() with
    # timeout 0?)" for a server with seven spinning threads under a one-CPU limit.
    line = _busy(Record(idle_cpu=6.87))
    assert "kept 100% of the CPU it may use busy" in line
    assert "select" not in line and "687" not in line
    assert _busy(Record(idle_cpu=0.4)).startswith("note: with no client connected the server "
                                                   "kept 40% of the CPU it may use busy")
    assert _busy(Record(idle_cpu=0.05)) == "" and _busy(Record(idle_cpu=None)) == ""
