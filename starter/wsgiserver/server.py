"""A WSGI server from raw sockets.

Run it as `python server.py MODULE:CALLABLE` (for example `python server.py hello:application`)
with PORT set: it imports the application and serves it on the port in PORT. Read handout.md for
what it must do, then check your work with `grader check`.

Right now it calls the application with almost nothing in the environ and ignores what the
application answers. Replace that, step by step.
"""

import importlib
import io
import os
import socket
import sys


def load(spec):
    """'module:name' -> the application object."""
    module_name, _, name = spec.partition(":")
    return getattr(importlib.import_module(module_name), name or "application")


def handle(conn, app):
    """Serve one client: read its request, call the application, send its response."""
    with conn:
        request = conn.recv(65536)  # TODO: a request may arrive in pieces; the body may follow
        request_line = request.split(b"\r\n")[0].decode("latin-1")
        method, target, version = request_line.split()  # TODO: 400 when this is not 3 parts
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": target,  # TODO: without the query string, percent-decoded
            "wsgi.input": io.BytesIO(b""),  # TODO: the request body
            # TODO: everything else PEP 3333 asks for (read the handout)
        }

        def start_response(status, headers, exc_info=None):
            # TODO: remember the status and headers, and send them with the first chunk
            return conn.sendall

        body = app(environ, start_response)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")  # TODO: the app's
        for chunk in body:
            conn.sendall(chunk)


def main():
    app = load(sys.argv[1])
    port = int(os.environ.get("PORT", "8000"))
    with socket.create_server(("0.0.0.0", port)) as server:
        print(f"serving {sys.argv[1]} on port {port}", flush=True)
        while True:
            conn, _ = server.accept()
            try:
                handle(conn, app)  # TODO: serve several clients at once (a thread per client)
            except Exception as exc:  # TODO: a 500 when the application raises
                print(f"error: {exc!r}", flush=True)


if __name__ == "__main__":
    main()
