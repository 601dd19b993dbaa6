# Bug: treats the data as text: decode() fails on bytes that are not UTF-8.
import os, socket, threading

def handle(conn):
    with conn:
        while True:
            text = conn.recv(4096).decode("utf-8")
            if not text:
                break
            conn.sendall(text.encode("utf-8"))

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
