# Bug: the old lab's prefix: answers "echo: <data>" instead of the bytes alone.
import os, socket, threading

def handle(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(b"echo: " + data)

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
