# Bug: a select() server with non-blocking sockets that ignores what send() returns: when the
# client reads slowly, send() takes only part of the data (or raises BlockingIOError) and the
# rest is silently dropped.
import os
import select
import socket

server = socket.create_server((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", 8000))))
server.setblocking(False)
clients = []
while True:
    readable, _, _ = select.select([server, *clients], [], [])
    for sock in readable:
        if sock is server:
            conn, _ = server.accept()
            conn.setblocking(False)
            clients.append(conn)
            continue
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            clients.remove(sock)
            sock.close()
            continue
        try:
            sock.send(data)  # may send only part of data: the rest is lost
        except BlockingIOError:
            pass
        except OSError:
            clients.remove(sock)
            sock.close()
