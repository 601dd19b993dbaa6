# Bug: no accept loop: serves one client correctly, then the program ends.
import os, socket

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
conn, _ = server.accept()
with conn:
    while data := conn.recv(4096):
        conn.sendall(data)
