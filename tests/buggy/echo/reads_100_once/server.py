# Bug: reads once (at most 100 bytes), echoes that and closes: it never decodes anything.
import os, socket, threading

def handle(conn):
    with conn:
        conn.sendall(conn.recv(100))

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
