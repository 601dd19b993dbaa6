# Hostile: a daemon that sheds every mark the grader could know it by: it forks twice, calls
# setsid (its own session and process group), and execs itself again with an empty environment,
# then keeps running for ten minutes (waking every 0.2 s), with a marker in its command line.
import os, socket, sys, threading

DAEMON = """
import time  # hostile-orphan-marker daemon_escapes
deadline = time.time() + 600
while time.time() < deadline:
    time.sleep(0.2)
"""


def daemonise():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    # the grandchild: no parent, no session, no environment
    os.execve(sys.executable, [sys.executable, "-c", DAEMON], {})


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


daemonise()
try:
    os.wait()  # the first child exits at once
except ChildProcessError:
    pass
server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
