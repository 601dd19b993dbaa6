"""Helpers for suite authors: reads that fail with a line a student understands.

- `sockets`: reads from a socket (exact, up to a marker, to the close, by lines), `step`, and
  `Wait`, which ends a wait once the server sleeps.
- `rawhttp`: HTTP over a raw socket, byte for byte (requests as given, responses as framed).
- `web`: HTTP through `requests`: `ServerSession` (the `http` fixture's class), `expect_status`,
  `media_type`, and `explain`, the WSGI runner's report as feedback.

Import from `grader.testing` itself; the modules are how the code is kept, not an API.
"""

from grader.testing.rawhttp import (
    HttpResponse,
    Received,
    exchange,
    http_request,
    read_raw,
    read_response,
)
from grader.testing.sockets import (
    ENDED,
    IDLE,
    ShortRead,
    Wait,
    recv_all,
    recv_exactly,
    recv_lines,
    recv_some,
    recv_until,
    show,
    socket_error,
    step,
)
from grader.testing.web import WSGI_ERROR, ServerSession, expect_status, explain, media_type

__all__ = ["ENDED", "IDLE", "WSGI_ERROR", "HttpResponse", "Received", "ServerSession", "ShortRead",
           "Wait", "exchange", "expect_status", "explain", "http_request", "media_type",
           "read_raw", "read_response", "recv_all", "recv_exactly", "recv_lines", "recv_some",
           "recv_until", "show", "socket_error", "step"]
