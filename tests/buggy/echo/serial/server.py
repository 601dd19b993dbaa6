# Bug: one client at a time (no threads, no select): a second client waits for the first.
import os, socket

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    with conn:
        try:
            while data := conn.recv(4096):
                conn.sendall(data)
        except ConnectionResetError:
            pass
