# Hostile: leaves a daemonised grandchild behind (its own session) that would outlive the server.
import subprocess, sys
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

subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # hostile-orphan-marker"],
                 start_new_session=True)
serve()
