"""The grader's runner: serves MODULE:CALLABLE from the submission with wsgiref, every request
through `wsgiref.validate.validator` (not the student's `__main__`, so conformance cannot be
skipped).

Usage: python wsgi_runner.py MODULE:CALLABLE   (PORT from the environment; the current folder,
the submission, is importable; the assignment's SUPPORT folder, when it has one, comes first, so
a grader-supplied module such as framework's website.py wins over a student's file of that name).

One runner for every WSGI assignment: it is the grader's (grader/runners/), mounted read-only
beside the submission, and an assignment names it as {runners}/wsgi_runner.py.

What went wrong reaches the suite in the response itself: when the validator raises, or any
exception escapes the application (while it is called, iterated or closed), the runner answers
500 with an `X-WSGI-Error` header holding one line, `ExceptionType: message`, and prints the
traceback to stderr (the server's log). A validator error the application caught itself counts
too. Validator warnings are printed, never turned into errors.
"""

import io
import os
import sys
import threading
import traceback
import wsgiref.validate
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.validate import validator  # bound before the submission is imported

ERROR_HEADER = "X-WSGI-Error"
_seen = threading.local()  # the validator's first complaint in this request (thread)
_assert = wsgiref.validate.assert_
_SILENT = {  # the validator's checks that come without a message
    "InputWrapper.read": "wsgi.input.read() needs exactly one argument, the number of bytes "
                         "to read (CONTENT_LENGTH)",
    "InputWrapper.readline": "wsgi.input.readline() takes at most one argument",
    "ErrorWrapper.write": "wsgi.errors.write() needs a str",
    "WriteWrapper.__call__": "the write() callable of start_response needs bytes",
}


def _recording_assert(cond, *args):
    """The validator's own check, remembered: an application that catches the AssertionError
    (a framework's catch-all, around a bad wsgi.input.read()) is still reported."""
    if not cond and getattr(_seen, "error", None) is None:
        where = sys._getframe(1).f_code.co_qualname  # some checks say nothing: name them
        said = " ".join(map(str, args)) or _SILENT.get(where, f"{where}: a check failed")
        _seen.error = f"AssertionError: {said}"
    _assert(cond, *args)


wsgiref.validate.assert_ = _recording_assert


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # No SO_REUSEADDR: Linux lets two sockets that both set it bind one port while neither
    # listens, so without it the port stays ours between bind and listen (see main).
    allow_reuse_address = False


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # one line per request would crowd the log the student reads


def load(spec):
    module_name, _, attr = spec.partition(":")
    # the assignment's support folder first (its website.py wins over a copy), then the submission
    sys.path[1:1] = [p for p in (os.environ.get("SUPPORT"), os.getcwd()) if p]
    module = __import__(module_name)
    return getattr(module, attr or "application")


def runner(app):
    checked = validator(app)

    def run(environ, start_response):
        sent = {}
        body = []

        def capture(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return body.append

        _seen.error = None
        try:
            result = checked(environ, capture)
            try:
                for chunk in result:
                    body.append(chunk)
            finally:
                if hasattr(result, "close"):
                    result.close()
            if "status" not in sent:
                raise AssertionError("the application returned without calling start_response")
        except Exception as exc:  # the validator's AssertionError, or the app's own exception
            traceback.print_exc()
            return report(start_response, _seen.error or f"{type(exc).__name__}: {exc}")
        if _seen.error:
            print(f"wsgiref.validate: {_seen.error} (the application caught it)", file=sys.stderr)
            return report(start_response, _seen.error)
        start_response(sent["status"], sent["headers"])
        return body

    return run


def report(start_response, error):
    """A 500 whose X-WSGI-Error header says what went wrong, in one line."""
    line = error.replace("\r", " ").replace("\n", " ")[:400]
    line = line.encode("latin-1", "replace").decode("latin-1")
    start_response("500 Internal Server Error",
                   [("Content-Type", "text/plain; charset=utf-8"), (ERROR_HEADER, line)])
    return [line.encode("utf-8")]


def main():
    port = int(os.environ.get("PORT", "8000"))
    sys.stderr = io.TextIOWrapper(sys.stderr.buffer, line_buffering=True, errors="replace")
    # Take the port before the submission is imported (and listen only once it loaded): code
    # that serves on PORT by itself at import time cannot answer in the runner's place.
    server = ThreadingServer(("0.0.0.0", port), QuietHandler, bind_and_activate=False)
    with server:
        server.server_bind()
        server.set_app(runner(load(sys.argv[1])))
        server.server_activate()
        print(f"serving {sys.argv[1]} through wsgiref.validate on port {port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
