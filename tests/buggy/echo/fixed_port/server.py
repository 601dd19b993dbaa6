# Bug: ignores the PORT environment variable and always listens on 8099.
import socket, threading

def handle(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)

server = socket.create_server(("0.0.0.0", 8099))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
