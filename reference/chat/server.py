"""Reference chat server: one thread, one `select` loop, a buffer per client in each direction.

Protocol (lines of UTF-8 ending in "\\n"):
    NICK <name>   first line: answered "* welcome <name>", the others get "* <name> joined"
    /who          answered "* users: <names sorted, comma-space separated>"
    <text>        every other registered client gets "<name>: <text>"
    (leaving)     the others get "* <name> left"
Errors ("! error <reason>", the connection stays open): a line before NICK, an empty name, a
name with spaces, a name already taken.

Why buffers both ways: `recv` returns whatever bytes have arrived, which may be half a line or
many lines, so input is kept until a "\\n" completes a line; and a client that is slow to read
must not stall everyone else, so output is queued and written only when `select` says the socket
can take more.
"""

from __future__ import annotations

import os
import select
import socket

MAX_LINE = 1 << 16  # a "line" longer than this (64 KiB without "\n"): a misbehaving client


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.name: str | None = None  # None until a valid NICK
        self.inbox = b""  # received bytes not yet ending in "\n"
        self.outbox = bytearray()  # bytes queued for this client


class ChatServer:
    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.clients: dict[socket.socket, Client] = {}

    # -- sending ---------------------------------------------------------------------------

    def send(self, client: Client, line: str) -> None:
        """Queue one line for a client; the select loop writes it when the socket is ready."""
        client.outbox += line.encode("utf-8") + b"\n"

    def broadcast(self, line: str, *, exclude: Client | None = None) -> None:
        """Queue a line for every registered client except `exclude` (usually the sender)."""
        for other in self.clients.values():
            if other is not exclude and other.name is not None:
                self.send(other, line)

    # -- the protocol ----------------------------------------------------------------------

    def handle_line(self, client: Client, line: str) -> None:
        if client.name is None:
            self.register(client, line)
        elif line == "/who":
            names = sorted(c.name for c in self.clients.values() if c.name is not None)
            self.send(client, "* users: " + ", ".join(names))
        else:
            self.broadcast(f"{client.name}: {line}", exclude=client)

    def register(self, client: Client, line: str) -> None:
        verb, _, name = line.partition(" ")
        name = name.strip()
        if verb != "NICK":
            self.send(client, "! error send NICK <name> first")
        elif not name:
            self.send(client, "! error empty name")
        elif any(ch.isspace() for ch in name):
            self.send(client, "! error a name is one word, without spaces")
        elif any(c.name == name for c in self.clients.values()):
            self.send(client, f"! error name {name} is taken")
        else:
            client.name = name
            self.send(client, f"* welcome {name}")
            self.broadcast(f"* {name} joined", exclude=client)

    def drop(self, client: Client) -> None:
        """Forget a client that left (cleanly or not) and tell the others."""
        del self.clients[client.sock]
        client.sock.close()
        if client.name is not None:
            self.broadcast(f"* {client.name} left")

    # -- I/O -------------------------------------------------------------------------------

    def accept(self) -> None:
        sock, _ = self.listener.accept()
        sock.setblocking(False)
        self.clients[sock] = Client(sock)

    def read(self, client: Client) -> None:
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:  # reset by the peer: an abrupt leave
            data = b""
        if not data:
            self.drop(client)
            return
        client.inbox += data
        # Every complete line is handled; a trailing partial line waits for the rest.
        *lines, client.inbox = client.inbox.split(b"\n")
        for raw in lines:
            self.handle_line(client, raw.rstrip(b"\r").decode("utf-8", "replace"))
        if len(client.inbox) > MAX_LINE:
            self.drop(client)

    def write(self, client: Client) -> None:
        try:
            sent = client.sock.send(client.outbox)
        except BlockingIOError:
            return
        except OSError:  # the peer is gone
            self.drop(client)
            return
        del client.outbox[:sent]  # send may take only part: the rest waits for the next turn

    def serve_forever(self) -> None:
        while True:
            readers = [self.listener, *self.clients]
            writers = [c.sock for c in self.clients.values() if c.outbox]
            readable, writable, _ = select.select(readers, writers, [])
            for sock in readable:
                if sock is self.listener:
                    self.accept()
                elif sock in self.clients:  # may have been dropped earlier in this round
                    self.read(self.clients[sock])
            for sock in writable:
                if sock in self.clients:
                    self.write(self.clients[sock])


def main() -> None:
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8000"))
    with socket.create_server((host, port)) as listener:
        print(f"chat server listening on {host}:{port}", flush=True)
        ChatServer(listener).serve_forever()


if __name__ == "__main__":
    main()
