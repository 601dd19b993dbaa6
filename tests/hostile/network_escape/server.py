# Hostile: tries to reach anything beyond the grader on its own network (the gateway, which is
# the host's bridge address, and Docker's DNS), then serves correctly. It never addresses
# anything outside the project's own network.
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

import struct

def routes():
    with open("/proc/net/route") as f:
        return [line.split() for line in f.readlines()[1:]]

print("default route:", "present" if any(r[1] == "00000000" for r in routes()) else "none")
reached = []
for r in routes():
    if r[1] == "00000000":
        continue
    network = int(r[1], 16)  # little-endian hex, as the kernel prints it
    gateway = socket.inet_ntoa(struct.pack("<I", network + (1 << 24)))  # network + 1
    for port in (22, 80, 2375, 8000):
        try:
            socket.create_connection((gateway, port), timeout=1).close()
            reached.append(f"{gateway}:{port}")
        except OSError:
            pass
try:
    socket.create_connection(("127.0.0.11", 53), timeout=1).close()
    reached.append("127.0.0.11:53")
except OSError:
    pass
print("escape:", "CONNECTED to " + ", ".join(reached) if reached else "blocked", flush=True)
serve()
