# Bug: collects everything until the client closes, then echoes it: nothing comes back while
# the client waits for its answer.
import os, socket, threading

def handle(conn):
    with conn:
        chunks = []
        while data := conn.recv(4096):
            chunks.append(data)
        conn.sendall(b"".join(chunks))

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
