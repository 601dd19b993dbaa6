"""Hidden tests: path traversal, escaping, HTTP/2.0 and malformed requests (security and
robustness).

Malformed requests and odd paths come last: a server they crash fails only what comes after.
"""

import socket
import struct
import time
import urllib.parse
from typing import NamedTuple

import pytest
from conftest import links, request_bytes

from grader.testing import ENDED, read_raw, show, socket_error

PASSWD = b"root:x:0:0:"  # the first line of /etc/passwd, in the container and on most hosts
UP = "../" * 12  # more than enough to climb from the document root to /


def check_refused(fetch_raw, secret: bytes, targets: list[str], hint: str) -> None:
    """Judge what arrived, whatever its format: a leak first, then a refusal by status line
    (a refusal with a malformed head still refused; the format tests charge the format)."""
    for target in targets:
        raw = fetch_raw(target)
        leaked = [name for name, data in (("secret.txt", secret), ("/etc/passwd", PASSWD))
                  if data in raw.data]
        assert not leaked, (
            f"GET {target} leaked the contents of {leaked[0]}, a file OUTSIDE the document "
            f"root: {hint}")
        if raw.status in (400, 403, 404):
            continue
        if raw.status is not None:
            raise AssertionError(f"GET {target} (outside the document root): expected 403 "
                                 f"Forbidden or 404 Not Found, got {raw.status}")
        got = f"got {show(raw.data)}" if raw.data else "got nothing"
        raise AssertionError(f"GET {target} (outside the document root): expected a response "
                             f"such as 'HTTP/1.1 404 Not Found', {got} before the server "
                             f"{ENDED[raw.ended]}")


@pytest.mark.points(3)
def test_traversal_dotdot(fetch_raw, secret):
    """Never serves files outside the document root through /../ in the path"""
    check_refused(fetch_raw, secret, [
        "/../secret.txt", "/files/../../secret.txt", f"/{UP}etc/passwd",
        f"/docs/{UP}etc/passwd"],
        "refuse any path with a '..' segment, or resolve it and check it is inside DOCROOT")


@pytest.mark.points(2)
def test_traversal_encoded(fetch_raw, secret):
    """Never serves files outside the document root through percent-encoded %2e%2e/"""
    encoded = UP.replace("..", "%2e%2e")
    check_refused(fetch_raw, secret, [
        "/%2e%2e/secret.txt", "/files/%2E%2E/%2E%2E/secret.txt", f"/{encoded}etc/passwd",
        "/" + UP.replace("/", "%2f") + "etc%2fpasswd"],
        "decode the path first, then check it (a check before decoding misses %2e%2e)")


@pytest.mark.points(2)
def test_traversal_absolute(fetch_raw, secret, assignment_dir):
    """Never serves files outside the document root through an absolute path (//etc/passwd)"""
    outside = (assignment_dir / "secret.txt").resolve().as_posix()  # for the process backend
    check_refused(fetch_raw, secret, [
        "//etc/passwd", "/%2Fetc%2Fpasswd", f"/{outside}", "/%2F" + outside.lstrip("/")],
        "os.path.join(root, '/etc/passwd') is '/etc/passwd': strip every leading '/' "
        "and check the result is inside DOCROOT")


@pytest.mark.points(2)
def test_escapes_names(fetch, fetch_raw, odd, check_file):
    """Escapes what it quotes in HTML: names with & and < in a listing, the path on a 404 page"""
    folder = f"/{urllib.parse.quote(odd.name)}/"
    what = f"GET {folder} (the folder {odd.name!r})"
    response = fetch(folder)
    assert response.status == 200, (
        f"{what}: expected a listing with status 200, got {response.status} {response.reason}"
        .rstrip())
    for raw in ("<draft>", "<menu>"):
        assert raw.encode() not in response.body, (
            f"{what}: the listing has {raw!r} in its HTML unescaped, so a browser takes it for "
            "a tag and hides it: escape names with html.escape ('<' becomes '&lt;', '&' "
            "becomes '&amp;')")
    (name,) = (p.name for p in odd.iterdir())
    target = f"/{odd.name}/{name}"
    assert target in links(response.body, f"/{odd.name}/"), (
        f"{what}: no link that leads to {name!r} (unescaped and percent-decoded, as a browser "
        "reads it)")
    check_file(fetch(urllib.parse.quote(target)), (odd / name).read_bytes(),
               what=f"following the listing's link to {name!r}")
    for request, quoted in (("GET /%3Cscript%3Ealert(1)%3C/script%3E.html", b"<script>"),
                            ("<b>BREW</b> /index.html", b"<b>"),
                            ("BR&ltEW /index.html", b"BR&ltEW")):
        method, target = request.split()
        raw = fetch_raw(target, method)
        assert quoted not in raw.data, (
            f"{request}: the {raw.status or 'error'} page quotes the request without escaping "
            f"it ({quoted.decode()!r} is in its HTML as is, which a browser reads as markup): "
            "escape what you quote with html.escape")


@pytest.mark.points(1)
def test_http_version(fetch, server):
    """Answers a request for HTTP/2.0 with 505 HTTP Version Not Supported"""
    what = "GET /hello.txt HTTP/2.0"
    raw = request_bytes("/hello.txt", host=f"{server.host}:{server.port}")
    response = fetch(raw=raw.replace(b"HTTP/1.1", b"HTTP/2.0", 1), what=what)
    assert response.status == 505, (
        f"{what}: expected 505 HTTP Version Not Supported (the server speaks HTTP/1.0 and "
        f"1.1 only: check the version in the request line), got {response.status} "
        f"{response.reason}".rstrip())


def exited(server, wait: float = 3.0) -> str | None:
    """How the server died, if it did (waiting a moment: a dying process closes its sockets
    before its exit is seen)."""
    deadline = time.monotonic() + wait
    while (how := server.exited()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return how


MALFORMED = [
    b"HELLO\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /hello.txt HTTP/1.1 and more\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xa7\xf1\xee\r\n\r\n",  # TLS on a plain port
]


class Answer(NamedTuple):
    status: int | None  # of the status line; None when none came
    said: str  # "500 Internal Server Error": the status line after the version
    data: bytes  # every byte that came
    problem: str  # what came instead of a status line


def status_of(connect, raw: bytes, *, example: str = "HTTP/1.1 400 Bad Request") -> Answer:
    """The answer to `raw`, judged by its status line alone, as the 404 and traversal tests
    do: a head in a bad format is test_well_formed_head's to charge, once."""
    sock = connect()
    try:
        sock.sendall(raw)
        got = read_raw(sock)
    except OSError as exc:
        return Answer(None, "", b"", socket_error(exc))
    if got.status is not None:
        line = got.data.split(b"\n", 1)[0].decode("latin-1").strip()
        return Answer(got.status, line.partition(" ")[2][:60], got.data, "")
    said = f"got {show(got.data)}" if got.data else "got nothing"
    return Answer(None, "", got.data, f"expected a response such as '{example}', {said} "
                                      f"before the server {ENDED[got.ended]}{got.quiet}")


@pytest.mark.points(2)
def test_malformed_request_gets_400(connect, server):
    """Answers a malformed request line with 400 Bad Request"""
    for raw in MALFORMED:
        line = raw.partition(b"\r")[0]
        what = f"the malformed request line {show(line)}"
        got = status_of(connect, raw)
        if got.status is None and (how := exited(server)):
            raise AssertionError(f"{what}: the server {how}; catch the error, answer 400 "
                                 "Bad Request and keep serving")
        assert got.status is not None, f"{what}: {got.problem}; answer 400 Bad Request"
        assert got.status == 400, f"{what}: expected 400 Bad Request, got {got.said}"


@pytest.mark.points(2)
def test_keeps_serving_after_malformed(connect, fetch, server, www, check_file):
    """Keeps serving after malformed requests and clients that hang up early"""
    try:
        for raw in MALFORMED:
            sock = connect()
            sock.sendall(raw)
            sock.close()
        connect().close()  # connects, sends nothing, leaves
        half = connect()
        half.sendall(b"GET /files/alpha.txt HT")
        half.close()
        rude = connect()
        rude.sendall(b"GET /big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rude.close()  # a reset while the server sends a large file
        time.sleep(0.5)
        check_file(fetch("/files/alpha.txt"), (www / "files/alpha.txt").read_bytes(),
                   what="GET /files/alpha.txt")
    except (OSError, AssertionError) as exc:
        how = exited(server)
        why = f"the server {how}" if how else str(exc) or type(exc).__name__
        raise AssertionError(
            f"after malformed requests and clients that hung up early, a normal request failed "
            f"({why}): catch errors for each connection so one bad client never stops the "
            "server") from None


@pytest.mark.points(2)
def test_odd_paths(connect, server, locked):
    """Answers a NUL byte or non-UTF-8 bytes in the path, and an unreadable file, with an error"""
    wrong = []
    for target, what, statuses, hint in (
            ("/hello.txt%00.html", "GET /hello.txt%00.html", (400, 404),
             "a NUL byte in a path makes open() and os.path raise ValueError: answer 400 Bad "
             "Request (or 404)"),
            ("/%ff%fe.txt", "GET /%ff%fe.txt (not UTF-8 once decoded)", (400, 404),
             "answer 400 Bad Request (or 404)"),
            ("/locked.txt", "GET /locked.txt (a file the server may not read)", (403, 404),
             "open() raises PermissionError: answer 403 Forbidden")):
        got = status_of(connect, request_bytes(target, host=f"{server.host}:{server.port}"),
                        example=f"HTTP/1.1 {statuses[0]} ...")
        if got.status is None:
            how = exited(server, wait=1.0)
            if how:
                raise AssertionError("; ".join([*wrong, f"{what}: the server {how}; {hint}"]))
            wrong.append(f"{what}: {got.problem}; {hint}")
            continue
        if target == "/locked.txt" and got.status == 200 and got.data.endswith(locked):
            continue  # a server run as root (the process backend) may read anything
        if got.status not in statuses:
            wrong.append(f"{what}: expected {' or '.join(map(str, statuses))}, got "
                         f"{got.said}; {hint}")
    assert not wrong, "; ".join(wrong)
