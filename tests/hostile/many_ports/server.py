# Hostile: holds 50 extra listening ports besides PORT.
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

extra = []
for _ in range(50):
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen()
    extra.append(s)
print(f"listening on {len(extra) + 1} ports", flush=True)
serve()
