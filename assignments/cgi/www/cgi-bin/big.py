#!/usr/bin/env python3
"""The course's probe: a 3 MiB body (bytes 0..255 over and over), written in 64 KiB pieces."""
import sys

out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\n\n")
piece = bytes(range(256)) * 256
for _ in range(48):
    out.write(piece)
