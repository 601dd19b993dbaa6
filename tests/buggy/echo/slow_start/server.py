# Not a bug: a correct server that takes 3 s to start listening must still get full marks.
import os, socket, threading, time

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

time.sleep(3)  # loading something slow
server = socket.create_server(("0.0.0.0", int(os.environ.get("PORT", 8000))))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
