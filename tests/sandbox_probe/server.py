# Used by tests/test_sandbox.py: report what this container can see and reach, then echo.
import os
import socket
import struct

with open("/proc/net/route") as f:
    routes = [line.split() for line in f.readlines()[1:]]
print("default route:", "present" if any(r[1] == "00000000" for r in routes) else "none")
targets = [t for t in os.environ.get("TARGETS", "").split(",") if t]
for r in routes:  # the gateway of our own network is the host's bridge address
    gateway = socket.inet_ntoa(struct.pack("<I", int(r[1], 16) + (1 << 24)))
    targets.append(f"{gateway}:{os.environ['HOST_PORT']}")
for target in targets:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        print("reached", target, flush=True)
    except OSError as exc:
        print("blocked", target, type(exc).__name__, flush=True)
with open("/proc/self/status") as f:  # what it may do: no capability, none to gain
    for line in f:
        if line.split(":")[0] in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs", "Groups"):
            print("status", " ".join(line.split()), flush=True)
print("uid", os.getuid(), "probe done", flush=True)

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    with conn:
        conn.sendall(conn.recv(1024))
