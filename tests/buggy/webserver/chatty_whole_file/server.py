"""A correct web server written unlike the reference: it prints each connection, and sends
each file read whole with one sendall (under its 10 s socket timeout).

`python server.py` serves the folder in DOCROOT (default: ./www) on the port in PORT (default
8000). One request per connection: read the request head, answer, close (`Connection: close`).

The steps of one request, each a small function below:
  read_head      bytes up to the blank line that ends the headers (the request may arrive in
                 pieces; a client that stops sending half-way times out)
  parse_request  the request line -> method and target; anything else is a 400
  resolve        the URL path -> a file or folder inside the document root, or an error
  respond        the file, an index.html, a listing, a redirect or an error page
"""

from __future__ import annotations

import html
import os
import re
import socket
import threading
import urllib.parse
from email.utils import formatdate

HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8000"))
DOCROOT = os.path.realpath(os.environ.get("DOCROOT", "www"))

MAX_HEAD = 64 * 1024  # a request head larger than this is refused
READ_TIMEOUT = 10  # seconds a client may take to send its request
CHUNK = 64 * 1024

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css",
    ".js": "text/javascript",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
}
DEFAULT_TYPE = "application/octet-stream"

REASONS = {200: "OK", 301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
           501: "Not Implemented", 505: "HTTP Version Not Supported"}
KNOWN_METHODS = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}
REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/(\d)\.(\d)")


class HTTPError(Exception):
    """An error response: the status code and a sentence for the page."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


# -- reading and parsing the request ---------------------------------------------------------


def read_head(conn: socket.socket) -> bytes:
    """Receive until the blank line after the headers (CRLF or bare LF); b"" if none came."""
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return b"" if not data.strip() else data  # closed early: parse what we have
        data += chunk
        if len(data) > MAX_HEAD:
            raise HTTPError(400, "The request head is too large.")
    return data


def parse_request(head: bytes) -> tuple[str, str]:
    """The request line -> (method, target); a 400 for anything that is not one."""
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise HTTPError(400, "The request line is not ASCII text.") from None
    match = REQUEST_LINE.fullmatch(text)
    if not match:
        raise HTTPError(400, "Expected a request line such as 'GET /index.html HTTP/1.1'.")
    method, target, major, _ = match.groups()
    if major != "1":
        raise HTTPError(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
    if not target.startswith("/"):
        raise HTTPError(400, "The request target must be a path starting with '/'.")
    return method, target


# -- from URL to file --------------------------------------------------------------------------


def resolve(path: str) -> str:
    """The (still percent-encoded) URL path -> a real path inside DOCROOT, or an HTTPError.

    Decode first, then check: checking before decoding lets `%2e%2e/` through. Every segment
    is joined separately (so `//etc/passwd` stays inside the root), `..` is refused outright,
    and the resolved path must still be inside the root (a symlink could point out of it).
    """
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise HTTPError(400, "The path is not valid percent-encoded UTF-8.") from None
    if "\x00" in decoded or "\\" in decoded:
        raise HTTPError(400, "The path contains characters that are not allowed.")
    segments = [s for s in decoded.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise HTTPError(403, "Paths outside the document root are forbidden.")
    full = os.path.realpath(os.path.join(DOCROOT, *segments))
    if full != DOCROOT and not full.startswith(DOCROOT + os.sep):
        raise HTTPError(403, "Paths outside the document root are forbidden.")
    if not os.path.exists(full):
        raise HTTPError(404, f"There is no {html.escape(decoded)} on this server.")
    return full


# -- writing the response ----------------------------------------------------------------------


def send_head(conn: socket.socket, status: int, headers: dict[str, str]) -> None:
    lines = [f"HTTP/1.1 {status} {REASONS[status]}", f"Date: {formatdate(usegmt=True)}",
             "Server: reference-webserver", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def send_page(conn: socket.socket, status: int, body: str, *, head_only: bool,
              headers: dict[str, str] | None = None) -> None:
    """A small HTML page (errors, listings, redirects)."""
    data = body.encode("utf-8")
    send_head(conn, status, {"Content-Type": "text/html; charset=utf-8",
                             "Content-Length": str(len(data)), **(headers or {})})
    if not head_only:
        conn.sendall(data)


def error_page(status: int, message: str) -> str:
    title = f"{status} {REASONS[status]}"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"\n<body><h1>{title}</h1>\n<p>{message}</p></body></html>\n")


def send_file(conn: socket.socket, full: str, *, head_only: bool) -> None:
    ext = os.path.splitext(full)[1].lower()
    with open(full, "rb") as f:  # bytes: never decode a file we serve
        size = os.fstat(f.fileno()).st_size
        send_head(conn, 200, {"Content-Type": MIME_TYPES.get(ext, DEFAULT_TYPE),
                              "Content-Length": str(size)})
        if not head_only:
            data = f.read()
            print("sending", len(data), "bytes", flush=True)
            conn.sendall(data)  # the whole file at once, under the 10 s socket timeout


def listing(full: str, url_path: str) -> str:
    """An HTML page linking to every entry of a folder (folders end with '/')."""
    title = html.escape(urllib.parse.unquote(url_path))
    items = []
    for name in sorted(os.listdir(full)):
        slash = "/" if os.path.isdir(os.path.join(full, name)) else ""
        href = urllib.parse.quote(name) + slash  # relative to the folder's own URL
        items.append(f'<li><a href="{html.escape(href)}">{html.escape(name)}{slash}</a></li>')
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}"
            f"</title></head>\n<body><h1>Index of {title}</h1>\n<ul>\n" + "\n".join(items)
            + "\n</ul></body></html>\n")


def respond(conn: socket.socket, method: str, target: str) -> None:
    if method not in ("GET", "HEAD"):
        if method in KNOWN_METHODS:
            raise HTTPError(405, f"{method} is not allowed here.", {"Allow": "GET, HEAD"})
        raise HTTPError(501, f"{html.escape(method)} is not implemented.")
    head_only = method == "HEAD"
    path, _, query = target.partition("?")  # the query string plays no part in finding a file
    path = path.partition("#")[0]
    full = resolve(path)
    if os.path.isdir(full):
        if not path.endswith("/"):
            # A folder's URL ends with '/', so relative links inside it resolve correctly.
            location = path + "/" + (f"?{query}" if query else "")
            send_page(conn, 301, error_page(301, f'Moved to <a href="{html.escape(location)}">'
                                            f"{html.escape(location)}</a>."),
                      head_only=head_only, headers={"Location": location})
            return
        index = os.path.join(full, "index.html")
        if os.path.isfile(index):
            send_file(conn, index, head_only=head_only)
        else:
            send_page(conn, 200, listing(full, path), head_only=head_only)
        return
    if not os.path.isfile(full):
        raise HTTPError(403, "That is not a regular file.")
    try:
        send_file(conn, full, head_only=head_only)
    except PermissionError:
        raise HTTPError(403, "That file may not be read.") from None


def handle(conn: socket.socket) -> None:
    print('connection', conn, flush=True)
    """Serve one connection: one request, one response, then close."""
    with conn:
        conn.settimeout(READ_TIMEOUT)
        method = "GET"
        try:
            head = read_head(conn)
            if not head:
                return  # the client connected and left without asking anything
            method, target = parse_request(head)
            respond(conn, method, target)
        except HTTPError as err:
            send_error(conn, err, head_only=method == "HEAD")
        except OSError:
            pass  # the client timed out, reset or vanished: nothing more to say to it
        except Exception as exc:  # a bug of ours: say so, and keep serving everyone else
            print(f"error while serving a request: {exc!r}", flush=True)
            send_error(conn, HTTPError(500, "Something went wrong."), head_only=False)


def send_error(conn: socket.socket, err: HTTPError, *, head_only: bool) -> None:
    try:
        send_page(conn, err.status, error_page(err.status, err.message), head_only=head_only,
                  headers=err.headers)
    except OSError:
        pass


def main() -> None:
    if not os.path.isdir(DOCROOT):
        raise SystemExit(f"DOCROOT {DOCROOT!r} is not a folder")
    with socket.create_server((HOST, PORT)) as server:
        print(f"serving {DOCROOT} on http://{HOST}:{PORT}/", flush=True)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
