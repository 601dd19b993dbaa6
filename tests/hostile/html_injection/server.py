# Hostile: markup and terminal escape sequences in its output and in its answers.
import os, socket, threading

EVIL = b'<script>alert("owned")</script><img src=x onerror=alert(1)>\x1b[2J\x1b[31mPWNED\x1b[0m'
print(EVIL.decode(), flush=True)

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(EVIL + data)
        except OSError:
            pass

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
