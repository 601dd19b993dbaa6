"""Hidden tests: large files and pages, a slow reader, requests in pieces, several clients at
once."""

import socket
import time

import pytest
from conftest import links, request_bytes

from grader.testing import ShortRead, exchange, read_response, socket_error

# Plain ASCII files with LF line endings: this test is about concurrency, not bytes or types.
FILES = ["/files/alpha.txt", "/files/beta.html", "/files/notes/todo.txt", "/docs/guide.txt",
         "/docs/index.html", "/css/style.css", "/js/app.js", "/data/info.json"]


@pytest.mark.points(3)
def test_large_file(fetch, www, check_file):
    """Serves a 5 MiB file whole and byte for byte"""
    expected = (www / "big.txt").read_bytes()
    check_file(fetch("/big.txt", timeout=15), expected,
               what=f"GET /big.txt ({len(expected)} bytes)")


# Loopback socket buffers absorb several MiB (measured: nothing lost up to 4 MiB in flight, half
# lost at 8 MiB), so the file must be well beyond them for a server that drops data to show.
PAUSE = 1.5


@pytest.mark.points(3)
def test_large_file_slow_reader(connect, server, huge, check_file):
    """Serves a 16 MiB file whole to a client that pauses reading for 1.5 s"""
    what = f"GET /huge.txt ({len(huge)} bytes) by a client that did not read for {PAUSE:g} s"
    sock = connect(5)
    sock.sendall(request_bytes("/huge.txt", "GET", f"{server.host}:{server.port}"))
    time.sleep(PAUSE)  # not reading: the server's sends must wait, not fail or drop
    try:
        response = read_response(sock, what=what, timeout=15, idle=3)
    except ShortRead as exc:
        if exc.got and not huge.startswith(exc.got):
            raise AssertionError(
                f"{what}: got {len(exc.got)} bytes of body with pieces missing, then nothing "
                "for 3 s: when the client reads slowly, send() takes only part of the data (or "
                "none), so use sendall, or keep the unsent rest and send it when select says "
                "the socket is writable") from None
        raise
    check_file(response, huge, what=what)


@pytest.mark.points(2)
def test_large_listing(server, many):
    """Sends the listing of a folder of 1,000 files (some 400 kB of HTML) whole"""
    what = f"GET /many/ (a folder of {len(many)} files)"
    # Segments of an Ethernet's size (MSS 1460), as across any real network and in the docker
    # sandbox: loopback's 64 kB segments let the server's send buffer take the whole page in
    # one send() (measured: 400,000 of 400,000 bytes), Ethernet-sized ones do not (some
    # 140,000), so a one-send() server fails on both backends, not only in docker.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1460)
        sock.settimeout(10)
        sock.connect((server.host, server.port))
        response = exchange(sock, request_bytes("/many/", "GET", f"{server.host}:{server.port}"),
                            what=what, timeout=10)
    finally:
        sock.close()
    assert response.status == 200, f"{what}: expected a listing with status 200, got " \
        f"{response.status} {response.reason}".rstrip()
    linked = links(response.body, "/many/")
    found = sum(f"/many/{name}" in linked for name in many)
    length = response.content_length()
    cut = (f" ({len(response.body)} bytes of the {length} its Content-Length announced)"
           if length is not None and len(response.body) < length else "")
    assert found == len(many), (
        f"{what}: the listing links to {found} of them{cut}: send the whole page, with "
        "sendall (send may take only the part that fits in the socket's buffer)")


@pytest.mark.points(2)
def test_request_in_pieces(connect, server, www, check_file):
    """Handles a request that arrives in several pieces, 0.3 s apart"""
    pieces = [b"GE", b"T /docs/gu", b"ide.txt HTTP/1.1\r\nHo",
              f"st: {server.host}\r\nConnection: close\r\n".encode(), b"\r\n"]
    what = f"GET /docs/guide.txt sent in {len(pieces)} pieces 0.3 s apart"
    hint = "a request may arrive in pieces: keep calling recv until the blank line that ends " \
        "the headers"
    sock = connect()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece its own segment
    for i, piece in enumerate(pieces):
        time.sleep(0.3)
        try:
            sock.sendall(piece)
        except OSError:
            raise AssertionError(f"{what}: the server closed the connection after {i} of them; "
                                 f"{hint}") from None
    try:
        check_file(read_response(sock, what=what), (www / "docs/guide.txt").read_bytes(),
                   what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {hint}") from None


@pytest.mark.points(2)
def test_slow_client_does_not_block_others(connect, fetch, www, check_file):
    """Serves other clients while one client is still sending its request"""
    slow = connect()
    slow.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: slow\r\n")  # ... and no blank line yet
    time.sleep(0.3)
    try:
        response = fetch("/files/alpha.txt", timeout=5)
    except (OSError, AssertionError) as exc:
        why = socket_error(exc) if isinstance(exc, OSError) else str(exc)
        raise AssertionError(
            f"while one client was still sending its request, another client got no answer "
            f"({why}): serve clients concurrently (a thread or a process each, or "
            "select)") from None
    check_file(response, (www / "files/alpha.txt").read_bytes(),
               what="GET /files/alpha.txt while another client was half-way through its request")


@pytest.mark.points(2)
def test_many_clients_at_once(connect, server, www, check_file):
    """Serves eight clients connected at the same time, each its own file"""
    socks = [connect() for _ in FILES]
    for sock, target in zip(socks, FILES, strict=True):
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {server.host}\r\n"
                     "Connection: close\r\n\r\n".encode())
    for sock, target in zip(socks, FILES, strict=True):
        what = f"GET {target} (one of {len(FILES)} clients connected at once)"
        response = read_response(sock, what=what)
        assert response.status == 200, f"{what}: expected status 200, got {response.status}"
        assert response.body == (www / target.lstrip("/")).read_bytes(), (
            f"{what}: got the wrong bytes ({len(response.body)}); each client must get its own "
            "file")
