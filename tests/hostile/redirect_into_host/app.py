# Hostile (a books submission): answers every request with a redirect into the grader's host,
# to a listener the catalogue started on the host's loopback (BYSTANDER, e.g.
# http://127.0.0.1:41234): 302 for GET and HEAD, 307 (which keeps the method and body) for the
# rest. The grader's session would fetch it with the grader's network position and quote the
# body in a failure line; it must fetch nothing. It addresses nothing itself.
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET = os.environ["BYSTANDER"]


class Redirect(BaseHTTPRequestHandler):
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(302 if self.command in ("GET", "HEAD") else 307)
        self.send_header("Location", TARGET + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = answer


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Redirect).serve_forever()
