# Bug: reads a whole line with blocking recv(1) calls: a client that sends half a line stalls everyone.
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
        broadcast(f"{names[sock]}: {line}", exclude=sock)


while True:
    readable, _, _ = select.select(sockets, [], [])
    for sock in readable:
        if sock is server:
            conn, _ = server.accept()
            sockets.append(conn)
            buffers[conn] = b""
            continue
        # read one whole line, byte by byte: blocks everyone until this client sends its "\n"
        line = b""
        try:
            while not line.endswith(b"\n"):
                byte = sock.recv(1)
                if not byte:
                    break
                line += byte
        except ConnectionResetError:
            byte = b""
        if not byte:
            leave(sock)
            continue
        handle(sock, line.decode().rstrip("\r\n"))
