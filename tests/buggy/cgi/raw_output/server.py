# Bug: the script's output is relayed as it is after a "200 Script output follows" status line
# (as Python's old CGIHTTPServer did): its Status and Location lines never become the status,
# a failing script's output goes out as a 200, and the head has no Content-Length. The server
# is naive elsewhere too: any method reads a file, header lines without ':' are skipped, and a
# static path is joined to the document root unchecked ('/../secret.txt' leaves it).
import os
import socket
import subprocess
import threading
import urllib.parse

PORT = int(os.environ.get("PORT", 8000))
ROOT = os.path.realpath(os.environ.get("DOCROOT", "www"))
TYPES = {".html": "text/html", ".txt": "text/plain", ".png": "image/png", ".css": "text/css",
         ".js": "text/javascript", ".json": "application/json", ".jpg": "image/jpeg"}


def reply(conn, status, body=b"", ctype="text/html", extra=""):
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\n\r\n")
    conn.sendall(head.encode() + body)


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None, {}, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0], headers, body


def run_cgi(conn, method, path, query, version, headers, body, client):
    name, _, rest = path[len("/cgi-bin/"):].partition("/")
    script = os.path.join(ROOT, "cgi-bin", name)
    if not name or not os.path.isfile(script) or not os.access(script, os.X_OK):
        return reply(conn, "404 Not Found", b"<h1>404 Not Found</h1>")
    env = dict(os.environ)
    env.update(GATEWAY_INTERFACE="CGI/1.1", SERVER_SOFTWARE="naive/0.1",
               SERVER_NAME=headers.get("host", "").split(":")[0], SERVER_PORT=str(PORT),
               SERVER_PROTOCOL=version, REQUEST_METHOD=method, SCRIPT_NAME=f"/cgi-bin/{name}",
               PATH_INFO="/" + rest if rest else "", QUERY_STRING=query, REMOTE_ADDR=client)
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    if "content-type" in headers:
        env["CONTENT_TYPE"] = headers["content-type"]
    for key, value in headers.items():
        env["HTTP_" + key.upper().replace("-", "_")] = value
    proc = subprocess.Popen([script], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        out, _ = proc.communicate(body, timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return reply(conn, "504 Gateway Timeout", b"<h1>504 Gateway Timeout</h1>")
    conn.sendall(b"HTTP/1.0 200 Script output follows\r\nConnection: close\r\n" + out)


def handle(conn, client):
    with conn:
        try:
            line, headers, body = read_request(conn)
            if not line:
                return
            parts = line.split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                return reply(conn, "400 Bad Request", b"<h1>400 Bad Request</h1>")
            method, target, version = parts
            path, _, query = target.partition("?")
            path = urllib.parse.unquote(path)
            if path.startswith("/cgi-bin/"):
                if ".." in path.split("/"):
                    return reply(conn, "403 Forbidden", b"<h1>403 Forbidden</h1>")
                return run_cgi(conn, method, path, query, version, headers, body, client)
            full = os.path.join(ROOT, path.lstrip("/"))
            if os.path.isdir(full):
                if not path.endswith("/"):
                    return reply(conn, "301 Moved Permanently", b"", extra=f"Location: {path}/\r\n")
                full = os.path.join(full, "index.html")
            if not os.path.isfile(full):
                return reply(conn, "404 Not Found", b"<h1>404 Not Found</h1>")
            with open(full, "rb") as f:
                data = f.read()
            ctype = TYPES.get(os.path.splitext(full)[1], "application/octet-stream")
            reply(conn, "200 OK", b"" if method == "HEAD" else data, ctype)
        except OSError:
            pass


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no SO_REUSEADDR
    server.bind(("0.0.0.0", PORT))
    server.listen(16)
    print(f"naive CGI server on port {PORT}", flush=True)
    while True:
        conn, addr = server.accept()
        threading.Thread(target=handle, args=(conn, addr[0]), daemon=True).start()


main()
