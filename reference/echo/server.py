"""Reference TCP echo server: a thread per client, bytes in, the same bytes out."""

import os
import socket
import threading


def handle(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass  # the client reset or vanished: nothing to do but forget it


def main() -> None:
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8000"))
    with socket.create_server((host, port), reuse_port=False) as server:
        print(f"echo server listening on {host}:{port}", flush=True)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
