# Hostile: accepts every connection and closes it at once.
import os, socket
server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
while True:
    server.accept()[0].close()
