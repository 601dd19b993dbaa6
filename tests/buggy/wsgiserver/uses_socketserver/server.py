"""WSGI server, a buggy variant (uses_socketserver).

Bug: builds on socketserver.ThreadingTCPServer, which the assignment forbids (raw sockets only).
Otherwise it would work: the grade is `invalid` before anything runs.
"""

import importlib
import io
import os
import socketserver
import sys
from urllib.parse import unquote_to_bytes


def load(spec):
    module_name, _, name = spec.partition(":")
    return getattr(importlib.import_module(module_name), name or "application")


APP = load(sys.argv[1])
PORT = int(os.environ.get("PORT", "8000"))


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline().decode("latin-1").strip()
        method, target, version = request_line.split()
        path, _, query = target.partition("?")
        env = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "QUERY_STRING": query,
               "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
               "SERVER_NAME": "localhost", "SERVER_PORT": str(PORT), "SERVER_PROTOCOL": version,
               "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
               "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False}
        while (line := self.rfile.readline().decode("latin-1").strip()):
            name, _, value = line.partition(":")
            key = name.strip().upper().replace("-", "_")
            env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value.strip()
        env["wsgi.input"] = io.BytesIO(self.rfile.read(int(env.get("CONTENT_LENGTH") or 0)))
        sent = {}

        def start_response(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return self.wfile.write

        body = b"".join(APP(env, start_response))
        head = [f"HTTP/1.0 {sent['status']}", *(f"{k}: {v}" for k, v in sent["headers"])]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server(("0.0.0.0", PORT), Handler) as server:
        server.serve_forever()
