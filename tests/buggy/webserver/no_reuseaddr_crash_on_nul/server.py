# Bug: one client at a time (no threads), a NUL byte in the path kills the whole server (realpath
# raises ValueError, and only OSError is caught), and the listening socket is bound without
# SO_REUSEADDR, as most lab handouts write it: the connections the server closed itself are in
# TIME_WAIT when it is restarted, and a plain bind() to the same port would fail.
import html
import os
import socket
import urllib.parse

PORT = int(os.environ.get("PORT", 8000))
ROOT = os.path.realpath(os.environ.get("DOCROOT", "www"))
TYPES = {".html": "text/html", ".txt": "text/plain", ".css": "text/css", ".js": "text/javascript",
         ".json": "application/json", ".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif"}


def response(status, body=b"", ctype="text/html", extra=""):
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\n\r\n")
    return head.encode() + body


def page(title):
    return f"<html><body><h1>{title}</h1></body></html>".encode()


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def answer(request):
    try:
        method, target, version = request.split(b"\r\n")[0].decode().split()
    except (ValueError, UnicodeDecodeError):
        return response("400 Bad Request", page("400 Bad Request"))
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        return response("505 HTTP Version Not Supported", page("505 HTTP Version Not Supported"))
    if method not in ("GET", "HEAD"):
        return response("405 Method Not Allowed", page("405 Method Not Allowed"),
                        extra="Allow: GET, HEAD\r\n")
    path = urllib.parse.unquote(target.split("?")[0])
    full = os.path.realpath(os.path.join(ROOT, path.lstrip("/")))
    if full != ROOT and not full.startswith(ROOT + os.sep):
        return response("403 Forbidden", page("403 Forbidden"))
    if os.path.isdir(full):
        if not path.endswith("/"):
            return response("301 Moved Permanently", page("Moved"), extra=f"Location: {path}/\r\n")
        if os.path.isfile(os.path.join(full, "index.html")):
            full = os.path.join(full, "index.html")
        else:
            links = "".join(f'<li><a href="{urllib.parse.quote(name)}">{html.escape(name)}</a></li>'
                            for name in sorted(os.listdir(full)))
            return response("200 OK", f"<html><body><ul>{links}</ul></body></html>".encode())
    if not os.path.isfile(full):
        return response("404 Not Found", page("404 Not Found"))
    if not os.access(full, os.R_OK):
        return response("403 Forbidden", page("403 Forbidden"))
    with open(full, "rb") as f:
        body = f.read()
    ext = os.path.splitext(full)[1]
    return response("200 OK", body, TYPES.get(ext, "application/octet-stream"))


def handle(conn):
    with conn:
        try:
            request = read_request(conn)
            if request:
                reply = answer(request)
                if request.startswith(b"HEAD "):
                    reply = reply.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
                conn.sendall(reply)
        except OSError:
            pass


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no SO_REUSEADDR
server.bind(("0.0.0.0", PORT))
server.listen(5)
while True:
    conn, addr = server.accept()
    handle(conn)
