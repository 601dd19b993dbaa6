# Hostile: answers with random bytes of the same length.
import os, socket, threading

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(os.urandom(len(data)))
        except OSError:
            pass

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
