# Bug: takes the address from the command line, as an old tutorial did, instead of PORT.
import socket
import sys

if len(sys.argv) != 3:
    print(f"Usage: {sys.argv[0]} <HOST> <PORT>")
    sys.exit(1)
host, port = sys.argv[1], int(sys.argv[2])
server = socket.create_server((host, port))
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)
