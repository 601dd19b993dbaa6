# Hostile: serves correctly while flooding stdout and stderr as fast as it can.
import sys
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

threading.Thread(target=serve, daemon=True).start()
line = "flood " * 2000 + "\n"
while True:
    sys.stdout.write(line)
    sys.stderr.write(line)
