# Bug: one client at a time, the data is decoded as UTF-8 in the main loop (binary data kills the
# whole server), and the listening socket is bound without SO_REUSEADDR, as most lab handouts
# write it: the connection the dying server held is in TIME_WAIT when it is restarted.
import os
import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("0.0.0.0", int(os.environ.get("PORT", 8000))))
server.listen(5)
while True:
    conn, _ = server.accept()
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            print("got", data.decode("utf-8"))
            conn.sendall(data)
