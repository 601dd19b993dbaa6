"""TCP echo server: send every byte a client sends back to it.

Run it with `python server.py`; it listens on the port in the PORT environment variable.
Read handout.md for what it must do, then check your work with `grader check`.
"""

import os
import socket


def handle(conn: socket.socket) -> None:
    """Serve one client: receive data and send it back until the client closes."""
    with conn:
        data = conn.recv(1024)
        # TODO: send the data back (all of it), and keep going until recv returns b"".
        print(f"received {len(data)} bytes")


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    with socket.create_server(("0.0.0.0", port)) as server:
        print(f"listening on port {port}", flush=True)
        while True:
            conn, _ = server.accept()
            handle(conn)  # TODO: serve several clients at once


if __name__ == "__main__":
    main()
