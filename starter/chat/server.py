"""Chat server: every line a client sends goes to all the other clients, named.

Run it with `python server.py`; it listens on the port in the PORT environment variable.
Read handout.md for the protocol, then check your work with `grader check`.

This starter already serves many clients with `select`: it accepts them and reads what they
send. It does not answer anyone yet.
"""

import os
import select
import socket


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    with socket.create_server(("0.0.0.0", port)) as server:
        print(f"listening on port {port}", flush=True)
        clients: list[socket.socket] = []
        while True:
            readable, _, _ = select.select([server, *clients], [], [])
            for sock in readable:
                if sock is server:
                    conn, addr = server.accept()
                    print(f"{addr} connected")
                    clients.append(conn)
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    clients.remove(sock)
                    sock.close()
                    continue
                # TODO: keep a buffer per client and split it into complete lines.
                # TODO: the first line is "NICK <name>": answer "* welcome <name>".
                # TODO: send every later line to every *other* client as "<name>: <text>".
                print(f"received {data!r}")


if __name__ == "__main__":
    main()
