"""Chat server with a thread per client (not select): correct, written in another style.

Each client's thread reads its lines; a lock guards the table of names. On NICK the thread
adds the client, sends the welcome and only then tells the others, so another thread may
announce its own join a moment later than a select loop would: a client can get "* ada joined"
just after (or before) its own welcome, which the handout allows.
"""

import os
import socket
import threading

MAX_LINE = 1 << 16  # a longer line (no newline yet): a misbehaving client

clients: dict[socket.socket, str] = {}  # registered clients -> name
lock = threading.Lock()
send_locks: dict[socket.socket, threading.Lock] = {}  # one writer at a time per socket


def send(conn: socket.socket, line: str) -> None:
    try:
        with send_locks[conn]:
            conn.sendall((line + "\n").encode("utf-8"))
    except (OSError, KeyError):
        pass  # that client is gone; its own thread cleans up


def broadcast(line: str, exclude: socket.socket | None = None) -> None:
    with lock:
        targets = [c for c in clients if c is not exclude]
    for conn in targets:
        send(conn, line)


def register(conn: socket.socket, line: str) -> str | None:
    verb, _, name = line.partition(" ")
    name = name.strip()
    if verb != "NICK":
        send(conn, "! error send NICK <name> first")
        return None
    if not name or " " in name:
        send(conn, "! error a name is one word")
        return None
    with lock:
        if name in clients.values():
            taken = True
        else:
            taken = False
            clients[conn] = name
    if taken:
        send(conn, f"! error name {name} is taken")
        return None
    send(conn, f"* welcome {name}")
    broadcast(f"* {name} joined", exclude=conn)
    return name


def handle(conn: socket.socket) -> None:
    name = None
    buffer = b""
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                if name is None:
                    name = register(conn, line)
                elif line == "/who":
                    with lock:
                        names = sorted(clients.values())
                    send(conn, "* users: " + ", ".join(names))
                else:
                    broadcast(f"{name}: {line}", exclude=conn)
            if len(buffer) > MAX_LINE:
                break  # more than 64 KiB without a newline: dropped like a client that left
    except OSError:
        pass  # reset: same as a close
    finally:
        with lock:
            clients.pop(conn, None)
        conn.close()
        if name is not None:
            broadcast(f"* {name} left")
        send_locks.pop(conn, None)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = socket.create_server(("0.0.0.0", port))
    while True:
        conn, _ = server.accept()
        send_locks[conn] = threading.Lock()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
