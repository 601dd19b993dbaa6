"""The gate: the first program of a submission's container (docker.py), run by the container's
Python as its root, once the network rules are in, with no capability left but those it needs
to run the student's code without any (SETUID, SETGID, SETPCAP) and to end it (KILL). The
student's code never runs before the grader asks for it, and always as the student's uid with
an empty bounding set. So one container is both the network sandbox (made ahead, off the
critical path) and every run of the submission: a restart is a new run in the same container.

Signals from the grader (from the host, or forwarded by the container's init):
- SIGUSR1: start a run: the command in /srv/ctl/run.json (read-only to the container).
- SIGUSR2: end the run: kill every process but the init and itself, and wait for each.
- SIGALRM: the container's own wall-clock budget is over: the same, then exit.

It says what happened in /run/gate/status (a tmpfs only root can write), a line each: `ready`,
`start N PID OOM`, `exit N CODE OOM` (CODE: the exit code, or 128 + the signal; OOM: how many
processes the memory limit has killed so far), `stopped N`, or `fail WHY`. It is a subreaper:
whatever a run leaves behind (a daemon, a double fork) is its child and is waited for. Standard
library only, and small: it runs within the submission's memory limit.
"""

import ctypes
import json
import os
import signal
import sys

STATUS = "/run/gate/status"
RUN = "/srv/ctl/run.json"
STUDENT = 10001
# setpriv (util-linux): drop to the student's uid and groups, with no capability inherited,
# bounded or ambient, and no new privileges (the container has that already)
DROP = ["/usr/bin/setpriv", f"--reuid={STUDENT}", f"--regid={STUDENT}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
SIGNALS = {signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGCHLD, signal.SIGTERM}


def note(line: str) -> None:
    with open(STATUS, "a") as f:
        f.write(line + "\n")


def spawn(argv: list[str], env: dict[str, str], *, cwd: str = "/", stdout: str = "") -> int:
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: the grader's signals are not its own
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.chdir(cwd)
        if stdout:  # a client's standard output: a file of the grader's (capped like any file)
            fd = os.open(stdout, os.O_WRONLY | os.O_TRUNC)
            os.dup2(fd, 1)
            os.close(fd)
        os.execve(DROP[0], DROP + argv, env)
    finally:
        os._exit(127)


def code_of(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def oom_kills() -> int:
    """Processes the kernel killed for the container's memory limit so far (cgroup v2 or v1)."""
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return 0


def environment(extra: dict[str, str]) -> dict[str, str]:
    """The image's environment (PATH, HOSTNAME) and the run's own, as `docker run` gives it."""
    return {**{k: v for k, v in os.environ.items() if k not in ("PWD", "OLDPWD", "SHLVL")},
            **extra}


class Gate:
    def __init__(self) -> None:
        self.runs = 0  # runs started so far
        self.current = 0  # the current run's first process (0: none running)

    def start(self) -> None:
        try:
            with open(RUN) as f:
                run = json.load(f)
        except (OSError, ValueError) as exc:
            note(f"fail {exc}")
            return
        self.runs += 1
        self.current = spawn(run["argv"], environment(run["env"]), cwd=run["cwd"],
                             stdout=run.get("stdout", ""))
        note(f"start {self.runs} {self.current} {oom_kills()}")

    def reaped(self, pid: int, status: int) -> None:
        if pid == self.current:
            note(f"exit {self.runs} {code_of(status)} {oom_kills()}")
            self.current = 0

    def reap(self, *, block: bool = False) -> None:
        """Wait for the children that ended (all of them, with `block`): the run, and whatever
        it left behind, which is ours to wait for (a subreaper)."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            self.reaped(pid, status)

    def end_run(self) -> None:
        """SIGKILL to every process but the init and the gate (a fork bomb cannot outrun it:
        no fork is needed), until none of the student's uid is left."""
        for _ in range(100):
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass  # nothing left to signal
            self.reap(block=True)
            if not student_left():
                return


def student_left() -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == STUDENT:
                    return True
            except OSError:
                continue
    return False


def main() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # taken one at a time, below
    ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    signal.alarm(int(sys.argv[1]))  # seconds the container may live
    gate = Gate()
    note("ready")
    while True:
        sig = signal.sigwaitinfo(SIGNALS).si_signo
        if sig == signal.SIGUSR1 and not gate.current:
            gate.start()
        elif sig in (signal.SIGUSR2, signal.SIGALRM, signal.SIGTERM):
            gate.end_run()
            if sig != signal.SIGUSR2:
                os._exit(137)
            note(f"stopped {gate.runs}")
        gate.reap()


if __name__ == "__main__":
    main()
