# Hostile: echoes, one byte per second.
import os, socket, threading, time

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                for i in range(len(data)):
                    conn.sendall(data[i : i + 1])
                    time.sleep(1)
        except OSError:
            pass

server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
