"""The grader's probe application: the student's server is started as
`python server.py grader_probes:app` and the suite asks it for one probe per path.

The module also has an `application`, the same probes under the name a server that ignores
CALLABLE would serve: /environ reports which of the two was called (`probe.callable`).

  /environ/...      the environ as JSON (plain values; wsgi.input and wsgi.errors as checks)
  /echo             the body read with wsgi.input.read(CONTENT_LENGTH), sent back
  /stream/gen       a body from a generator, in chunks, one of them empty
  /stream/list      the same chunks from a list
  /stream/empty     no body at all
  /stream/large     16 MiB from a generator, 1 MiB of "A", then of "B", ... "P"
  /status/CODE      status "CODE Probe Reason" with extra headers
  /closing/TOKEN    a body whose iterable records that close() was called ...
  /closed/TOKEN     ... which this reports as JSON {"closed": true|false}
  /raise/before     raises before start_response
  /raise/first      calls start_response, then raises before the first chunk
  /raise/middle     sends some of the body (Content-Length says more), then raises
Anything else is a 404 with a short text body.
"""

import json
import os
import re
import tempfile

CHUNKS = [b"first chunk;", b"", b"second chunk;", b"x" * 5000, b";last"]
_CLOSED = os.path.join(tempfile.gettempdir(), "grader-probe-closed-")  # + token (a file)


def _reply(start_response, status, body, content_type="application/json", extra=()):
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(body))), *extra])
    return [body]


def _environ(environ, called):
    report = {"probe.callable": called}
    for key, value in environ.items():
        if isinstance(value, (str, int, bool)):
            report[key] = value
        elif isinstance(value, tuple):
            report[key] = list(value)
        else:
            report[key] = f"<{type(value).__name__}>"
    report["wsgi.input.read"] = callable(getattr(environ.get("wsgi.input"), "read", None))
    errors = environ.get("wsgi.errors")
    report["wsgi.errors.write"] = callable(getattr(errors, "write", None))
    if report["wsgi.errors.write"]:
        errors.write("probe: wsgi.errors works\n")
    return json.dumps(report).encode()


def _gen():
    yield from CHUNKS


def _large():
    for i in range(16):
        yield bytes([65 + i]) * (1 << 20)


class _Closing:
    def __init__(self, token):
        self.token = token

    def __iter__(self):
        yield b"closing probe"

    def close(self):
        with open(_CLOSED + self.token, "w"):
            pass


def _raise_first(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    raise RuntimeError("probe: raised before the first chunk")
    yield b""  # a generator: the exception comes at the first next()


def _raise_middle():
    yield b"part of the body;"
    raise RuntimeError("probe: raised in the middle of the body")


def app(environ, start_response):
    """The probe application, the CALLABLE the grader names."""
    return _probe(environ, start_response, "app")


def application(environ, start_response):
    """The same probes, for a server that serves `application` whatever it was told."""
    return _probe(environ, start_response, "application")


def _probe(environ, start_response, called):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/environ"):
        return _reply(start_response, "200 OK", _environ(environ, called))
    if path == "/echo":
        length = environ.get("CONTENT_LENGTH") or "0"
        body = environ["wsgi.input"].read(int(length))
        return _reply(start_response, "200 OK", body, "application/octet-stream")
    if path.startswith("/stream/"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return {"gen": _gen, "list": lambda: list(CHUNKS), "empty": list,
                "large": _large}[path[8:]]()
    if match := re.fullmatch(r"/status/(\d{3})", path):
        return _reply(start_response, f"{match.group(1)} Probe Reason", b"status probe",
                      "text/plain", [("X-Probe-One", "1"), ("X-Probe-Two", "two words")])
    if match := re.fullmatch(r"/closing/(\w+)", path):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
        return _Closing(match.group(1))
    if match := re.fullmatch(r"/closed/(\w+)", path):
        try:
            os.remove(_CLOSED + match.group(1))  # asked once: leave nothing behind in /tmp
            closed = True
        except OSError:
            closed = False
        return _reply(start_response, "200 OK", json.dumps({"closed": closed}).encode())
    if path == "/raise/before":
        raise RuntimeError("probe: raised before start_response")
    if path == "/raise/first":
        return _raise_first(start_response)
    if path == "/raise/middle":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "1000")])
        return _raise_middle()
    return _reply(start_response, "404 Not Found", b"no such probe", "text/plain")
