"""Shared fixtures for the project's own tests (the real course, real backends), the tiers that
say what each test needs to run, and what makes them safe to run in parallel (make test runs
them with pytest-xdist: the order of the units of work, which leftovers are a test's own, the
run's last checks on the controller alone)."""

from __future__ import annotations

import functools
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.core.config import Course, load_course
from grader.core.job import process_start
from grader.run.grade import RETRY_LOG
from grader.sandbox import LABEL, resolve_backend
from grader.sandbox.docker import orphans

ROOT = Path(__file__).resolve().parent.parent

# Every test has exactly one tier, what it needs to run (lightest first); tier_of() decides,
# and a test with none or two stops the run before anything runs.
TIERS = {
    "pure": "no process, no socket, no Docker: logic on values and files",
    "process": "starts processes, servers or git repositories on this machine; no Docker",
    "docker": "needs a Docker engine",
}
# Without an engine a docker test is skipped and says why, unless GRADER_REQUIRE_DOCKER is set
# (make test sets it, so CI does): there it fails, as a skip must never make CI green.
REQUIRE_DOCKER = os.environ.get("GRADER_REQUIRE_DOCKER", "") not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    for tier, what in TIERS.items():
        config.addinivalue_line("markers", f"{tier}: tier: {what}")
    config.addinivalue_line("markers", "slow: whole classes, suites through the CLI, exports, "
                            "every assignment (5 s to minutes): left out of `make test-fast`")
    config.addinivalue_line("markers", "retry_expected: the test causes a grader error on "
                            "purpose, so the batch's one retry may happen")
    sys.addaudithook(_audit)
    # Every retry after a grader error, in this process or any grader it starts, is logged here.
    fd, log = tempfile.mkstemp(prefix="grader-retries-", suffix=".jsonl")
    os.close(fd)
    os.environ[RETRY_LOG] = log
    _DESCENDANTS.start()
    if getattr(config.option, "loadgroup", False):  # a worker of `pytest -n N --dist loadgroup`
        config.pluginmanager.register(GroupIds(), "group-ids")
    if not _is_worker(config):
        config.stash[_UNTRACKED] = _untracked()


def pytest_unconfigure(config: pytest.Config) -> None:
    _DESCENDANTS.stop()


_UNTRACKED = pytest.StashKey[set[str]]()


def _is_worker(config: pytest.Config) -> bool:
    """A pytest-xdist worker (make test runs the tests in parallel); not its controller, and
    not a plain `pytest`."""
    return hasattr(config, "workerinput")


def _untracked() -> set[str]:
    """The repository's untracked files (not ignored): a test must not add to them."""
    done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--others", "--exclude-standard"],
                          capture_output=True, text=True)
    return set(done.stdout.split()) if done.returncode == 0 else set()


@pytest.fixture(autouse=True)
def no_silent_retry(request: pytest.FixtureRequest) -> Iterator[None]:
    """A batch runs a grading again after a grader error; for users that hides an intermittent
    fault, for this project's tests it must not: a retry the test did not cause fails it."""
    log = Path(os.environ[RETRY_LOG])
    start = log.stat().st_size
    yield
    with log.open(encoding="utf-8") as f:
        f.seek(start)
        retried = f.read().strip()
    if retried and not request.node.get_closest_marker("retry_expected"):
        pytest.fail(f"a grading was retried after a grader error during this test (an "
                    f"intermittent fault that a batch would hide): {retried}", pytrace=False)


def tier_of(item: pytest.Item) -> str:
    """What `item` needs: the heavier of what its fixtures need and its module's `TIER`, unless
    the test has its own marker (`@pytest.mark.pure`), which may not be lighter than its
    fixtures. Fixtures: `docker_ready` (asked for directly or through another fixture) or a
    `backend` parameter of "docker" need docker; `pytester` or a `backend` of "process" need
    process. ValueError when a test has no tier, two, or one lighter than its fixtures."""
    rank = list(TIERS).index
    params = item.callspec.params if hasattr(item, "callspec") else {}
    fixtures = getattr(item, "fixturenames", ())
    needs = ("docker" if "docker_ready" in fixtures or params.get("backend") == "docker" else
             "process" if "pytester" in fixtures or params.get("backend") == "process" else None)
    own = [m.name for m in item.own_markers if m.name in TIERS]
    module = getattr(getattr(item, "module", None), "TIER", None)
    if len(own) > 1:
        raise ValueError(f"marked {' and '.join(own)}: a test has one tier")
    if module is not None and module not in TIERS:
        raise ValueError(f"its module's TIER is {module!r}, not one of {', '.join(TIERS)}")
    if own and needs and rank(own[0]) < rank(needs):
        raise ValueError(f"marked {own[0]}, but its fixtures need {needs}")
    found = own or [tier for tier in (needs, module) if tier]
    if not found:
        raise ValueError(f"no tier: set TIER = {' | '.join(map(repr, TIERS))} in its module, "
                         "or mark the test")
    return max(found, key=rank)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the markers added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        try:
            tier = tier_of(item)
        except ValueError as exc:
            problems.append(f"{item.nodeid}: {exc}")
            continue
        if not item.get_closest_marker(tier):
            item.add_marker(tier)
    if problems:
        raise pytest.UsageError("tests need exactly one tier (tests/conftest.py):\n  "
                                + "\n  ".join(problems))
    items[:] = longest_first(items)


# What each unit of work costs, in seconds (an xdist_group is one unit: its tests run in one
# worker, one after another; any other test is a unit of its own). pytest-xdist hands units out
# in collection order, so the costliest go first: one that started last would set the end time.
# A unit's cost is its entry in COST (seconds measured here, for a unit the guess misjudges),
# else the sum of its tests' guesses by tier: a graded class of 35 variants (700) is handed out
# before one of 15 (300), and both before the single tests. COST is empty until a parallel run
# on a quiet machine measures the units (the first ones shared the machine with other runs).
COST: dict[str, float] = {}
_TIER_COST = {"docker": 20.0, "slow": 20.0, "process": 2.0, "pure": 0.0}


def unit(item: pytest.Item) -> str:
    """What pytest-xdist's loadgroup hands out as one: the test's xdist_group, else the test."""
    group = item.get_closest_marker("xdist_group")
    return str(group.args[0]) if group else item.nodeid


def longest_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """`items`, the costliest unit first (COST), each unit's tests together in their order."""
    cost: dict[str, float] = {}
    for item in items:
        name = unit(item)
        guess = max(_TIER_COST[m.name] for m in item.iter_markers() if m.name in _TIER_COST)
        cost[name] = COST.get(name, COST.get(item.nodeid, cost.get(name, 0.0) + guess))
    return sorted(items, key=lambda item: -cost[unit(item)])


class GroupIds:
    """Under `--dist loadgroup`, a test's node id ends with "@" and its xdist_group: that is
    how a worker tells the controller which tests are one unit. pytest-xdist 3.8 writes it into
    `item._nodeid`, which pytest 9.2 no longer reads (its ids are structured: `item._id`), so
    every group was silently split across the workers (pytest-dev/pytest-xdist#1386, a fix
    proposed in #1388): this plugin writes it where pytest 9.2 reads it, unless it is there."""

    @pytest.hookimpl(trylast=True)  # after pytest-xdist's own
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from _pytest.nodeid import NodeId

        for item in items:
            group = unit(item)
            if group != item.nodeid and not item.nodeid.endswith(f"@{group}"):
                item._id = NodeId.parse(f"{item.nodeid}@{group}")  # type: ignore[attr-defined]


@functools.cache
def no_engine() -> str:
    """Why no Docker engine answers here ("" when one does); asked once per run."""
    import docker

    # The client leaves the socket of a failed connection unclosed: its ResourceWarning (an
    # error here) would fail whichever test runs when the socket is collected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            docker.from_env(timeout=5).ping()
            why = ""
        except Exception as exc:  # the client's own words: no socket, refused, a bad DOCKER_HOST
            why = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        gc.collect()
    return why


def require_docker() -> None:
    """Skip the running test when no engine answers, with the reason; fail it instead under
    GRADER_REQUIRE_DOCKER."""
    why = no_engine()
    if not why:
        return
    where = os.environ.get("DOCKER_HOST") or "the default socket"
    if REQUIRE_DOCKER:
        pytest.fail(f"these tests need a Docker engine (make test sets everything else up): "
                    f"none answered at {where} ({why})")
    pytest.skip(f"needs a Docker engine: none answered at {where} ({why})")


# A pure test that starts a process or opens a socket fails at the call that did it: an audit
# hook (there for the whole run: hooks cannot be removed) that acts while a pure test is set up
# or runs, in the thread that runs it.
_NOT_PURE = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn",
                       "os.spawn", "os.exec", "os.system", "socket.bind", "socket.connect"})
_in_pure = threading.local()


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event in _NOT_PURE and getattr(_in_pure, "test", False):
        raise RuntimeError(f"{event} in a pure test: it is a process test (tests/conftest.py)")


@contextmanager
def _pure_if(item: pytest.Item) -> Iterator[None]:
    _in_pure.test = item.get_closest_marker("pure") is not None
    try:
        yield
    finally:
        _in_pure.test = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    if item.get_closest_marker("docker"):
        require_docker()
    with _pure_if(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    with _pure_if(item):  # not teardown: it may end a module's servers after its last test
        return (yield)


@pytest.fixture(scope="session")
def course() -> Course:
    return load_course(ROOT)


def course_copy(root: Path) -> Path:
    """The course (grading.yml, roster, lock, assignments, starters) copied to `root`: for commands
    that write beside grading.yml (an export records its kit there)."""
    root.mkdir(parents=True)
    for part in ("grading.yml", "roster.csv", "student.lock", "assignments", "starter"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        copy(ROOT / part, root / part)
    return root


@pytest.fixture(scope="session")
def docker_ready(course: Course) -> str:
    """The real engine and images (no mocks of the container path); without an engine, see
    require_docker()."""
    require_docker()
    return "docker"


def as_in_a_terminal(argv: list[str]) -> list[str]:
    """`argv`, started with SIGINT at its default, as a terminal starts a command, so that the
    Ctrl-C a test sends interrupts it even when the tests themselves run in the background (a
    shell without job control starts a background job, and all it runs, with SIGINT ignored)."""
    return [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, "
            "signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])", *argv]


# Every process a test process started, directly or not, noted while it lived: which of the
# engine's leftovers are this process's to answer for.
#
# The tests run in parallel (make test: pytest-xdist), and some kill a grader on purpose (SIGKILL
# mid-batch, a lost Dask host): until the next batch reaps them, that grader's containers are
# orphans. A check "nothing was left behind" in another worker must not see them, and a dead
# process's parent can no longer be read: so each test process notes its descendants (pid and
# start time, as the owner labels have them, grader/core/job.py `owner_id`) while they live, by
# walking /proc/<pid>/task/<tid>/children from itself every _POLL seconds (where /proc has no
# such file, every orphan counts, as before the tests ran in parallel). A grader creates no
# container before it has imported the grader and the Docker client (0.3 s and more here), so
# it is seen before it can own anything; one missed would only make the check weaker.
_POLL = 0.1  # seconds between two walks: about 1 ms each with 40 descendants


class Descendants:
    """(pid, start) of every process seen below this one since start()."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def supported() -> bool:
        return Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()

    def start(self) -> None:
        if self._thread is None and self.supported():
            self._thread = threading.Thread(target=self._run, name="descendants", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def __contains__(self, owner: tuple[str, str]) -> bool:
        """Was (pid, start) one of ours? Looks once more first: one that started since the last
        walk and is still alive. Always, where the walk cannot be made."""
        if self._thread is None:
            return True
        self._walk()
        with self._lock:
            return owner in self._seen

    def _run(self) -> None:
        while not self._stop.wait(_POLL):
            self._walk()

    def _walk(self) -> None:
        found, todo = set(), [os.getpid()]
        while todo:
            pid = todo.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue  # gone since its parent listed it
            for tid in tasks:
                try:
                    children = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
                except OSError:
                    continue
                for child in map(int, children):
                    start = process_start(child)
                    if start:
                        found.add((str(child), start))
                        todo.append(child)
        with self._lock:
            self._seen |= found


_DESCENDANTS = Descendants()


def leftovers(*, orphans_only: bool = True) -> list[str]:
    """Containers, networks and volumes with the project's label whose grader process is gone
    and was started by this test process (tests/descendants.py: another worker's, or another
    grader's on this machine, are not this test's to answer for); or every object with the label
    (`orphans_only=False`: the end of the whole run)."""
    found = []
    for obj in orphans(everything=not orphans_only):
        labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
        owner = (labels.get(f"{LABEL}.owner", ""), labels.get(f"{LABEL}.started", ""))
        if not orphans_only or owner in _DESCENDANTS:
            found.append(f"{type(obj).__name__} {obj.name}")
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing written into the repository; in CI, where nothing else runs, nothing with the
    label may remain at all. Checked once, after every test: by the controller under xdist (its
    workers each finish their own session first)."""
    if _is_worker(session.config):
        return
    added = _untracked() - session.config.stash.get(_UNTRACKED, set())
    if added:
        print(f"\nthe tests wrote into the repository: {sorted(added)}")
        session.exitstatus = 1
    if os.environ.get("CI") and resolve_backend("auto") == "docker":
        left = leftovers(orphans_only=False)
        if left:
            print(f"\nleft behind after the tests: {left}")
            session.exitstatus = 1
