# Hostile: answers anything with 200 MB.
import os, socket, threading

def handle(conn):
    with conn:
        try:
            conn.recv(65536)
            chunk = b"A" * (1 << 20)
            for _ in range(200):
                conn.sendall(chunk)
        except OSError:
            pass

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
