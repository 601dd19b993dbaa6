"""A Docker engine that stops answering: a unix-socket relay to the real engine's socket that a
test can cut (every connection closed, the socket gone), as when a host's dockerd hangs or dies.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from pathlib import Path

ENGINE = "/var/run/docker.sock"


class EngineProxy:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        proxy = self

        class Relay(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.socket(socket.AF_UNIX) as upstream:
                    upstream.connect(ENGINE)
                    with proxy.lock:
                        proxy.open |= {self.request, upstream}
                    pump = threading.Thread(target=_pump, args=(upstream, self.request),
                                            daemon=True)
                    pump.start()
                    _pump(self.request, upstream)
                    pump.join()
                    with proxy.lock:
                        proxy.open -= {self.request, upstream}

        self.server = socketserver.ThreadingUnixStreamServer(str(path), Relay)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def cut(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.path.unlink(missing_ok=True)
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
