# Hostile (mildly): a correct echo server that polls with select(..., 0) in a tight loop, so it
# keeps a core busy even when no client is there. Full marks, and a note saying so.
import os
import select
import socket

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
server.setblocking(False)
clients = []
while True:
    readable, _, _ = select.select([server, *clients], [], [], 0)
    for sock in readable:
        if sock is server:
            conn, _ = server.accept()
            conn.setblocking(True)
            clients.append(conn)
            continue
        try:
            data = sock.recv(65536)
            if data:
                sock.sendall(data)
        except OSError:
            data = b""
        if not data:
            clients.remove(sock)
            sock.close()
