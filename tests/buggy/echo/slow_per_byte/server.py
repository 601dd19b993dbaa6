# Correct but slow: a thread per client that copies every chunk byte by byte in Python before
# echoing it (about a second of CPU per 16 MiB on a quiet machine, far more on a loaded one).
import os
import socket
import threading


def handle(conn):
    with conn:
        while data := conn.recv(4096):
            echo = bytearray()
            for byte in data:
                echo.append(byte)
            conn.sendall(echo)


server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
