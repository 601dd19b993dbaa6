#!/usr/bin/env python3
"""The course's probe: a redirect without a Status line (the server answers 302 Found); its
lines end with CRLF, which a script may use as well as a bare LF."""
import sys

sys.stdout.buffer.write(b"Location: http://example.org/elsewhere\r\n\r\n")
