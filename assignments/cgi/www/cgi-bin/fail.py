#!/usr/bin/env python3
"""The course's probe: a script that crashes after writing a complete head and part of its
page (the traceback goes to stderr, the exit code is 1)."""
import sys

print("Content-Type: text/plain")
print()
print("partial output of a failing script")
sys.stdout.flush()
raise RuntimeError("the probe script fails on purpose")
