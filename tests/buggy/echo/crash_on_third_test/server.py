# Bug: decodes what it receives as UTF-8 (to print it) without a try: the first client that
# sends bytes that are not UTF-8 (the third test) kills the whole server.
import os
import socket
import threading


def handle(conn):
    with conn:
        while data := conn.recv(4096):
            print("got", data.decode("utf-8").strip())
            conn.sendall(data)


server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    try:
        first = conn.recv(4096, socket.MSG_PEEK)
    except OSError:
        conn.close()
        continue
    first.decode("utf-8")  # crashes the main loop on binary data: no more accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
