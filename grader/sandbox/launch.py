"""Start a submission's command and stay its parent: the reaper that ends all of it.

Run as a separate program (`python launch.py CONFIG -- ARGV...`, never imported), so the grader
sets nothing between fork and exec in its own threads (`preexec_fn` is unsafe with threads).
CONFIG is JSON: {"limits": {"RLIMIT_...": n}, "cgroup": "/sys/fs/cgroup/.../grader-..." | null,
"read_only": the code folder, "user": {"uid", "gid", "jail": {"root", "mounts"} | null, "bare"}
| null, "status_fd": n | null}.

As root, with "user": the command never runs with the grader's rights. It runs as that uid (no
supplementary groups, no new privileges) and, where this process can make a mount namespace
(CAP_SYS_ADMIN), chrooted in a jail: an empty tmpfs holding only what "mounts" binds back (the
system, the interpreter, the code read-only, DATA_DIR writable, a private /tmp and /dev, a /proc
showing only its own processes). Where no namespace can be made, "bare" says whether to run as
the uid all the same (it can then read what any user may) or to refuse (exit 125). Before the
exec, the child writes one JSON line to "status_fd" saying what it got ({"uid", "jail"}, or
{"refused": why}); the grader reads it.

This process joins the submission's cgroup (when the grader could make one), makes itself a
child subreaper (Linux), forks the submission's command with its rlimits and waits. A process of
the submission that double-forks and calls setsid is reparented here, not to init, so it is
still a descendant, whatever it does with its environment, session or process group. When the
command exits, or this process is asked to stop (SIGTERM, from the grader or at the grader's
death), every descendant is killed (SIGTERM first when asked, then SIGKILL) and reaped; then this
process exits as the command did (same code, or the same signal), which is what the grader
reports.
"""

import json
import os
import resource
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_GRACE = 1.5  # s the descendants get after SIGTERM before SIGKILL (the grader waits longer)


class _Stop(Exception):
    pass


def _prctl(option: int, value: int) -> None:
    if sys.platform == "linux":
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(option, value)
        except (OSError, AttributeError):
            pass


def _descendants(me: int) -> list[int]:
    """Every descendant of `me`, from /proc (Linux; elsewhere none is found, and the grader's
    signal to the process group is what ends the command)."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                ppid = int(f.read().rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [me]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def _signal_all(me: int, sig: int) -> None:
    for pid in _descendants(me):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _reap_all(me: int, deadline: float) -> None:
    """SIGKILL and reap every descendant until none is left (a forking one included)."""
    while True:
        _signal_all(me, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return  # nobody left to reap: no descendant at all (orphans come to us)
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _wait_quietly(grace: float) -> None:
    """Reap descendants for up to `grace` s, or until none is left."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            if not os.waitpid(-1, os.WNOHANG)[0]:
                time.sleep(0.02)
        except ChildProcessError:
            return


def _stop(signum: int, frame: object) -> None:
    raise _Stop


def main() -> None:
    config, argv = json.loads(sys.argv[1]), sys.argv[3:]
    me = os.getpid()
    signal.signal(signal.SIGTERM, _stop)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # the grader died: end the submission
    if config.get("cgroup"):
        try:
            with open(os.path.join(config["cgroup"], "cgroup.procs"), "w") as f:
                f.write("0")  # this process, and so every process it starts
        except OSError:
            pass  # not movable here after all (a cgroup not delegated to us): the subreaper
            # alone tracks it, never a failed start the student would be blamed for
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # re-raising a signal dumps nothing
    status = None
    try:
        try:
            pid = os.fork()
        except OSError as exc:
            print(f"could not run {argv[0]!r}: {exc.strerror}", file=sys.stderr, flush=True)
            sys.exit(127)
        if pid == 0:
            try:
                _child(config, argv)
            finally:  # a SIGTERM before the exec: never run the reaper's code twice
                os._exit(127)
        if config.get("status_fd") is not None:
            os.close(config["status_fd"])  # the child's copy alone: EOF once it execs
        while status is None:
            try:
                done, how = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if done == pid:
                status = how
    except _Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _signal_all(me, signal.SIGTERM)
        _wait_quietly(_GRACE)
    _reap_all(me, time.monotonic() + 5)
    _exit_as(status)


def _child(config: dict, argv: list[str]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as a container's process starts (Python
    # ignores it at start-up; an ignored signal would stay ignored across the exec)
    read_only, user = config.get("read_only"), config.get("user")
    status: dict[str, object] = {}
    if user:
        why = _jail(user["jail"], read_only or "/") if user.get("jail") else "no jail asked"
        if why and not user.get("bare"):
            _status(config, {"refused": why})
            os._exit(125)
        if why and read_only:
            _read_only(read_only)
        status = {"uid": user["uid"], "jail": not why, **({"why": why} if why else {})}
    elif read_only:
        _read_only(read_only)
    for name, value in config.get("limits", {}).items():
        what = getattr(resource, name, None)
        if what is not None:  # e.g. RLIMIT_DATA is not on every platform
            try:
                resource.setrlimit(what, (value, value))
            except (ValueError, OSError):
                pass  # not enforceable here (macOS caps some); the wall-clock kill remains
    if user:
        os.setgroups([])
        os.setgid(user["gid"])
        os.setuid(user["uid"])  # real, effective and saved: no way back to root
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)  # a setuid program gives nothing back either
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # if the reaper dies, so does the command (after
    # the setuid: a change of credentials clears it)
    _status(config, status)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"could not run {argv[0]!r}: {exc.strerror}", file=sys.stderr, flush=True)
        os._exit(127)


def _status(config: dict, status: dict[str, object]) -> None:
    fd = config.get("status_fd")
    if fd is not None:
        os.write(fd, json.dumps(status).encode() + b"\n")
        os.close(fd)


_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    enc = [os.fsencode(x) if x is not None else None for x in (source, target, fstype, data)]
    if libc.mount(enc[0], enc[1], enc[2], flags, enc[3]) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source or fstype} on {target}: {os.strerror(err)}")


def _jail(spec: dict, cwd: str) -> str:
    """Build the jail in a mount namespace of this process's own and chroot into it; "" once
    inside, else why not (this process's view of the files may then be half built, never the
    grader's: the namespace is private from the first step)."""
    if sys.platform != "linux":
        return "not Linux"
    import ctypes

    if ctypes.CDLL(None, use_errno=True).unshare(0x00020000) != 0:  # CLONE_NEWNS
        return f"no mount namespace ({os.strerror(ctypes.get_errno())}: CAP_SYS_ADMIN needed)"
    root = spec["root"]
    try:
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing propagates to the grader
        _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=1m")
        for kind, path, arg in spec["mounts"]:
            _place(root, kind, path, arg)
        os.chroot(root)
        os.chdir(cwd)
    except OSError as exc:
        return str(exc)
    return ""


def _place(root: str, kind: str, path: str, arg: str) -> None:
    """One entry of the jail: "ro"/"rw" bind `arg` at `path`, "tmpfs" with options `arg`,
    "hide" (an empty tmpfs over `path`, where a bind above brought it in), "link" to `arg`,
    "proc"."""
    at = root + path
    if kind == "hide":
        if os.path.isdir(at):
            _mount("tmpfs", at, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "mode=0755,size=4k")
        return
    if kind == "link":
        os.makedirs(os.path.dirname(at), exist_ok=True)
        os.symlink(arg, at)
        return
    if kind in ("ro", "rw") and not os.path.isdir(arg):
        os.makedirs(os.path.dirname(at), exist_ok=True)
        if not os.path.exists(at):
            os.close(os.open(at, os.O_WRONLY | os.O_CREAT, 0o644))  # a file to bind over
    else:
        os.makedirs(at, exist_ok=True)
    if kind == "tmpfs":
        _mount("tmpfs", at, "tmpfs", _MS_NOSUID | _MS_NODEV, arg)
    elif kind == "proc":
        flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
        try:
            _mount("proc", at, "proc", flags, "hidepid=2")  # its own processes, no others
        except OSError:
            _mount("proc", at, "proc", flags)
    else:
        flags = _MS_NOSUID | (0 if arg.startswith("/dev/") else _MS_NODEV)
        _mount(arg, at, None, _MS_BIND | _MS_REC)
        _mount(None, at, None, _MS_REMOUNT | _MS_BIND | flags | (_MS_RDONLY if kind == "ro" else 0))


def _read_only(folder: str) -> None:
    """As root (Linux), make `folder` a read-only bind mount in a mount namespace of this
    process's own, so that writing the code fails with "Read-only file system" as in docker,
    where permissions would not stop root. Elsewhere (another uid, or root without
    CAP_SYS_ADMIN, as in most containers) the folder's permissions are what stays."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return
    import ctypes

    if ctypes.CDLL(None, use_errno=True).unshare(0x00020000) != 0:  # CLONE_NEWNS
        return
    try:  # private first: the read-only mount must not propagate back to the grader
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        _mount(folder, folder, None, _MS_BIND | _MS_REC)
        _mount(None, folder, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
    except OSError:
        return
    os.chdir(folder)  # the working folder was the one under the mount: enter the mount


def _exit_as(status: int | None) -> None:
    if status is None:  # stopped before the command ended: as if killed by the stop
        status = signal.SIGTERM
    if os.WIFEXITED(status):
        os._exit(os.WEXITSTATUS(status))
    sig = os.WTERMSIG(status)
    try:
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        time.sleep(1)
    except (OSError, ValueError):
        pass
    os._exit(128 + sig)


if __name__ == "__main__":
    main()
