#!/usr/bin/env python3
"""The course's probe: a script that chooses its own status (404) and adds a header of its own."""
import os

print("Status: 404 Not Found")
print("Content-Type: text/plain; charset=utf-8")
print("X-Probe: notfound")
print()
print(f"no record matches {os.environ.get('QUERY_STRING', '')!r}")
