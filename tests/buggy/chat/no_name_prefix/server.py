# Bug: messages are relayed without the '<name>: ' prefix.
import os, select, socket

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
sockets = [server]
names = {}    # socket -> name, once it sent NICK
buffers = {}  # socket -> bytes received but not yet a full line


def send(sock, line):
    try:
        sock.sendall(line.encode() + b"\n")
    except OSError:
        pass


def broadcast(line, exclude=None):
    for sock in list(names):
        if sock is not exclude:
            send(sock, line)


def leave(sock):
    sockets.remove(sock)
    buffers.pop(sock, None)
    name = names.pop(sock, None)
    sock.close()
    if name:
        broadcast(f"* {name} left")


def handle(sock, line):
    if sock not in names:
        if not line.startswith("NICK"):
            send(sock, "! error send NICK <name> first")
            return
        name = line[4:].strip()
        if not name:
            send(sock, "! error empty name")
        elif name in names.values():
            send(sock, "! error name taken")
        else:
            names[sock] = name
            send(sock, f"* welcome {name}")
            broadcast(f"* {name} joined", exclude=sock)
    elif line == "/who":
        send(sock, "* users: " + ", ".join(sorted(names.values())))
    else:
        broadcast(line, exclude=sock)


while True:
    readable, _, _ = select.select(sockets, [], [])
    for sock in readable:
        if sock is server:
            conn, _ = server.accept()
            sockets.append(conn)
            buffers[conn] = b""
            continue
        try:
            data = sock.recv(4096)
        except ConnectionResetError:
            data = b""
        if not data:
            leave(sock)
            continue
        buffers[sock] += data
        while b"\n" in buffers[sock]:
            line, buffers[sock] = buffers[sock].split(b"\n", 1)
            handle(sock, line.decode().rstrip("\r"))
        if len(buffers[sock]) > 65536:  # 64 KiB and still no newline: a misbehaving client
            leave(sock)
