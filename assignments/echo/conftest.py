"""Helpers shared by the public and hidden echo tests."""

import pytest

from grader.testing import recv_exactly


@pytest.fixture
def echo(connect):
    """echo(data) -> what the server sent back for it, on a fresh connection."""

    def _echo(data: bytes, timeout: float = 5.0) -> bytes:
        sock = connect(timeout)
        sock.sendall(data)
        return recv_exactly(sock, len(data), timeout=timeout)

    return _echo
