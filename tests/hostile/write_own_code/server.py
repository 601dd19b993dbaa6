# Hostile: tries to rewrite its own code and drop files next to it.
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

results = []
for path in ("/app/server.py", "/app/planted.txt"):
    try:
        with open(path, "a") as f:
            f.write("# changed\n")
        results.append(f"wrote {path}")
    except OSError as exc:
        results.append(exc.strerror)
print("code:", "; ".join(results), flush=True)
serve()
