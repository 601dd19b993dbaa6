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

When the app raises where no probe means to (say, a server put bytes in the environ), it writes
one line to stderr, `grader_probes: the app raised ...`, naming the exception and any environ
value of the wrong type, and raises on: the server's output reaches the suite, which quotes the
line in the test that saw the failure.
"""

import json
import os
import re
import sys
import tempfile

RAISED = "grader_probes: the app raised "  # the suite looks for this in the server's output


class ProbeError(RuntimeError):
    """An exception a probe raises on purpose (/raise/...): not reported."""


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
    raise ProbeError("probe: raised before the first chunk")
    yield b""  # a generator: the exception comes at the first next()


def _raise_middle():
    yield b"part of the body;"
    raise ProbeError("probe: raised in the middle of the body")


def app(environ, start_response):
    """The probe application, the CALLABLE the grader names."""
    return _probe(environ, start_response, "app")


def application(environ, start_response):
    """The same probes, for a server that serves `application` whatever it was told."""
    return _probe(environ, start_response, "application")


def _probe(environ, start_response, called):
    try:
        return _route(environ, start_response, called)
    except ProbeError:
        raise
    except Exception as exc:
        _report(environ, exc)
        raise


def _report(environ, exc):
    """One line on stderr for the suite: the exception, and the environ values a WSGI server
    must give as str (PEP 3333) that are not."""
    wrong = [f"environ[{key!r}] is {type(value).__name__} ({_short(repr(value))}), not str"
             for key, value in (environ.items() if isinstance(environ, dict) else ())
             if isinstance(key, str) and (key.isupper() or key.startswith("HTTP_"))
             and not isinstance(value, str)]
    line = f"{RAISED}{type(exc).__name__}: {exc}"
    if wrong:
        line += f" ({'; '.join(wrong[:3])})"
    try:
        sys.stderr.write(line.replace("\n", " ")[:400] + "\n")
        sys.stderr.flush()
    except Exception:
        pass  # a server that replaced stderr: the exception itself still propagates


def _short(text, limit=40):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _route(environ, start_response, called):
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
        raise ProbeError("probe: raised before start_response")
    if path == "/raise/first":
        return _raise_first(start_response)
    if path == "/raise/middle":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "1000")])
        return _raise_middle()
    return _reply(start_response, "404 Not Found", b"no such probe", "text/plain")
