# Correct, with a per-socket timeout: a client silent for 10 s is dropped; sendall under the same
# timeout (so a 16 MiB echo must complete within it).
import os
import socket
import threading


def handle(conn):
    conn.settimeout(10)
    with conn:
        try:
            while data := conn.recv(4096):
                conn.sendall(data)
        except OSError as exc:
            print("dropped a client:", exc)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(os.environ["PORT"])))
server.listen()
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
