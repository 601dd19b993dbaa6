# Hostile (or just slow): takes 60 s before it listens, longer than the startup timeout.
import time
time.sleep(60)
import os, socket, threading

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

def serve():
    server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()

serve()
