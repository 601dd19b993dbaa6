"""Framework, a buggy variant (cookie_flags_ignored).

Bug: set_cookie ignores max_age and httponly.

The rest is the reference:

A tiny web framework on WSGI (the model solution).

    from framework import App, Response, redirect
    app = App()

    @app.route("/hello/<name>")
    def hello(request, name):
        return f"Hello, {name}!"

A view gets a `Request` and the path parameters by name, and returns a str (an HTML page), a
dict (JSON) or a `Response` (`redirect()` makes one). `app` itself is the WSGI application.
"""

import json
import re
import sys
import traceback
from http import HTTPStatus
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

__all__ = ["App", "Request", "Response", "redirect"]

HTML = "text/html; charset=utf-8"


class Headers(dict):
    """Request headers by name, case-insensitive (names are stored in lower case)."""

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)

    def __contains__(self, name):
        return super().__contains__(name.lower())


class Request:
    def __init__(self, environ):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.path = utf8(environ.get("PATH_INFO", "") or "/")
        self.query = first_values(environ.get("QUERY_STRING", ""))
        self.headers = Headers()
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                self.headers[key[5:].replace("_", "-").lower()] = value
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                self.headers[key.replace("_", "-").lower()] = environ[key]
        cookies = SimpleCookie()
        try:
            cookies.load(environ.get("HTTP_COOKIE", ""))
        except Exception:
            pass  # a malformed Cookie header: no cookies
        self.cookies = {name: morsel.value for name, morsel in cookies.items()}
        length = environ.get("CONTENT_LENGTH") or "0"
        self.body = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        media = self.headers.get("content-type", "").split(";")[0].strip().lower()
        self.form = first_values(self.body.decode("utf-8", "replace")) \
            if media == "application/x-www-form-urlencoded" else {}
        self.json = None
        if media == "application/json":
            try:
                self.json = json.loads(self.body)
            except ValueError:
                pass


class Response:
    def __init__(self, body="", status=200, headers=None):
        self.body, self.status = body, status
        self.headers = list((headers or {}).items())
        if not any(name.lower() == "content-type" for name, _ in self.headers):
            self.headers.append(("Content-Type", HTML))

    def set_cookie(self, name, value, path="/", max_age=None, httponly=False):
        cookie = f"{name}={value}; Path={path}"
        self.headers.append(("Set-Cookie", cookie))

    def wsgi(self, start_response):
        data = self.body.encode("utf-8") if isinstance(self.body, str) else bytes(self.body)
        start_response(status_line(self.status),
                       [*((str(k), str(v)) for k, v in self.headers),
                        ("Content-Length", str(len(data)))])
        return [data]


def redirect(location, status=302):
    return Response("", status=status, headers={"Location": location})


class App:
    def __init__(self):
        self.routes = []  # (pattern, methods, view)

    def route(self, path, methods=("GET",)):
        # <name> is one path segment; everything else matches literally, the whole path
        pattern = re.compile(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", re.escape(path)))

        def register(view):
            self.routes.append((pattern, {m.upper() for m in methods}, view))
            return view

        return register

    def __call__(self, environ, start_response):
        try:
            response = self.dispatch(Request(environ))
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = Response("<h1>500 Internal Server Error</h1>", status=500)
        return response.wsgi(start_response)

    def dispatch(self, request):
        allowed = set()
        for pattern, methods, view in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if request.method not in methods:
                allowed |= methods
                continue
            return as_response(view(request, **match.groupdict()))
        if allowed:
            return Response("<h1>405 Method Not Allowed</h1>", status=405,
                            headers={"Allow": ", ".join(sorted(allowed))})
        return Response("<h1>404 Not Found</h1>", status=404)


def as_response(result):
    if isinstance(result, Response):
        return result
    if isinstance(result, dict):
        return Response(json.dumps(result), headers={"Content-Type": "application/json"})
    return Response(str(result))


def status_line(code):
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def first_values(text):
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


def utf8(latin1):
    """PATH_INFO holds the URL's bytes as latin-1 (PEP 3333): read them as UTF-8."""
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return latin1
