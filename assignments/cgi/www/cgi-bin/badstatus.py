#!/usr/bin/env python3
"""The course's probe: a Status line whose code is not three digits (RFC 3875 section 6.3.3)."""
print("Status: 2000 OK")
print("Content-Type: text/plain")
print()
print("a status code of four digits")
