# Bug: the script runs through a shell, with a query without '=' as its arguments (RFC 3875's search words): '?x;pwd' runs pwd.
"""Reference CGI server: static files and CGI/1.1 scripts over HTTP/1.0-1.1, from raw sockets.

`python server.py` serves the folder in DOCROOT (default: ./www) on the port in PORT (default
8000), a thread per client, one request per connection (`Connection: close`). A URL under
/cgi-bin/ names an executable script in DOCROOT/cgi-bin/, run as RFC 3875 says:

  read_request   the head (it may arrive in pieces), then Content-Length bytes of body
  run_script     the script, without a shell, with the meta-variables in its environment and
                 the body on its stdin; its whole output collected, at most SCRIPT_TIMEOUT s
  parse_output   the script's header lines (Status, Location, Content-Type, ...) and body;
                 anything malformed, or a non-zero exit, is a 500; a script still running at
                 the limit is killed and answered 504
Everything else is a static file, as in the web server assignment.
"""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import threading
import urllib.parse
from email.utils import formatdate

HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8000"))
DOCROOT = os.path.realpath(os.environ.get("DOCROOT", "www"))
CGI_DIR = os.path.join(DOCROOT, "cgi-bin")

MAX_HEAD = 64 * 1024  # a request head larger than this is refused
READ_TIMEOUT = 10  # seconds a client may take to send its request
SCRIPT_TIMEOUT = 5  # seconds a script may run (the handout's limit)
CHUNK = 64 * 1024

MIME_TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
              ".css": "text/css", ".js": "text/javascript", ".json": "application/json",
              ".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif"}
DEFAULT_TYPE = "application/octet-stream"

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 504: "Gateway Timeout",
           505: "HTTP Version Not Supported"}
REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/(\d)\.(\d)")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header name
HEAD_END = re.compile(rb"\r?\n\r?\n")


class HTTPError(Exception):
    """An error response: the status code and a sentence for the page."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class Request:
    """One parsed request: method, target, version, headers (names lower case), body."""

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str],
                 body: bytes):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body = headers, body


# -- reading and parsing the request ---------------------------------------------------------


def read_request(conn: socket.socket) -> Request | None:
    """The head up to its blank line, then Content-Length bytes of body; None if nothing came."""
    data = b""
    while not (end := HEAD_END.search(data)):
        chunk = conn.recv(4096)
        if not chunk:
            if not data.strip():
                return None  # the client connected and left without asking anything
            raise HTTPError(400, "The request ended before the blank line after its headers.")
        data += chunk
        if len(data) > MAX_HEAD:
            raise HTTPError(400, "The request head is too large.")
    request = parse_head(data[: end.start()])
    body = data[end.end():]
    length = request.headers.get("content-length", "0")
    if not length.isdigit():
        raise HTTPError(400, "Content-Length must be a number.")
    while len(body) < int(length):  # the body may arrive in many pieces
        chunk = conn.recv(CHUNK)
        if not chunk:
            raise HTTPError(400, "The body ended before its Content-Length.")
        body += chunk
    request.body = body[: int(length)]
    return request


def parse_head(head: bytes) -> Request:
    """The request line and header lines -> a Request; a 400 for anything malformed."""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")  # any byte decodes
    match = REQUEST_LINE.fullmatch(lines[0])
    if not match:
        raise HTTPError(400, "Expected a request line such as 'GET /index.html HTTP/1.1'.")
    method, target, major, minor = match.groups()
    if major != "1":
        raise HTTPError(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
    if not target.startswith("/"):
        raise HTTPError(400, "The request target must be a path starting with '/'.")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not TOKEN.fullmatch(name):
            raise HTTPError(400, "A header line must be 'Name: value'.")
        headers[name.lower()] = value.strip()
    return Request(method, target, f"HTTP/{major}.{minor}", headers, b"")


def decode_path(path: str) -> str:
    """The percent-decoded URL path; a 400 for a NUL byte or bytes that are not UTF-8, a 403
    for a '..' segment (decoded first: checking before decoding lets '%2e%2e' through)."""
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise HTTPError(400, "The path is not valid percent-encoded UTF-8.") from None
    if "\x00" in decoded or "\\" in decoded:
        raise HTTPError(400, "The path contains characters that are not allowed.")
    if ".." in decoded.split("/"):
        raise HTTPError(403, "Paths outside the document root are forbidden.")
    return decoded


# -- CGI -----------------------------------------------------------------------------------


def cgi_environ(request: Request, script: str, path_info: str, query: str,
                client: str) -> dict[str, str]:
    """The meta-variables of RFC 3875 section 4.1, on top of the server's own environment
    (the scripts start with `#!/usr/bin/env python3`, which needs PATH)."""
    host = request.headers.get("host", "")
    env = {**os.environ,
           "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "reference-cgi/1.0",
           "SERVER_NAME": urllib.parse.urlsplit(f"//{host}").hostname or HOST,
           "SERVER_PORT": str(PORT), "SERVER_PROTOCOL": request.version,
           "REQUEST_METHOD": request.method, "SCRIPT_NAME": script, "PATH_INFO": path_info,
           "QUERY_STRING": query, "REMOTE_ADDR": client}
    if request.body or "content-length" in request.headers:
        env["CONTENT_LENGTH"] = str(len(request.body))
    if "content-type" in request.headers:
        env["CONTENT_TYPE"] = request.headers["content-type"]
    for name, value in request.headers.items():
        if name not in ("content-length", "content-type"):  # those have their own variables
            env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def run_script(path: str, env: dict[str, str], body: bytes) -> bytes:
    """The script's whole output. A list, never a shell: nothing in the URL is ever a command.
    communicate() writes the body and reads the output at once, so neither pipe fills up."""
    query = env["QUERY_STRING"]
    # RFC 3875 4.4: a query without '=' is search words, passed to the script as arguments
    words = "" if "=" in query else " " + urllib.parse.unquote_plus(query)
    try:
        proc = subprocess.Popen(path + words, shell=True, cwd=CGI_DIR, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as exc:
        print(f"cannot run {path}: {exc}", flush=True)
        raise HTTPError(500, "The script could not be started.") from None
    try:
        out, _ = proc.communicate(body, timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()  # a hung script must not live on
        proc.communicate()
        raise HTTPError(504, f"The script did not finish within {SCRIPT_TIMEOUT} seconds.") \
            from None
    if proc.returncode != 0:
        print(f"{path} exited with code {proc.returncode}", flush=True)
        raise HTTPError(500, "The script failed.")
    return out


def parse_output(out: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """A script's output -> (status, reason, headers, body) (RFC 3875 section 6)."""
    end = HEAD_END.search(out)
    if not end:
        raise HTTPError(500, "The script's output has no blank line after its headers.")
    status, reason, headers = 200, "OK", []
    for line in out[: end.start()].decode("latin-1").replace("\r\n", "\n").split("\n"):
        name, sep, value = line.partition(":")
        if not sep or not TOKEN.fullmatch(name):
            raise HTTPError(500, "The script wrote a header line that is not 'Name: value'.")
        value = value.strip()
        if name.lower() == "status":
            code, _, reason = value.partition(" ")
            if not (code.isdigit() and len(code) == 3):
                raise HTTPError(500, "The script's Status is not a three-digit code.")
            status, reason = int(code), reason or REASONS.get(int(code), "Unknown")
        elif name.lower() != "content-length":  # the server counts the body itself
            headers.append((name, value))
    if status == 200 and any(n.lower() == "location" for n, _ in headers):
        status, reason = 302, "Found"  # a redirect without a Status of its own
    return status, reason, headers, out[end.end():]


def respond_cgi(conn: socket.socket, request: Request, decoded: str, query: str,
                client: str) -> None:
    name, slash, rest = decoded[len("/cgi-bin/"):].partition("/")
    script = os.path.join(CGI_DIR, name)
    if not name or not os.path.isfile(script):
        raise HTTPError(404, "There is no such script.")
    if not os.access(script, os.X_OK):
        raise HTTPError(403, "That file is not an executable script.")
    env = cgi_environ(request, f"/cgi-bin/{name}", slash + rest, query, client)
    status, reason, headers, body = parse_output(run_script(script, env, request.body))
    send_head(conn, status, [*headers, ("Content-Length", str(len(body)))], reason=reason)
    if request.method != "HEAD":
        conn.sendall(body)


# -- static files ----------------------------------------------------------------------------


def send_head(conn: socket.socket, status: int, headers: list[tuple[str, str]],
              reason: str | None = None) -> None:
    lines = [f"HTTP/1.1 {status} {reason or REASONS[status]}",
             f"Date: {formatdate(usegmt=True)}", "Server: reference-cgi", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def send_page(conn: socket.socket, status: int, message: str, *, head_only: bool,
              headers: dict[str, str] | None = None) -> None:
    """A short HTML page (errors and redirects)."""
    title = f"{status} {REASONS[status]}"
    data = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"</head>\n<body><h1>{title}</h1>\n<p>{message}</p></body></html>\n").encode()
    send_head(conn, status, [("Content-Type", "text/html; charset=utf-8"),
                             ("Content-Length", str(len(data))), *(headers or {}).items()])
    if not head_only:
        conn.sendall(data)


def respond_static(conn: socket.socket, method: str, path: str, decoded: str) -> None:
    if method not in ("GET", "HEAD"):
        raise HTTPError(405, "Files may only be read.", {"Allow": "GET, HEAD"})
    full = os.path.realpath(os.path.join(DOCROOT, *decoded.split("/")))
    if full != DOCROOT and not full.startswith(DOCROOT + os.sep):
        raise HTTPError(403, "Paths outside the document root are forbidden.")
    if os.path.isdir(full):
        if not path.endswith("/"):  # so that the page's relative links work
            send_page(conn, 301, "Moved.", head_only=method == "HEAD",
                      headers={"Location": path + "/"})
            return
        full = os.path.join(full, "index.html")
    if not os.path.isfile(full):
        raise HTTPError(404, f"There is no {html.escape(decoded)} on this server.")
    with open(full, "rb") as f:  # bytes: never decode a file we serve
        size = os.fstat(f.fileno()).st_size
        ext = os.path.splitext(full)[1].lower()
        send_head(conn, 200, [("Content-Type", MIME_TYPES.get(ext, DEFAULT_TYPE)),
                              ("Content-Length", str(size))])
        while method == "GET" and (chunk := f.read(CHUNK)):
            conn.sendall(chunk)


# -- one connection --------------------------------------------------------------------------


def handle(conn: socket.socket, client: str) -> None:
    """Serve one connection: one request, one response, then close."""
    with conn:
        conn.settimeout(READ_TIMEOUT)
        method = "GET"
        try:
            request = read_request(conn)
            if request is None:
                return
            method = request.method
            path, _, query = request.target.partition("?")
            decoded = decode_path(path)
            if decoded.startswith("/cgi-bin/"):
                respond_cgi(conn, request, decoded, query, client)
            else:
                respond_static(conn, method, path, decoded)
        except HTTPError as err:
            send_error(conn, err, head_only=method == "HEAD")
        except OSError:
            pass  # the client timed out, reset or vanished: nothing more to say to it
        except Exception as exc:  # a bug of ours: say so, and keep serving everyone else
            print(f"error while serving a request: {exc!r}", flush=True)
            send_error(conn, HTTPError(500, "Something went wrong."), head_only=False)


def send_error(conn: socket.socket, err: HTTPError, *, head_only: bool) -> None:
    try:
        send_page(conn, err.status, err.message, head_only=head_only, headers=err.headers)
    except OSError:
        pass


def main() -> None:
    if not os.path.isdir(DOCROOT):
        raise SystemExit(f"DOCROOT {DOCROOT!r} is not a folder")
    with socket.create_server((HOST, PORT)) as server:
        print(f"serving {DOCROOT} (scripts in {CGI_DIR}) on http://{HOST}:{PORT}/", flush=True)
        while True:
            conn, addr = server.accept()
            threading.Thread(target=handle, args=(conn, addr[0]), daemon=True).start()


if __name__ == "__main__":
    main()
