# Correct, and written unlike the reference: socketserver.ThreadingTCPServer serves each client
# in a thread, the request is read through a file object (rfile), and the script's output is
# parsed with the email package's header parser. It must get full marks.
import os
import re
import socketserver
import subprocess
import urllib.parse
from email.parser import BytesHeaderParser

PORT = int(os.environ.get("PORT", "8000"))
ROOT = os.path.realpath(os.environ.get("DOCROOT", "www"))
TYPES = {".html": "text/html", ".txt": "text/plain", ".png": "image/png"}
REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 504: "Gateway Timeout"}
HEADER = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]+:.*")


class Fail(Exception):
    def __init__(self, status, extra=None):
        super().__init__(status)
        self.status, self.extra = status, extra or []


class Handler(socketserver.StreamRequestHandler):
    timeout = 10

    def send(self, status, headers, body, reason=None, head_only=False):
        lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, 'Unknown')}",
                 "Connection: close", *(f"{k}: {v}" for k, v in headers),
                 f"Content-Length: {len(body)}"]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head_only:
            self.wfile.write(body)

    def handle(self):
        method = "GET"
        try:
            line = self.rfile.readline(65537).decode("latin-1").rstrip("\r\n")
            if not line:
                return
            parts = line.split(" ")
            if len(parts) != 3 or not re.fullmatch(r"HTTP/1\.[01]", parts[2]) \
                    or not parts[1].startswith("/"):
                raise Fail(400)
            method, target, version = parts
            headers = []
            while (raw := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                if not HEADER.fullmatch(raw.rstrip(b"\r\n")):
                    raise Fail(400)
                name, _, value = raw.decode("latin-1").partition(":")
                headers.append((name.strip(), value.strip()))
            length = next((int(v) for n, v in headers if n.lower() == "content-length"), 0)
            body = self.rfile.read(length)
            if len(body) < length:  # the client closed before the whole body came
                raise Fail(400)
            path, _, query = target.partition("?")
            decoded = urllib.parse.unquote(path)
            if ".." in decoded.split("/") or "\0" in decoded:
                raise Fail(403)
            if decoded.startswith("/cgi-bin/"):
                self.cgi(method, decoded, query, version, headers, body)
            else:
                self.static(method, path, decoded)
        except Fail as fail:
            page = f"<h1>{fail.status} {REASONS[fail.status]}</h1>".encode()
            self.send(fail.status, [("Content-Type", "text/html"), *fail.extra], page,
                      head_only=method == "HEAD")

    def static(self, method, path, decoded):
        if method not in ("GET", "HEAD"):
            raise Fail(405, [("Allow", "GET, HEAD")])
        full = os.path.join(ROOT, decoded.lstrip("/"))
        if os.path.isdir(full):
            if not path.endswith("/"):
                raise Fail(301, [("Location", path + "/")])
            full = os.path.join(full, "index.html")
        if not os.path.isfile(full):
            raise Fail(404)
        with open(full, "rb") as f:
            data = f.read()
        ctype = TYPES.get(os.path.splitext(full)[1], "application/octet-stream")
        self.send(200, [("Content-Type", ctype)], data, head_only=method == "HEAD")

    def cgi(self, method, decoded, query, version, headers, body):
        name, slash, rest = decoded[len("/cgi-bin/"):].partition("/")
        script = os.path.join(ROOT, "cgi-bin", name)
        if not name or not os.path.isfile(script):
            raise Fail(404)
        if not os.access(script, os.X_OK):
            raise Fail(403)
        host = dict((n.lower(), v) for n, v in headers).get("host", "")
        env = dict(os.environ, GATEWAY_INTERFACE="CGI/1.1", SERVER_SOFTWARE="threads/1",
                   SERVER_NAME=host.rsplit(":", 1)[0] if ":" in host else host,
                   SERVER_PORT=str(PORT), SERVER_PROTOCOL=version, REQUEST_METHOD=method,
                   SCRIPT_NAME="/cgi-bin/" + name, PATH_INFO=slash + rest, QUERY_STRING=query,
                   REMOTE_ADDR=self.client_address[0], CONTENT_LENGTH=str(len(body)))
        for n, v in headers:
            if n.lower() == "content-type":
                env["CONTENT_TYPE"] = v
            elif n.lower() != "content-length":
                env["HTTP_" + n.upper().replace("-", "_")] = v
        try:
            out = subprocess.run([script], input=body, env=env, capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:  # run() kills the script and waits for it
            raise Fail(504) from None
        if out.returncode:
            raise Fail(500)
        match = re.search(rb"\r?\n\r?\n", out.stdout)
        if not match:
            raise Fail(500)
        head = out.stdout[: match.start()]
        if not all(HEADER.fullmatch(line) for line in re.split(rb"\r?\n", head)):
            raise Fail(500)
        fields = BytesHeaderParser().parsebytes(head + b"\n\n")
        status, reason = 200, None
        extra = []
        for key, value in fields.items():
            if key.lower() == "status":
                code, _, reason = value.partition(" ")
                if not re.fullmatch(r"[0-9]{3}", code):
                    raise Fail(500)
                status = int(code)
            elif key.lower() != "content-length":
                extra.append((key, value))
        if "Status" not in fields and "Location" in fields:
            status = 302
        self.send(status, extra, out.stdout[match.end():], reason or None,
                  head_only=method == "HEAD")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


with Server(("0.0.0.0", PORT), Handler) as httpd:
    print(f"serving on {PORT}", flush=True)
    httpd.serve_forever()
