# Hostile: looks for the hidden tests, the reference solution and the grader's files.
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

found = []
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/dev")):
        dirs[:] = []
        continue
    for name in files + dirs:
        if name in ("test_robust.py", "grading.yml", "hidden", "reference", "grader", "suite.ini"):
            found.append(os.path.join(root, name))
for path in ("/app/../hidden", "/root/.docker/config.json", "/var/run/docker.sock"):
    if os.path.exists(path):
        found.append(path)
print("secrets:", ", ".join(found) if found else "none found", flush=True)
serve()
