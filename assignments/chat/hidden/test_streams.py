"""Hidden tests: clients that read slowly, close half their connection, end a line with
"\\r\\n", or pick a name with a space (or spaces around it). The slow reader is last of all
(this file runs after test_robust.py): a server that fails it may stay busy with megabytes for a
while."""

import socket
import threading

import pytest
from conftest import READ_TIMEOUT, ChatClient

FLOOD_LINES, LINE_BYTES = 8192, 1000  # 8 MiB: more than the kernel buffers in between hold


def _slow_client(chat, server, base: str) -> ChatClient:
    """A joined client with a tiny receive buffer, so what it does not read backs up at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    sock.settimeout(READ_TIMEOUT)
    sock.connect((server.host, server.port))
    client = ChatClient(sock, chat.name(base), chat)
    chat.names.add(client.nick)
    chat.clients.append(client)
    client.register()
    chat.joined(client)
    return client


@pytest.mark.points(2)
def test_half_closed_client_is_closed(chat):
    """A client that closes its sending side is announced and its connection closed at once,
    the last one too"""
    ada, bob = chat.join("ada"), chat.join("bob")
    for client, other in ((bob, ada), (ada, None)):  # ada is last: nothing else wakes the server
        client.sock.shutdown(socket.SHUT_WR)  # done talking: recv on the server gives b""
        chat.leave(client)
        if other:
            other.expect_line(f"* {client.nick} left", "when a client closes its side of the "
                              "connection, the others get '* <name> left'")
        rest = client.lines(5, timeout=2)
        assert client.eof, (
            f"{client.nick} closed its sending side (the server's recv returned b''), but the "
            f"server kept the connection open for 2 s"
            f"{' and sent ' + repr(rest[:2]) if rest else ''}: close the socket of a client "
            "that has left")


@pytest.mark.points(1)
def test_who_with_crlf(chat):
    """'/who' ending in "\\r\\n" (as telnet sends it) is the /who command"""
    ada, bob = chat.join("ada"), chat.join("bob")
    ada.send_raw(b"/who\r\n")
    want = "* users: " + ", ".join(sorted((ada.nick, bob.nick)))
    ada.expect_line(want, "'/who\\r\\n' is the /who command (a \\r just before the \\n is "
                    "ignored)")
    bob.expect_nothing("'/who\\r\\n' is a command, not a message for the others")


@pytest.mark.points(1)
def test_name_with_space_is_an_error(chat):
    """Refuses a name with a space in it ('NICK ada lovelace') and keeps the connection open"""
    ada = chat.connect("ada")
    ada.send_line(f"NICK {ada.nick} lovelace")
    ada.expect_error(f"'NICK {ada.nick} lovelace' (a name of two words) gets '! error <reason>'")
    ada.register()


@pytest.mark.points(1)
def test_spaces_around_name(chat):
    """Takes 'NICK  ada ' (spaces around the name) as 'NICK ada'"""
    ada = chat.connect("ada")
    ada.order = chat.ordered(ada)
    ada.send_line(f"NICK  {ada.nick} ")
    got = ada.next_line()
    if got is not None and got.startswith("! error"):
        raise AssertionError(f"spaces before and after the name are not part of it: 'NICK  "
                             f"{ada.nick} ' is 'NICK {ada.nick}', but {ada.nick} got {got!r}")
    assert got == f"* welcome {ada.nick}", (
        f"'NICK  {ada.nick} ' (spaces around the name) is 'NICK {ada.nick}', answered "
        f"'* welcome {ada.nick}': {ada.nick} got "
        f"{repr(got) if got is not None else ada._nothing(2)}")


@pytest.mark.points(3)
def test_slow_reader(chat, server):
    """A client that stops reading while another sends 8 MiB gets every byte later, and the
    others are not kept waiting meanwhile"""
    slow = _slow_client(chat, server, "slow")
    talker, eve = chat.join("talker"), chat.join("eve")
    want = [f"{talker.nick}: {i:05d} {'x' * LINE_BYTES}" for i in range(FLOOD_LINES)]
    want.append(f"{talker.nick}: done")
    flood = "".join(line.partition(": ")[2] + "\n" for line in want).encode()
    talker.sock.settimeout(30)
    threading.Thread(target=talker.sock.sendall, args=(flood,), daemon=True).start()
    stalled = (f"while {slow.nick} was not reading, {eve.nick} stopped getting {talker.nick}'s "
               "lines: never wait on one client (non-blocking sockets, a send buffer each)")
    _read_lines(eve, want, stalled)
    # slow reads a little and stops again: its socket can take some, not all that is queued
    _read_lines(slow, want[:2000], f"{slow.nick} did not get the lines it missed")
    talker.send_line("ping")
    eve.expect_line(f"{talker.nick}: ping", stalled)
    _read_lines(slow, [*want[2000:], f"{talker.nick}: ping"], f"{slow.nick}, reading late, "
                "did not get every line sent while it was not reading", first=2000)


def _read_lines(client: ChatClient, want: list[str], what: str, first: int = 0) -> None:
    """The lines `want`, in order and intact (join/leave notices skipped)."""
    for i, expected in enumerate(want, start=first):
        line = client.next_line(timeout=3)
        while line is not None and line.startswith("* "):
            line = client.next_line(timeout=3)
        if line is None:
            raise AssertionError(f"{what}: it got {i} lines, then {client._nothing(3)}")
        assert line == expected, (
            f"{what}: line {i + 1} is wrong ({len(line)} bytes instead of {len(expected)}): "
            "after a partial send, keep exactly the bytes that were not sent")
