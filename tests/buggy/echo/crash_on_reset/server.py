# Bug: a select() server that does not catch ConnectionResetError: one rude client kills it.
import os, select, socket

server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
clients = []
while True:
    readable, _, _ = select.select([server, *clients], [], [])
    for sock in readable:
        if sock is server:
            conn, _ = server.accept()
            clients.append(conn)
            continue
        data = sock.recv(65536)
        if data:
            sock.sendall(data)
        else:
            clients.remove(sock)
            sock.close()
