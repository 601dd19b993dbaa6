"""Start a submission's command and stay its parent: the reaper that ends all of it.

Run as a separate program (`python launch.py CONFIG -- ARGV...`, never imported), so the grader
sets nothing between fork and exec in its own threads (`preexec_fn` is unsafe with threads).
CONFIG is JSON: {"limits": {"RLIMIT_...": n}, "cgroup": "/sys/fs/cgroup/.../grader-..." | null}.

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
                _child(config.get("limits", {}), config.get("read_only"), argv)
            finally:  # a SIGTERM before the exec: never run the reaper's code twice
                os._exit(127)
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


def _child(limits: dict[str, int], read_only: str | None, argv: list[str]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as a container's process starts (Python
    # ignores it at start-up; an ignored signal would stay ignored across the exec)
    if read_only:
        _read_only(read_only)
    for name, value in limits.items():
        what = getattr(resource, name, None)
        if what is not None:  # e.g. RLIMIT_DATA is not on every platform
            try:
                resource.setrlimit(what, (value, value))
            except (ValueError, OSError):
                pass  # not enforceable here (macOS caps some); the wall-clock kill remains
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # if the reaper dies, so does the command
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"could not run {argv[0]!r}: {exc.strerror}", file=sys.stderr, flush=True)
        os._exit(127)


def _read_only(folder: str) -> None:
    """As root (Linux), make `folder` a read-only bind mount in a mount namespace of this
    process's own, so that writing the code fails with "Read-only file system" as in docker,
    where permissions would not stop root. Elsewhere (another uid, or root without
    CAP_SYS_ADMIN, as in most containers) the folder's permissions are what stays."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    ms_rdonly, ms_remount, ms_bind, ms_rec, ms_private = 1, 32, 4096, 16384, 1 << 18
    path = os.fsencode(folder)
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        return
    # private first: the read-only mount must not propagate back to the grader's namespace
    if (libc.mount(None, b"/", None, ms_rec | ms_private, None) == 0
            and libc.mount(path, path, None, ms_bind | ms_rec, None) == 0):
        libc.mount(None, path, None, ms_remount | ms_bind | ms_rdonly, None)
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
