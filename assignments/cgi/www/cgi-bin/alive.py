#!/usr/bin/env python3
"""The course's probe: does the hang.py started with this QUERY_STRING still run?
Answers JSON {"pid": ..., "alive": true|false} (a zombie, dead but not yet reaped, is dead)."""
import json
import os
import re

token = os.environ.get("QUERY_STRING", "")
pid, alive = None, False
if re.fullmatch(r"[0-9a-f]{1,32}", token):
    try:
        with open(f"/tmp/cgi-hang-{token}.pid") as f:
            pid = int(f.read())
        os.kill(pid, 0)
        alive = True
        with open(f"/proc/{pid}/stat") as f:  # Linux: a zombie's state is Z
            alive = f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, ValueError):
        pass
print("Content-Type: application/json")
print()
print(json.dumps({"pid": pid, "alive": alive}))
