"""Hidden tests: bursts, split and long lines, many clients, rude clients, bad names."""

import socket
import struct
import threading
import time

import pytest

SENDERS, LINES = 5, 100


def _send_in_pieces(client, data: bytes, piece: int, pause: float) -> None:
    """Send `data` in pieces that cut lines anywhere, pausing so each is its own segment."""
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for start in range(0, len(data), piece):
        client.send_raw(data[start : start + piece])
        time.sleep(pause)


@pytest.mark.points(4)
def test_burst_nothing_lost(chat):
    """5 clients send 100 lines each at once: everyone gets every line, once, in order"""
    clients = [chat.join(f"c{i}") for i in range(SENDERS)]
    sent = {c.nick: [f"line {n:03d} from {c.nick}" for n in range(LINES)] for c in clients}
    errors: list[BaseException] = []

    def burst(client) -> None:
        try:
            data = "".join(f"{text}\n" for text in sent[client.nick]).encode()
            _send_in_pieces(client, data, piece=333, pause=0.02)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=burst, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors, f"the server broke the connection during a burst ({errors[0]!r})"
    expected_total = (SENDERS - 1) * LINES
    for receiver in clients:
        got = receiver.lines(expected_total, timeout=3.0)
        extra = receiver.next_line(timeout=0.1)  # everything was sent: no more should come
        if extra is not None:
            got.append(extra)
        by_sender: dict[str, list[str]] = {c.nick: [] for c in clients if c is not receiver}
        for line in got:
            name, sep, text = line.partition(": ")
            if name == receiver.nick:
                raise AssertionError(f"a message is never sent back to its sender: during a "
                                     f"burst {receiver.nick} got its own {line[:80]!r} back")
            if not sep or name not in by_sender:
                raise AssertionError(f"during a burst {receiver.nick} got {line[:80]!r}, which is "
                                     "not '<name>: <text>' from another client: each line sent "
                                     "is one message, with its sender's name in front")
            by_sender[name].append(text)
        for name, texts in by_sender.items():
            want = sent[name]
            if texts == want:
                continue
            wrong = [t for t in texts if t not in want]
            if wrong:
                raise AssertionError(f"during a burst {receiver.nick} got {name}: {wrong[0]!r}, "
                                     f"a line {name} never sent (a line cut in pieces? keep "
                                     "received bytes until '\\n' completes a line)")
            missing = [t for t in want if t not in texts]
            if missing:
                raise AssertionError(f"during a burst {receiver.nick} got only {len(texts)} of "
                                     f"the {LINES} lines {name} sent; first missing: "
                                     f"{missing[0]!r}")
            if len(texts) > len(want):
                raise AssertionError(f"during a burst {receiver.nick} got {len(texts)} lines from"
                                     f" {name}, who sent {LINES}: lines were duplicated")
            raise AssertionError(f"during a burst the lines from {name} reached {receiver.nick} "
                                 "out of order")


@pytest.mark.points(2)
def test_line_split_across_segments(chat):
    """A line that arrives in several TCP segments is one message"""
    ada, bob = chat.join("ada"), chat.join("bob")
    _send_in_pieces(ada, b"hel", piece=3, pause=0.3)
    _send_in_pieces(ada, b"lo, wor", piece=7, pause=0.3)
    ada.send_raw(b"ld\n")
    bob.expect_line(f"{ada.nick}: hello, world", "a line sent in three pieces is one message: "
                    "keep received bytes until '\\n' completes a line")


@pytest.mark.points(2)
def test_long_line(chat):
    """A line of 50,000 characters arrives whole, as one message"""
    ada, bob = chat.join("ada"), chat.join("bob")
    text = "".join(chr(ord("a") + i % 26) for i in range(50_000))
    data = f"{text}\n".encode()
    ada.send_raw(data[:40_000])  # most of it first: the server holds 40,000 bytes of one line
    time.sleep(0.2)
    ada.send_raw(data[40_000:])
    bob.expect_line(f"{ada.nick}: {text}", "a 50,000-character line is one message, "
                    "delivered whole (recv returns it in pieces)", timeout=3.0,
                    wrong={f"* {ada.nick} left": "a 50,000-character line is under the 64 KiB "
                           "limit: deliver it, do not drop its sender"})


LIMIT = 1 << 16  # the handout's limit: a line may have up to 64 KiB before its "\n"
OVER = LIMIT * 3 // 2  # well past the limit, well short of twice it


@pytest.mark.points(1)
def test_line_limit(chat):
    """Drops a client that sends more than 64 KiB without a newline, like one that left"""
    ada, bob = chat.join("ada"), chat.join("bob")
    try:
        bob.send_raw(b"z" * OVER)  # no newline: it may be cut off
    except OSError:
        pass  # dropped while still sending: a reset, as it should be
    chat.leave(bob)
    what = (f"a client that sends more than 64 KiB without a '\\n' is dropped like one that "
            f"left ({bob.nick} sent {OVER:,} bytes without one)")
    ada.expect_line(f"* {bob.nick} left", f"{what}: the others get '* <name> left'")
    rest = bob.lines(5, timeout=2)
    assert bob.eof, (f"{what}: {bob.nick} was announced as gone, but its connection stayed open "
                     f"for 2 s{' and got ' + repr(rest[:2]) if rest else ''}: close it")


@pytest.mark.points(1)
def test_utf8_text(chat):
    """Passes non-ASCII text through unchanged"""
    ada, bob = chat.join("ada"), chat.join("bob")
    ada.send_line("grüße, ça va? ✓ 你好")
    bob.expect_line(f"{ada.nick}: grüße, ça va? ✓ 你好", "UTF-8 text goes through unchanged")


@pytest.mark.points(3)
def test_abrupt_disconnect(chat):
    """Announces a client that vanishes abruptly (reset) and keeps serving the others"""
    ada, bob, carol = chat.join("ada"), chat.join("bob"), chat.join("carol")
    carol.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    carol.close()  # SO_LINGER 0: close sends RST, not FIN
    chat.leave(carol)
    for other in (ada, bob):
        other.expect_line(f"* {carol.nick} left", "when a client disconnects abruptly "
                          "(connection reset), the others get '* <name> left'")
    ada.send_line("still here?")
    bob.expect_line(f"{ada.nick}: still here?", "after a client reset its connection the "
                    "server keeps serving the others")


@pytest.mark.points(1)
def test_who_forgets_who_left(chat):
    """/who no longer lists a client that left"""
    ada, bob = chat.join("ada"), chat.join("bob")
    bob.close()
    chat.leave(bob)
    chat.who(ada, [ada.nick], "/who lists only the clients still connected")


@pytest.mark.points(2)
def test_silent_clients_do_not_block(chat):
    """Clients that send nothing, or half a line, do not hold up the others"""
    chat.connect("silent")  # connects, then never sends a byte
    half = chat.connect("half")
    half.send_raw(b"NICK ha")  # no "\n": the server must not wait for the rest
    what = ("while one client sends nothing and another half a line, the others still join and "
            "chat: never wait on one client")
    ada = chat.join("ada", what)
    bob = chat.join("bob", what)
    ada.send_line("anyone there?")
    bob.expect_line(f"{ada.nick}: anyone there?", what)


@pytest.mark.points(2)
def test_twenty_clients(chat):
    """20 clients at once: one speaks, the 19 others all hear it; /who lists all 20"""
    clients = [chat.join(f"user{i:02d}") for i in range(20)]
    speaker = clients[7]
    speaker.send_line("hello, crowd")
    for other in clients:
        if other is not speaker:
            other.expect_line(f"{speaker.nick}: hello, crowd", "with 20 clients connected, a "
                              "line reaches all 19 others")
    chat.who(clients[0], sorted(c.nick for c in clients), "/who lists all 20 clients, sorted")


@pytest.mark.points(2)
def test_no_chat_before_nick(chat):
    """A client that has not sent NICK yet gets no messages or notices"""
    early = chat.connect("early")
    ada, bob = chat.join("ada"), chat.join("bob")
    ada.send_line("not for early")
    bob.expect_line(f"{ada.nick}: not for early", "a line goes to every other client as "
                    "'<name>: <text>'")
    early.send_line(f"NICK {early.nick}")
    early.expect_line(f"* welcome {early.nick}", "a client that has not sent NICK yet gets no "
                      "messages or notices: its first line is the welcome")


@pytest.mark.points(1)
def test_late_joiner_gets_no_replay(chat):
    """A client that joins later gets only what is said after it joined"""
    ada, bob = chat.join("ada"), chat.join("bob")
    ada.send_line("before carol")
    bob.expect_line(f"{ada.nick}: before carol", "a line goes to every other client as "
                    "'<name>: <text>'")
    carol = chat.join("carol")
    ada.send_line("after carol")
    carol.expect_line(f"{ada.nick}: after carol", "a client that joins later gets no replay "
                      "of earlier messages")


@pytest.mark.points(1)
def test_empty_name_is_an_error(chat):
    """Answers 'NICK' with an empty name with '! error ...' and keeps the connection open"""
    ada = chat.connect("ada")
    for line in ("NICK", "NICK "):
        ada.send_line(line)
        ada.expect_error(f"{line!r} (an empty name) gets '! error <reason>'")
    ada.register()


@pytest.mark.points(2)
def test_taken_name_is_an_error(chat):
    """Refuses a name that is already taken, with '! error ...', and keeps the connection open"""
    ada = chat.join("ada")
    bob = chat.connect("bob")
    bob.send_line(f"NICK {ada.nick}")
    bob.expect_error("a name that is already taken gets '! error <reason>'")
    bob.register()
    ada.expect_line(f"* {bob.nick} joined", "a refused NICK is not announced; a good one is: "
                    "every other client gets '* <name> joined'")
