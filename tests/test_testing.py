"""grader.testing over real loopback sockets: a short read keeps its evidence, steps name
themselves, socket errors read as sentences."""

from __future__ import annotations

import socket
import struct

import pytest

from grader.testing import ShortRead, recv_exactly, step

TIER = "process"  # real loopback sockets (tests/conftest.py)


@pytest.fixture
def pair():
    """(client, server side) of one loopback TCP connection."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    yield client, accepted
    client.close()
    accepted.close()


@pytest.mark.parametrize("ending", ["quiet", "closed", "reset"])
def test_short_read_keeps_what_arrived_and_how_it_ended(pair, ending: str) -> None:
    client, peer = pair
    peer.sendall(b"abc\n")
    if ending == "closed":
        peer.close()
    elif ending == "reset":
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
    with pytest.raises(ShortRead) as caught:
        recv_exactly(client, 10, timeout=0.3)
    assert caught.value.ended == ending
    # a reset may discard what was still unread; a quiet or closed server's bytes all arrive
    assert caught.value.got in ((b"", b"abc\n") if ending == "reset" else (b"abc\n",))
    assert str(caught.value).startswith("expected 10 bytes, got ")


def test_step_names_the_step_and_keeps_the_evidence(pair) -> None:
    client, peer = pair
    peer.sendall(b"ab")
    with pytest.raises(ShortRead) as caught, step("client 1's second message"):
        recv_exactly(client, 5, timeout=0.2)
    assert str(caught.value).startswith("client 1's second message: expected 5 bytes, got 2")
    assert caught.value.got == b"ab" and caught.value.ended == "quiet"


def test_step_turns_a_refused_connection_into_a_sentence() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        address = listener.getsockname()  # closed at the end of the block: nobody listens
    with pytest.raises(AssertionError) as caught, step("client 2"):
        socket.create_connection(address, timeout=1).close()
    assert str(caught.value) == "client 2: connection refused: the server is no longer listening"


@pytest.mark.parametrize(("activity", "cut_short"), [
    (lambda n: (0.5, True), True),  # asleep, no CPU: no answer is coming
    (lambda n: (0.5 + 0.05 * n, True), False),  # asleep between bursts of work: still working
    (lambda n: (0.5, False), False),  # running or runnable (loaded, throttled): never cut
    (lambda n: None, False),  # unknown (an engine in a VM, macOS): the whole timeout
])
def test_a_wait_ends_early_only_for_a_server_that_sleeps(pair, monkeypatch, activity,
                                                         cut_short: bool) -> None:
    from grader.run import wait

    calls = iter(range(1000))
    monkeypatch.setattr(wait, "IDLE", 0.3)
    client, _ = pair
    with wait.watching(lambda: activity(next(calls))), pytest.raises(ShortRead) as raised:
        recv_exactly(client, 4, timeout=1.5)
    assert raised.value.ended == "quiet"
    assert ("sat idle for 0.3 s" in str(raised.value)) is cut_short, str(raised.value)
    assert ("for 1.5 s" in str(raised.value)) is not cut_short
