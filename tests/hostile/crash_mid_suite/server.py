# Hostile: serves correctly, then dies when the fifth connection arrives (and again after each
# restart, five connections later).
import os, socket

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
for n in range(1, 100):
    conn, _ = server.accept()
    if n == 5:
        print("crashing now", flush=True)
        os._exit(1)
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
