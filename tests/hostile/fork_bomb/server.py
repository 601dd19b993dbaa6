# Hostile: forks until the pids limit refuses, then (having made its point) cleans up and serves.
import os, signal, socket, threading

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

children = []
while True:
    try:
        pid = os.fork()
    except OSError as exc:
        print(f"fork refused after {len(children)} children: {exc.strerror}", flush=True)
        break
    if pid == 0:
        signal.pause()
        os._exit(0)
    children.append(pid)
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
