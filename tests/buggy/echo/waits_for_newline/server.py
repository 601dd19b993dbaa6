# Bug: line-based: echoes only complete lines, so data without a final newline never comes back.
import os, socket, threading

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            if line.endswith(b"\n"):
                conn.sendall(line)

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
