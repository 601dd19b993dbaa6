#!/usr/bin/env python3
"""The course's probe: answers with what it was given, as JSON: its meta-variables (RFC 3875
section 4.1, and every HTTP_* one), its command-line arguments, and the request body it read
from stdin (CONTENT_LENGTH bytes, as a script must read it)."""
import hashlib
import json
import os
import sys

META = ("GATEWAY_INTERFACE", "SERVER_SOFTWARE", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
        "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
        "CONTENT_LENGTH", "CONTENT_TYPE")

length = os.environ.get("CONTENT_LENGTH", "")
body = b""
if length.isdigit():
    while len(body) < int(length):
        piece = sys.stdin.buffer.read(int(length) - len(body))
        if not piece:  # the server sent less than CONTENT_LENGTH, then closed stdin
            break
        body += piece
try:
    text = body.decode("utf-8") if len(body) <= 4096 else None
except UnicodeDecodeError:
    text = None
report = {
    "environ": {k: v for k, v in os.environ.items() if k in META or k.startswith("HTTP_")},
    "argv": sys.argv[1:],
    "stdin": {"length": len(body), "sha256": hashlib.sha256(body).hexdigest(), "text": text},
}
data = json.dumps(report, indent=1, sort_keys=True).encode()
sys.stdout.buffer.write(b"Content-Type: application/json\n\n" + data)
