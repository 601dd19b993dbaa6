"""Start a submission's command with its rlimits and the parent-death signal, then exec it.

Run as a separate program (`python launch.py LIMITS -- ARGV...`, never imported), so the grader
sets nothing between fork and exec in its own threads (`preexec_fn` is unsafe with threads).
"""

import json
import os
import resource
import signal
import sys


def main() -> None:
    limits, argv = json.loads(sys.argv[1]), sys.argv[3:]
    for name, value in limits.items():
        what = getattr(resource, name, None)
        if what is not None:  # e.g. RLIMIT_DATA is not on every platform
            try:
                resource.setrlimit(what, (value, value))
            except (ValueError, OSError):
                pass  # not enforceable here (macOS caps some); the wall-clock kill remains
    if sys.platform == "linux":
        import ctypes

        try:  # if the grader dies, so does the submission
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"could not run {argv[0]!r}: {exc.strerror}", file=sys.stderr, flush=True)
        sys.exit(127)


if __name__ == "__main__":
    main()
