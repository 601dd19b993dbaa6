"""A WSGI application without a framework (the model solution): an echo form and an adder.

`application(environ, start_response)` is the whole program; `python app.py` serves it with
wsgiref on the port in PORT. The grader serves it with its own runner, through
`wsgiref.validate.validator`.
"""

import html
import json
import os
import re
import threading
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

MESSAGES = []  # every message since the server started, oldest first
LOCK = threading.Lock()
INTEGER = re.compile(r"-?[0-9]+")
PAGES = ("/", "/echo", "/add")

FORM = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Echo</title></head>
<body>
<h1>Echo</h1>
<form action="/echo" method="get">
  <input type="text" name="message">
  <button type="submit">Send</button>
</form>
</body></html>
"""


def respond(start_response, status, body, content_type, extra=()):
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(data))), *extra])
    return [data]


def html_page(start_response, status, body):
    return respond(start_response, status, body, "text/html; charset=utf-8")


def json_page(start_response, status, value):
    return respond(start_response, status, json.dumps(value), "application/json")


def query(environ):
    """The query string as a dict of first values (URL-decoded as UTF-8, `+` as a space)."""
    parsed = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def echo(environ, start_response):
    message = query(environ).get("message", "")
    if not message:
        return html_page(start_response, "400 Bad Request",
                         "<h1>400 Bad Request</h1><p>Send a non-empty message.</p>")
    with LOCK:
        MESSAGES.append(message)
        newest_first = MESSAGES[::-1]
    items = "\n".join(f"<li>{html.escape(m)}</li>" for m in newest_first)
    return html_page(start_response, "200 OK",
                     f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Messages'
                     f'</title></head>\n<body><h1>Messages</h1>\n<ul>\n{items}\n</ul>\n'
                     f'<p><a href="/">Send another</a></p></body></html>\n')


def add(environ, start_response):
    params = query(environ)
    a, b = params.get("a", ""), params.get("b", "")
    for name, value in (("a", a), ("b", b)):
        if not INTEGER.fullmatch(value):
            return json_page(start_response, "400 Bad Request",
                             {"error": f"{name} must be an integer, got {value!r}"})
    return json_page(start_response, "200 OK", {"result": int(a) + int(b)})


def application(environ, start_response):
    path = environ.get("PATH_INFO", "") or "/"
    method = environ["REQUEST_METHOD"]
    if path not in PAGES:
        return html_page(start_response, "404 Not Found", "<h1>404 Not Found</h1>")
    if method != "GET":
        return respond(start_response, "405 Method Not Allowed", "<h1>405 Method Not Allowed</h1>",
                       "text/html; charset=utf-8", [("Allow", "GET")])
    if path == "/echo":
        return echo(environ, start_response)
    if path == "/add":
        return add(environ, start_response)
    return html_page(start_response, "200 OK", FORM)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    with make_server("0.0.0.0", port, application) as server:
        print(f"serving on port {port}")
        server.serve_forever()
