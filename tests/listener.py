"""A TCP listener that counts who connects: the target a test offers a submission (or the
grader) to prove that nothing reaches it. Bound where the test says, never beyond this host."""

from __future__ import annotations

import socket
import threading

__all__ = ["CountingListener"]


class CountingListener:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()
