"""A web server from raw sockets that also runs CGI scripts.

Run it with `python server.py`; it listens on the port in the PORT environment variable and
serves the folder in the DOCROOT environment variable; the executable files in DOCROOT/cgi-bin/
are scripts it runs. Read handout.md for what it must do, then check your work with
`grader check`. (You may start from your web server of the previous assignment.)

Right now it answers every request with the same page. Replace that, step by step.
"""

import os
import socket

PORT = int(os.environ.get("PORT", "8000"))
DOCROOT = os.environ.get("DOCROOT", "www")

PAGE = b"<!DOCTYPE html>\n<html><body><h1>Hello from my CGI server</h1></body></html>\n"


def handle(conn: socket.socket) -> None:
    """Serve one client: read its request, send one response, close."""
    with conn:
        request = conn.recv(4096)  # TODO: read the head up to "\r\n\r\n", then the body
        print(request.split(b"\r\n")[0])  # e.g. b'GET /cgi-bin/echo.py?name=Ada HTTP/1.1'
        # TODO: a path under /cgi-bin/ names a script: run it (subprocess, a list, no shell)
        #       with the CGI variables in its environment and the body on its stdin, then turn
        #       its header lines and body into the response.
        # TODO: any other path is a static file under DOCROOT, as in the web server.
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
                print(f"client error: {exc}")  # TODO: a thread per client


if __name__ == "__main__":
    main()
