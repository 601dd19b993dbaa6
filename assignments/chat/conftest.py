"""Helpers shared by the public and hidden chat tests: a room of buffered line clients.

`chat.join("ada")` connects, registers and returns a `ChatClient`; every client already in the
room checks that it was told "* ada_<n> joined". `chat.connect("ada")` connects without NICK.

Tests share one server. At teardown every client shuts down its side and reads until the
server closes (`Room.close_all`), so no test leaves resets or half-forgotten clients behind; as a
second guard, names get a per-test suffix (`ada_3`), so a late notice about an earlier test's
client ("* bob_2 left") is told apart and skipped.

Lines from different senders are not ordered (the handout says so): a threaded server may
announce ada's join a moment after ada's welcome, when bob has already joined, so bob can get
"* ada joined" before or after its own welcome. Such a notice, about a client that sent NICK
before the reader did, is skipped wherever it lands; nothing the suite checks depends on when a
server's threads happen to run.
"""

from __future__ import annotations

import itertools
import re
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from grader.testing import Wait

READ_TIMEOUT = 2.0  # seconds to wait for one expected line
_NOTICE = re.compile(r"\* (\S+) (joined|left)")


class ChatClient:
    """One connection with a read buffer: the stream may split or coalesce lines anywhere."""

    def __init__(self, sock: socket.socket, nick: str, room: Room) -> None:
        self.sock, self.nick, self.room = sock, nick, room
        self.order: int | None = None  # when it sent NICK, among this test's clients
        self.eof = False
        self._buf = b""
        self._wait: Wait | None = None  # the last wait for a line (how it ended)

    def __repr__(self) -> str:
        return self.nick

    # -- sending ---------------------------------------------------------------------------

    def send_line(self, text: str) -> None:
        self.sock.sendall(text.encode("utf-8") + b"\n")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def register(self, what: str = "") -> None:
        silent = ""
        if not what:
            what = "after 'NICK <name>' the server answers '* welcome <name>'"
            if len(self.room.clients) > 1:  # said only when nothing came: that is the evidence
                silent = ", even while other clients are connected and quiet"
        self.order = self.room.ordered(self)
        self.send_line(f"NICK {self.nick}")
        self.expect_line(f"* welcome {self.nick}", what, silent=silent)

    # -- receiving -------------------------------------------------------------------------

    def next_line(self, timeout: float = READ_TIMEOUT) -> str | None:
        """The next line (notices about earlier tests' clients skipped), or None if nothing
        complete arrives in time or the server closed the connection (then `eof` is set)."""
        wait = self._wait = Wait(timeout)  # cut short once the server sits idle
        while True:
            while b"\n" in self._buf:
                raw, self._buf = self._buf.split(b"\n", 1)
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                if not self.room.is_stale(line, self):
                    return line
            if self.eof:
                return None
            self.sock.settimeout(wait.step())
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                if wait.over():
                    return None
                continue
            except OSError:  # reset
                chunk = b""
            if not chunk:
                self.eof = True
                return None
            self._buf += chunk
            wait.progress()

    def _nothing(self, timeout: float) -> str:
        if self.eof:
            return "the server closed the connection"
        partial = f" (an unfinished line: {self._buf[:60]!r})" if self._buf else ""
        return f"nothing arrived{self._wait.quiet() if self._wait else f' for {timeout:g} s'}" \
            f"{partial}"

    def expect_line(self, expected: str, what: str, timeout: float = READ_TIMEOUT,
                    wrong: dict[str, str] | None = None, silent: str = "") -> None:
        """The next line must be `expected`; `what` names the behaviour for the feedback,
        `wrong` maps a known wrong line to the feedback that names its mistake, and `silent`
        is added to `what` when nothing arrived while the connection stayed open."""
        got = self.next_line(timeout)
        if got is None:
            quiet = silent if not self.eof and not self._buf else ""
            raise AssertionError(f"{what}{quiet}: {self.nick} expected {_short(expected)}, but "
                                 f"{self._nothing(timeout)}")
        if wrong and got in wrong:
            raise AssertionError(f"{wrong[got]}: {self.nick} got {_short(got)}")
        if got != expected and got.startswith(f"{self.nick}: "):
            raise AssertionError(f"a message is never sent back to its sender: {self.nick} got "
                                 f"its own {_short(got)} back")
        if got != expected:
            raise AssertionError(f"{what}: {self.nick} expected {_short(expected)}, got "
                                 f"{_short(got)}")

    def expect_error(self, what: str, timeout: float = READ_TIMEOUT) -> str:
        """The next line must be '! error <reason>'; returns it."""
        got = self.next_line(timeout)
        if got is None:
            raise AssertionError(f"{what}: {self.nick} expected '! error <reason>', but "
                                 f"{self._nothing(timeout)}")
        if not got.startswith("! error "):
            raise AssertionError(f"{what}: {self.nick} expected '! error <reason>', got "
                                 f"{_short(got)}")
        return got

    def expect_nothing(self, what: str, timeout: float = 0.5) -> None:
        got = self.next_line(timeout)
        if got is not None:
            raise AssertionError(f"{what}: {self.nick} should get nothing, got {_short(got)}")

    def lines(self, count: int, timeout: float = READ_TIMEOUT) -> list[str]:
        """Up to `count` lines; stops early when the server goes quiet for `timeout` s."""
        got: list[str] = []
        while len(got) < count:
            line = self.next_line(timeout)
            if line is None:
                break
            got.append(line)
        return got

    def close(self) -> None:
        self.sock.close()

    def finish(self, deadline: float) -> bool:
        """Read whatever is left until the server closes (after our shutdown), then close;
        False if the server had not closed by the deadline.

        Closing a socket with unread data sends a reset, not a clean close: draining first
        keeps a server from seeing an "abrupt disconnect" the test never meant to make.
        """
        closed = True
        try:
            while not self.eof and self.sock.fileno() != -1:
                left = deadline - time.monotonic()
                if left <= 0:
                    closed = False
                    break
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    break
        except TimeoutError:
            closed = False
        except OSError:
            pass
        self.sock.close()
        return closed


class Room:
    """The clients of one test, with names unique to it."""

    server_lingers = False  # set once the server kept a half-closed connection open (one
    # suite run grades one server): test_half_closed_client_is_closed fails for it, and
    # the other tests stop waiting for closes that do not come

    def __init__(self, connect: Callable[..., socket.socket], tag: int) -> None:
        self._connect, self.tag = connect, tag
        self.members: list[ChatClient] = []  # registered, in join order
        self.clients: list[ChatClient] = []  # every connection made
        self.names: set[str] = set()
        self._order: dict[str, int] = {}  # nick -> when it sent NICK

    def name(self, base: str) -> str:
        return f"{base}_{self.tag}"

    def ordered(self, client: ChatClient) -> int:
        """Note that `client` sends NICK now; its place in the join order."""
        return self._order.setdefault(client.nick, len(self._order))

    def is_stale(self, line: str, reader: ChatClient) -> bool:
        """A join/leave notice about a client of an earlier test, or a join notice about a client
        that sent NICK before `reader` did (unordered with the reader's own join: see above)."""
        m = _NOTICE.fullmatch(line)
        if not m:
            return False
        if not m[1].endswith(f"_{self.tag}"):
            return True
        joined_before = self._order.get(m[1], len(self._order))
        return (m[2] == "joined" and reader.order is not None
                and joined_before < reader.order)

    def connect(self, base: str) -> ChatClient:
        """A connected client that has not sent NICK."""
        nick = self.name(base)
        self.names.add(nick)
        client = ChatClient(self._connect(READ_TIMEOUT), nick, self)
        self.clients.append(client)
        return client

    def join(self, base: str, what: str = "") -> ChatClient:
        """Connect, register, and check that everyone already here was told."""
        client = self.connect(base)
        client.register(what)
        self.joined(client)
        return client

    def joined(self, client: ChatClient) -> None:
        """`client` has just registered: the others must each get '* <name> joined'."""
        for other in self.members:
            other.expect_line(f"* {client.nick} joined", "when someone joins, every other "
                              "client gets '* <name> joined'")
        self.members.append(client)

    def leave(self, client: ChatClient) -> None:
        self.members.remove(client)

    def close_all(self, timeout: float = 1.0) -> None:
        """End the test cleanly: every client says it is done (FIN), then reads until the
        server closes, so the next test starts with a server that has forgotten these."""
        for client in self.clients:
            try:
                client.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if Room.server_lingers:  # known not to close: do not make every test wait for it
            timeout = 0.0
        deadline = time.monotonic() + timeout
        if not all([client.finish(deadline) for client in self.clients]):
            Room.server_lingers = True

    def who(self, asker: ChatClient, expected: list[str], what: str) -> None:
        """Ask /who and compare, skipping join/leave notices; ask again for up to 2 s while the
        answer is wrong (the server may not have noticed yet that a client closed)."""
        want = "* users: " + ", ".join(expected)
        deadline = time.monotonic() + 2.0
        while True:
            asker.send_line("/who")
            got = asker.next_line()
            while got is not None and _NOTICE.fullmatch(got):
                got = asker.next_line()
            if got == want or got is None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if got is None:
            raise AssertionError(f"{what}: {asker.nick} sent /who and expected {_short(want)}, "
                                 f"but {asker._nothing(READ_TIMEOUT)}")
        if got != want:
            raise AssertionError(f"{what}: {asker.nick} sent /who and expected {_short(want)}, "
                                 f"got {_short(got)}")


def _short(line: str, limit: int = 80) -> str:
    text = repr(line[:limit])
    return text + (f"... ({len(line)} characters)" if len(line) > limit else "")


@pytest.fixture(scope="session")
def _tags() -> Iterator[int]:
    return itertools.count(1)


@pytest.fixture
def chat(connect: Callable[..., socket.socket], _tags: Iterator[int]) -> Iterator[Room]:
    """A room of chat clients for one test: chat.join("ada"), chat.connect("bob")."""
    room = Room(connect, next(_tags))
    yield room
    room.close_all()
