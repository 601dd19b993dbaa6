#!/usr/bin/env python3
"""The course's probe: a script that never finishes. It writes its pid to
/tmp/cgi-hang-<QUERY_STRING>.pid first, so that alive.py can tell whether it still runs."""
import os
import re
import time

token = os.environ.get("QUERY_STRING", "")
if re.fullmatch(r"[0-9a-f]{1,32}", token):
    with open(f"/tmp/cgi-hang-{token}.pid", "w") as f:
        f.write(str(os.getpid()))
while True:
    time.sleep(60)
