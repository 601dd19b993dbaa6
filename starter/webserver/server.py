"""A web server from raw sockets: serve the files in a folder over HTTP.

Run it with `python server.py`; it listens on the port in the PORT environment variable and
serves the folder in the DOCROOT environment variable. Read handout.md for what it must do, then
check your work with `grader check`.

Right now it answers every request with the same page. Replace that, step by step.
"""

import os
import socket

PORT = int(os.environ.get("PORT", "8000"))
DOCROOT = os.environ.get("DOCROOT", "www")

PAGE = b"<!DOCTYPE html>\n<html><body><h1>Hello from my web server</h1></body></html>\n"


def handle(conn: socket.socket) -> None:
    """Serve one client: read its request, send one response, close."""
    with conn:
        request = conn.recv(4096)  # TODO: a request may arrive in pieces: read up to "\r\n\r\n"
        print(request.split(b"\r\n")[0])  # e.g. b'GET /index.html HTTP/1.1'
        # TODO: parse the request line (method, path, version); answer 400 when it is not one.
        # TODO: map the path to a file under DOCROOT (safely!) and send its bytes, with the
        #       right Content-Type and Content-Length; 404 when it does not exist.
        conn.sendall(b"HTTP/1.0 200 OK\r\n"
                     b"Content-Type: text/html\r\n"
                     b"Content-Length: " + str(len(PAGE)).encode() + b"\r\n"
                     b"Connection: close\r\n"
                     b"\r\n" + PAGE)


def main() -> None:
    with socket.create_server(("0.0.0.0", PORT)) as server:
        print(f"serving {DOCROOT} on port {PORT}", flush=True)
        while True:
            conn, _ = server.accept()
            try:
                handle(conn)
            except OSError as exc:  # the client hung up or reset: forget it, serve the next
                print(f"client error: {exc}")  # TODO: serve several clients at once (a thread per client)


if __name__ == "__main__":
    main()
