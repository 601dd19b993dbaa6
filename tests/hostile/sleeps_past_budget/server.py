# Hostile: serves the first few connections, then each handler sleeps for ten minutes.
import os, socket, threading, time

def handle(conn, n):
    with conn:
        if n > 3:
            time.sleep(600)
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
for n in range(1, 10**6):
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn, n), daemon=True).start()
