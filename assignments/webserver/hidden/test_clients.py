"""Hidden tests: a large file, requests that arrive in pieces, several clients at once."""

import socket
import time

import pytest

FILES = [("/", "index.html"), ("/hello.txt", "hello.txt"), ("/images/logo.png", "images/logo.png"),
         ("/images/photo.jpg", "images/photo.jpg"), ("/data/blob.dat", "data/blob.dat"),
         ("/css/style.css", "css/style.css"), ("/js/app.js", "js/app.js"),
         ("/data/info.json", "data/info.json")]


@pytest.mark.points(3)
def test_large_file(fetch, www, check_file):
    """Serves a 5 MiB file whole and byte for byte"""
    expected = (www / "big.txt").read_bytes()
    check_file(fetch("/big.txt", timeout=15), expected,
               what=f"GET /big.txt ({len(expected)} bytes; sendall, not send)",
               types=("text/plain",))


@pytest.mark.points(2)
def test_request_in_pieces(connect, server, read_response, www, check_file):
    """Handles a request that arrives in several pieces, 0.3 s apart"""
    pieces = [b"GE", b"T /hello", b".txt HTTP/1.1\r\nHo",
              f"st: {server.host}\r\nConnection: close\r\n".encode(), b"\r\n"]
    sock = connect()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece its own segment
    for piece in pieces:
        time.sleep(0.3)
        try:
            sock.sendall(piece)
        except OSError:
            raise AssertionError(
                f"the server closed the connection after the first {pieces.index(piece)} of "
                f"{len(pieces)} pieces of a request: keep calling recv until the blank line "
                "that ends the headers") from None
    try:
        response = read_response(sock, what="GET /hello.txt sent in 5 pieces 0.3 s apart")
        check_file(response, (www / "hello.txt").read_bytes(),
                   what="GET /hello.txt sent in 5 pieces 0.3 s apart", types=("text/plain",))
    except AssertionError as exc:
        raise AssertionError(f"{exc}; a request may arrive in pieces: keep calling recv until "
                             "the blank line that ends the headers") from None


@pytest.mark.points(2)
def test_slow_client_does_not_block_others(connect, fetch, www, check_file):
    """Serves other clients while one client is still sending its request"""
    slow = connect()
    slow.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: slow\r\n")  # ... and no blank line yet
    time.sleep(0.3)
    try:
        response = fetch("/files/alpha.txt", timeout=3)
    except (OSError, AssertionError) as exc:
        raise AssertionError(
            "while one client was still sending its request, another got no answer within 3 s "
            f"({str(exc).partition(': ')[2] or exc}): serve each client in its own thread "
            "(or use select)") from None
    check_file(response, (www / "files/alpha.txt").read_bytes(),
               what="GET /files/alpha.txt while another client was half-way through its request",
               types=("text/plain",))


@pytest.mark.points(2)
def test_many_clients_at_once(connect, server, read_response, www, check_file):
    """Serves eight clients connected at the same time, each its own file"""
    socks = [connect() for _ in FILES]
    for sock, (target, _) in zip(socks, FILES, strict=True):
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {server.host}\r\n"
                     "Connection: close\r\n\r\n".encode())
    for sock, (target, name) in zip(socks, FILES, strict=True):
        what = f"GET {target} (one of {len(FILES)} clients connected at once)"
        response = read_response(sock, what=what)
        assert response.status == 200, f"{what}: expected status 200, got {response.status}"
        assert response.body == (www / name).read_bytes(), (
            f"{what}: got the wrong bytes ({len(response.body)}); each client must get its own "
            "file")
