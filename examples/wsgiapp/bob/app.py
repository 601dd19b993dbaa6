"""A WSGI application without a framework: an echo form and an adder.

`application(environ, start_response)` is the whole program. Run it with `python app.py` (it
serves on the port in PORT), open http://localhost:8000/ in a browser, and check your work with
`grader check`. Read handout.md for what it must do.

Right now it answers every request with the same page. Replace that, step by step.
"""

import os
from wsgiref.simple_server import make_server


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")  # e.g. "/echo"
    query = environ.get("QUERY_STRING", "")  # e.g. "message=hello+world", still URL-encoded
    print(environ["REQUEST_METHOD"], path, query)
    # TODO: GET / -> the form; GET /echo?message=... -> every message so far, newest first;
    #       GET /add?a=..&b=.. -> JSON {"result": a + b}; 400, 404 and 405 where the handout
    #       says.
    body = b"<!DOCTYPE html>\n<html><body><h1>Hello from my WSGI app</h1></body></html>\n"
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    with make_server("0.0.0.0", port, application) as server:
        print(f"serving on http://localhost:{port}/")
        server.serve_forever()
