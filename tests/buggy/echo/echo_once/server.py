# Bug: echoes the first recv() and closes: one message per connection, at most 1024 bytes.
import os, socket, threading

def handle(conn):
    with conn:
        data = conn.recv(1024)
        conn.sendall(data)

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
