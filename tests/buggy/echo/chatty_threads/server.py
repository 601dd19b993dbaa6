# Correct but chatty: a thread per client, recv(1024), and a print of every chunk it echoes.
import os
import socket
import threading


def handle(conn, addr):
    print("connection from", addr, flush=True)
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            print("got", data, flush=True)
            conn.sendall(data)
    print("closed", addr, flush=True)

s = socket.socket()
s.bind(("0.0.0.0", int(os.environ.get("PORT", 8000))))
s.listen()
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c, a), daemon=True).start()
