"""Helpers shared by the public and hidden web server tests.

The suites speak HTTP over a raw socket (grader.testing's `exchange`, `read_response` and
`read_raw`) instead of using `requests`, so they can send exactly the bytes they mean (`/../`,
malformed request lines, a request in pieces) and read exactly what came back. Responses are read
leniently, as real clients read them: what the reader forgave is in `response.problems`, which
the format test alone charges, once.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.testing import HttpResponse, Received, exchange, http_request, read_raw, show

HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def request_bytes(target: str, method: str = "GET", host: str = "localhost") -> bytes:
    """The suite's plain request for `target`, with `Accept: */*` and `Connection: close`."""
    return http_request(method, target, host=host, headers={"Accept": "*/*"})


@pytest.fixture
def fetch(server, connect) -> Callable[..., HttpResponse]:
    """fetch(target, method="GET", raw=None, timeout=5) -> HttpResponse, on a fresh connection.

    `raw` replaces the whole request with those exact bytes.
    """

    def _fetch(target: str = "/", method: str = "GET", *, raw: bytes | None = None,
               timeout: float = 5.0, what: str | None = None) -> HttpResponse:
        what = what or (f"{method} {target}" if raw is None else f"the request {show(raw)}")
        request = raw if raw is not None else request_bytes(target, method,
                                                            f"{server.host}:{server.port}")
        return exchange(connect(timeout), request, what=what, head_only=method == "HEAD",
                        timeout=timeout)

    return _fetch


@pytest.fixture
def fetch_raw(server, connect) -> Callable[..., Received]:
    """fetch_raw(target, method="GET") -> Received: every byte that arrived for `METHOD target`
    (until the close, or 1 s of quiet after the first byte), whatever its format."""

    def _fetch_raw(target: str, method: str = "GET", timeout: float = 5.0) -> Received:
        sock = connect(timeout)
        sock.sendall(request_bytes(target, method, f"{server.host}:{server.port}"))
        return read_raw(sock, timeout=timeout)

    return _fetch_raw


def links(page: bytes, base: str) -> set[str]:
    """Where a page's links lead, as a browser follows them: each href unescaped, resolved
    against the page's URL path BASE, its path percent-decoded ('/files/my file.txt')."""
    found = set()
    for match in HREF.finditer(page.decode("utf-8", "replace")):
        href = html.unescape(next(g for g in match.groups() if g is not None))
        path = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://server{base}", href)).path
        found.add(urllib.parse.unquote(path))
    return found


@pytest.fixture(scope="session")
def www(assignment_dir: Path) -> Path:
    """The document root's fixture files, as the grader's side sees them."""
    return assignment_dir / "www"


@pytest.fixture(scope="session")
def huge(www: Path) -> bytes:
    """The 16 MiB www/huge.txt (generated, not kept in git: see make_www.py)."""
    from make_www import ensure_huge  # beside this file

    return ensure_huge(www).read_bytes()


@pytest.fixture(scope="session")
def odd(www: Path) -> Path:
    """www/Q&A <draft>/, holding 'fish & chips <menu>.txt' (generated: see make_www.py)."""
    from make_www import ensure_odd

    return ensure_odd(www)


@pytest.fixture(scope="session")
def many(www: Path) -> list[str]:
    """The names of the 1,000 files in www/many/ (generated: see make_www.py)."""
    from make_www import ensure_many, many_names

    ensure_many(www)
    return many_names()


@pytest.fixture(scope="session")
def locked(www: Path) -> bytes:
    """www/locked.txt, which nobody but root may read: its bytes (generated: see make_www.py)."""
    from make_www import LOCKED_TEXT, ensure_locked

    ensure_locked(www)
    return LOCKED_TEXT


@pytest.fixture(scope="session")
def secret(assignment_dir: Path) -> bytes:
    """A file beside the document root (outside it) that no request may return."""
    return (assignment_dir / "secret.txt").read_bytes().strip()


@pytest.fixture
def check_file() -> Callable[..., None]:
    """check_file(response, expected, what=..., types=(...)): a 200 with those exact bytes and,
    when `types` is given, one of those media types."""
    return _check_file


def _check_file(response: HttpResponse, expected: bytes, *, what: str,
                types: tuple[str, ...] | None = None) -> None:
    assert response.status == 200, (
        f"{what}: expected status 200, got {response.status} {response.reason}".rstrip())
    assert types is None or response.content_type in types, (
        f"{what}: expected Content-Type {' or '.join(types)}, got "
        f"{response.headers.get('content-type', 'no Content-Type header')!r}")
    if response.body == expected:
        return
    length = response.content_length()
    if length is not None and length < len(expected) and expected.startswith(response.body):
        raise AssertionError(
            f"{what}: Content-Length says {length} but the file has {len(expected)} bytes, so "
            "the body is cut short: Content-Length must count bytes, not characters")
    body = response.body
    if length == len(expected) and len(body) < length and expected.startswith(body):
        raise AssertionError(
            f"{what}: the connection closed after {len(body)} of the {length} bytes its "
            "Content-Length announced: send all of the file (read it to the end, and send "
            "every piece with sendall: send may take only part of it)")
    said = f", Content-Length said {length}" if length not in (None, len(expected)) else ""
    why = ("; it is the file read in text mode: read files in binary mode ('rb') and send them "
           "unchanged") if body in _as_text(expected) else ""
    raise AssertionError(
        f"{what}: the body is not the file's bytes (expected {len(expected)} bytes, got "
        f"{len(response.body)}{said}): {show(response.body, 24)}{why}")


def _as_text(data: bytes) -> set[bytes]:
    """What a file's bytes become when read in text mode and encoded again: undecodable bytes
    replaced, line endings translated (the evidence for a "binary mode" hint)."""
    found = set()
    for encoding in ("utf-8", "latin-1"):
        text = data.decode(encoding, "replace")
        for variant in (text, text.replace("\r\n", "\n").replace("\r", "\n")):
            found |= {variant.encode("utf-8", "replace"), variant.encode(encoding, "replace")}
    return found - {data}
