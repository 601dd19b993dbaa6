# Bug: the address and port of the tutorial it was copied from.
import socket

server = socket.create_server(("127.0.0.1", 8001))
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)
