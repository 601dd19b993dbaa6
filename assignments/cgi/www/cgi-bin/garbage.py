#!/usr/bin/env python3
"""The course's probe: output that is not a CGI response (its first line is no header)."""
print("this is not a header line")
print()
print("garbage output")
