# Bug: binds 127.0.0.1, so nothing outside its own machine (or container) can connect.
import os, socket, threading

def handle(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)

server = socket.create_server(("127.0.0.1", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
