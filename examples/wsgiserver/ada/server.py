"""A WSGI server from raw sockets (the model solution).

Run it as `python server.py MODULE:CALLABLE` with PORT set: it imports the application and
serves it on 0.0.0.0:PORT, a thread per connection. A response is framed by the application's
Content-Length when it gives one (then streamed chunk by chunk), otherwise the server buffers
the body and computes the length; either way the connection can stay open for the next request
(HTTP/1.1 unless the client says `Connection: close`).
"""

import importlib
import io
import os
import socket
import sys
import threading
from urllib.parse import unquote_to_bytes

MAX_HEAD = 64 * 1024
IDLE = 30  # seconds a kept-alive connection may wait for its next request
REASONS = {400: "Bad Request", 500: "Internal Server Error"}


class BadRequest(Exception):
    """The request cannot be parsed: answer 400 and close."""


class Connection:
    """One client: requests are read one after the other from a buffered socket."""

    def __init__(self, sock, app, port):
        self.sock, self.app, self.port = sock, app, port
        self.buf = b""

    def read_head(self):
        """The request head up to the blank line (None when the client is gone)."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("request head too large")
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1")

    def read_body(self, length):
        while len(self.buf) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise BadRequest("the body ended early")
            self.buf += chunk
        body, self.buf = self.buf[:length], self.buf[length:]
        return body

    def serve(self):
        with self.sock:
            self.sock.settimeout(IDLE)
            try:
                while self.serve_one():
                    pass
            except BadRequest:
                self.send_error(400)
            except OSError:
                pass  # the client went away, or stayed idle too long

    def serve_one(self):
        """Answer one request; True when the connection stays open for another."""
        head = self.read_head()
        if head is None:
            return False
        environ, keep_alive = self.environ(head)
        length = environ.get("CONTENT_LENGTH", "")
        environ["wsgi.input"] = io.BytesIO(self.read_body(int(length) if length else 0))
        return self.run_app(environ) and keep_alive

    def environ(self, head):
        request_line, *header_lines = head.split("\r\n")
        parts = request_line.split()
        if len(parts) != 3:
            raise BadRequest(f"bad request line {request_line!r}")
        method, target, version = parts
        path, _, query = target.partition("?")
        env = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": socket.gethostname() or "localhost",
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise BadRequest(f"header line without a colon: {line!r}")
            key = name.strip().upper().replace("-", "_")
            value = value.strip()
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                env[key] = value
            else:
                env["HTTP_" + key] = value
        if env.get("CONTENT_LENGTH") and not env["CONTENT_LENGTH"].isdigit():
            raise BadRequest("Content-Length is not a number")
        connection = env.get("HTTP_CONNECTION", "").lower()
        keep_alive = version == "HTTP/1.1" and connection != "close"
        return env, keep_alive

    def run_app(self, environ):
        """Call the app and send its response; True when the response was framed and sent."""
        state = {"status": None, "headers": [], "sent": False}

        def start_response(status, headers, exc_info=None):
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, list(headers)
            return write

        def send_head(extra=()):
            lines = [f"HTTP/1.1 {state['status']}"]
            lines += [f"{name}: {value}" for name, value in [*state["headers"], *extra]]
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            state["sent"] = True

        def write(data):
            if not state["sent"]:
                send_head()
            self.sock.sendall(data)

        result = None
        try:
            result = self.app(environ, start_response)
            names = {name.lower() for name, _ in state["headers"]}
            if "content-length" in names:  # framed by the app: stream it
                for chunk in result:
                    if chunk:
                        write(chunk)
                if not state["sent"]:
                    send_head()
                return True
            body = b"".join(result)  # not framed: buffer, then send with a computed length
            send_head([("Content-Length", str(len(body)))])
            self.sock.sendall(body)
            return True
        except Exception as exc:  # the application failed
            print(f"error in the application: {exc!r}", file=sys.stderr)
            if not state["sent"]:
                self.send_error(500)
            return False  # mid-body: closing the connection tells the client it is cut short
        finally:
            if hasattr(result, "close"):
                result.close()

    def send_error(self, code):
        body = f"{code} {REASONS[code]}\n".encode()
        head = (f"HTTP/1.1 {code} {REASONS[code]}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        try:
            self.sock.sendall(head.encode() + body)
        except OSError:
            pass


def load(spec):
    module_name, _, name = spec.partition(":")
    return getattr(importlib.import_module(module_name), name or "application")


def main():
    app = load(sys.argv[1])
    port = int(os.environ.get("PORT", "8000"))
    with socket.create_server(("0.0.0.0", port)) as server:
        print(f"serving {sys.argv[1]} on port {port}", flush=True)
        while True:
            sock, _ = server.accept()
            threading.Thread(target=Connection(sock, app, port).serve, daemon=True).start()


if __name__ == "__main__":
    main()
