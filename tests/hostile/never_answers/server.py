# Hostile: listens and accepts, then never reads or answers.
import os, socket
server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
held = []
while True:
    held.append(server.accept()[0])
