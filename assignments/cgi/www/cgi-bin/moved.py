#!/usr/bin/env python3
"""The course's probe: a redirect with a Status of its own (301) and a short page."""
print("Status: 301 Moved Permanently")
print("Location: /docs/")
print("Content-Type: text/html")
print()
print('<p>Moved to <a href="/docs/">/docs/</a>.</p>')
