#!/usr/bin/env python3
"""The course's probe: a script that takes 2 seconds, well within the limit."""
import time

time.sleep(2)
print("Content-Type: text/plain")
print()
print("slow but in time")
