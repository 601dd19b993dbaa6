"""The pytest plugin behind every suite: a running server for the tests, results as data.

Loaded with `-p grader.run.plugin`. It gives suites the `server`, `connect`, `http` and
`assignment_dir` fixtures (a client assignment's: `program`), and records every test (points,
status, one feedback line) as JSON, rewritten after each test so a run killed half-way still
leaves what it finished.
"""

from __future__ import annotations

import ctypes
import inspect
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_timeout
import requests

from grader.core.config import Assignment, ConfigError, load_assignment
from grader.core.job import Job
from grader.core.results import Record, TestResult, TestStatus, write_atomic
from grader.run.crashes import CrashWatch, ServerDown
from grader.run.suite import suite_problems
from grader.sandbox import InfraError, Server, StartupError, open_server, wait
from grader.sandbox.listeners import Listener
from grader.sandbox.site import ProgramRun, run_program
from grader.testing import ServerSession
from grader.testing.web import request_of

_KEY = pytest.StashKey["Collector"]()
_FEEDBACK_CAP = 500


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("grader", "course-grader")
    g.addoption("--server", metavar="HOST:PORT", help="test a server that is already running")
    g.addoption("--grader-job", metavar="FILE", help="grade the submission this job describes")
    g.addoption("--grader-assignment", metavar="DIR", help="the assignment folder (without a job)")
    g.addoption("--grader-results", metavar="FILE", help="write the results here as JSON")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): how many points the test is worth (default 1)")
    config.addinivalue_line("markers", "never_crashed: needs a server that has not crashed yet "
                            "(e.g. it checks everything since the start)")
    collector = Collector(config)
    config.stash[_KEY] = collector
    config.pluginmanager.register(collector, "grader-collector")
    if collector.results_path:
        # The grader stops us with SIGTERM: turn it into Ctrl-C so fixtures tear down (and the
        # container goes) instead of the process vanishing.
        signal.signal(signal.SIGTERM, _interrupt)
        _die_with_parent()


def _die_with_parent() -> None:
    """If the grader is SIGKILLed, we get SIGTERM and tear down (Linux; set here, in the child
    itself, rather than with preexec_fn in the grader's threads)."""
    if sys.platform != "linux":
        return
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the grader died before we asked
        raise KeyboardInterrupt


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Collector:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        opt = config.getoption
        path = opt("--grader-results")
        self.results_path = Path(path) if path else None
        job = opt("--grader-job")
        self.job = Job.model_validate_json(Path(job).read_text()) if job else None
        adir = opt("--grader-assignment")
        self.assignment_dir = (self.job.assignment.dir if self.job else
                               Path(adir).resolve() if adir else Path(config.rootpath))
        self.tests: dict[str, TestResult] = {}
        self.record = Record()
        self.log = ""
        self.watch = CrashWatch(max_restarts=self.job.assignment.restarts if self.job else 0)
        self.previous: TestResult | None = None  # the last test that used the server

    # -- the server --------------------------------------------------------------------------

    def open(self) -> Server:
        opt = self.config.getoption
        if opt("--server"):
            host, _, port = opt("--server").rpartition(":")
            return _Running(host or "127.0.0.1", int(port))
        job = self.job
        if job is None:
            raise pytest.UsageError("pass --server HOST:PORT (a server you started), or "
                                    "--grader-job FILE (the grader does)")
        return open_server(job.backend, assignment=job.assignment, submission=job.submission,
                           limits=job.limits, image=job.image, owner=job.owner,
                           sandbox=job.sandbox)

    # -- collecting results ------------------------------------------------------------------

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # the whole message: the course's author must see what broke
            self.broken(f"{report.nodeid or 'collecting'}: {report.longrepr}")

    def broken(self, why: str) -> None:
        """The suite itself is wrong: the course's error, never charged to a student."""
        if self.record.status != "suite_broken":
            self.record.status, self.record.reason = "suite_broken", ""
        self.record.reason = f"{self.record.reason}\n{why.strip()}".strip()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for problem in suite_problems(session, self.assignment_dir):
            self.broken(problem)
        hidden = self.hidden_visibility()
        for item in session.items:
            self.tests[item.nodeid] = TestResult(
                name=item.nodeid, title=_title(item), max_score=_points(item), feedback="not run",
                visibility=hidden if _is_hidden(item, self.assignment_dir) else "visible")
        self.write()

    def hidden_visibility(self) -> str:
        """What Gradescope shows of a hidden test: the assignment's `hidden_visibility`."""
        if self.job:
            return self.job.assignment.hidden_visibility
        try:
            return load_assignment(self.assignment_dir).hidden_visibility
        except ConfigError:  # a suite outside a course (plugin tests): the default
            return str(Assignment.model_fields["hidden_visibility"].default)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """A crash does not cascade: restart a dead server before the next test that needs it."""
        if "server" not in getattr(item, "fixturenames", ()):
            return
        previous, self.previous = self.previous, self.tests.get(item.nodeid)
        self.watch.before_test(previous=previous,
                               never_crashed=item.get_closest_marker("never_crashed") is not None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        try:
            report = yield
        except Exception as crash:
            # pytest could not describe the failure (seen: a timeout signal landing where
            # Python 3.11 has no line number). The test still failed; the run must go on.
            what = call.excinfo.exconly() if call.excinfo else ""
            report = pytest.TestReport(
                item.nodeid, item.location, {}, "failed", f"{what} ({crash!r})",
                call.when, duration=call.duration,  # type: ignore[arg-type]
                start=call.start, stop=call.stop)
        entry = self.tests.get(item.nodeid)
        if entry is None:
            return report
        entry.duration = round(entry.duration + report.duration, 3)
        if report.when == "setup":
            entry.status, entry.feedback = "passed", ""
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
            entry.status, entry.feedback = "skipped", str(reason).removeprefix("Skipped: ")
        elif report.failed and entry.status == "passed":
            status: TestStatus | None = "failed" if report.when == "call" else "error"
            exc = call.excinfo.value if call.excinfo else None
            if isinstance(exc, ServerDown):
                status = "failed"
            elif isinstance(exc, StartupError) and self.watch.server is not None:
                # it listened before, then did not start again (a restart test): graded, with
                # the tests it passed; the later ones say why they did not run
                self.watch.down = f"the server did not start again after a restart: {exc.reason}"
                entry.status, entry.feedback = "failed", self.watch.down[:_FEEDBACK_CAP]
                status = None
            elif isinstance(exc, StartupError):  # it never listened: no_server
                status, self.log = "failed", exc.log
                if self.record.status == "ok":
                    self.record.status, self.record.reason = "no_server", exc.reason
            elif isinstance(exc, InfraError):
                self.record.status, self.record.reason = "error", str(exc)
            elif isinstance(exc, pytest.FixtureLookupError):
                self.broken(f"{item.nodeid}: {exc.formatrepr()}")
            if status:
                entry.status, entry.feedback = status, self.feedback(call, item)
        entry.score = entry.max_score if entry.status == "passed" else 0.0
        if report.when == "teardown":
            self.write()
        return report

    def feedback(self, call: pytest.CallInfo[None], item: pytest.Item) -> str:
        assert call.excinfo is not None
        exc = call.excinfo.value
        line = _describe(exc, timeout=float(item.config.getini("timeout") or 0))
        if call.when == "teardown":
            line = f"after the test: {line}"
        return line[:_FEEDBACK_CAP]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """A broken suite grades nobody: not one test runs against a student's server."""
        return True if self.record.status == "suite_broken" else None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.watch.out_of_time and self.record.status == "ok":
            self.record.status = "timeout"
        self.write()

    def write(self) -> None:
        if not self.results_path:
            return
        self.record.tests = list(self.tests.values())
        self.record.log = self.log
        self.record.crashes = [c.line() for c in self.watch.crashes]
        write_atomic(self.results_path, self.record.model_dump_json(indent=1))


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's per-test timer, stretched like every Wait by the time the machine's
    load took from the server or the suite: a test cut short because four suites share a core
    would cost the student a point that their code did not lose."""
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own thread timer
    # Only the wait for a CPU is added back: a server stuck writing its output is still slow.
    budget = wait.Wait(settings.timeout, output_counts=True).from_now()

    def handler(signum: int, frame: object) -> None:
        if not budget.expired():
            signal.setitimer(signal.ITIMER_REAL, max(0.05, budget.left()))
            return
        __tracebackhide__ = True
        pytest_timeout.timeout_sigalrm(item, settings)

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # pytest-timeout calls it
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


def _describe(exc: BaseException, *, timeout: float) -> str:
    """One line a student understands, for the ways a test can fail."""
    if isinstance(exc, ServerDown):
        return str(exc)
    if isinstance(exc, StartupError):
        return f"not run: {exc.reason}"
    if isinstance(exc, InfraError):
        return f"not run: the grader failed ({exc}); this is not your fault"
    if isinstance(exc, AssertionError):
        # pytest's assertion rewriting appends "assert ..." after our message: keep the message
        return _first_line(str(exc)) or "a check failed"
    if isinstance(exc, pytest.fail.Exception) and str(exc).startswith("Timeout"):
        return f"the test did not finish within {timeout:g} s: the server stopped answering"
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect within the time limit{request_of(exc)}"
    if isinstance(exc, requests.Timeout):
        return f"no HTTP response within the time limit{request_of(exc)}"
    if isinstance(exc, requests.ConnectionError):
        return "could not complete the HTTP request: the connection was refused or dropped"
    if isinstance(exc, requests.exceptions.JSONDecodeError | json.JSONDecodeError):
        return "the response body is not valid JSON"
    messages: list[tuple[type[BaseException], str]] = [
        (TimeoutError, "the server did not answer in time (socket timeout)"),
        (ConnectionRefusedError, "connection refused: the server is no longer listening"),
        (ConnectionResetError, "the server reset the connection"),
        (BrokenPipeError, "the server closed the connection while the test was sending"),
        (UnicodeDecodeError, "the server sent bytes that are not valid UTF-8"),
    ]
    for kind, text in messages:
        if isinstance(exc, kind):
            return text
    return f"{type(exc).__name__}: {_first_line(str(exc))}"


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _title(item: pytest.Item) -> str:
    """The docstring's first paragraph, its lines joined (a title wrapped to the line length is
    still one title), else the test's name in words."""
    doc = inspect.cleandoc(getattr(getattr(item, "function", None), "__doc__", None) or "")
    paragraph = doc.split("\n\n", 1)[0]
    return " ".join(paragraph.split()) or item.name.replace("_", " ")


def _points(item: pytest.Item) -> float:
    marker = item.get_closest_marker("points")
    if marker is None:
        return 1.0
    value = marker.args[0] if marker.args else None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.points needs a number >= 0, "
                                f"got {value!r}")
    return float(value)


def _is_hidden(item: pytest.Item, root: Path) -> bool:
    try:
        return item.path.relative_to(root).parts[0] == "hidden"
    except (ValueError, IndexError):
        return item.path.parent.name == "hidden"


class _Running(Server):
    """A server someone started by hand (`--server HOST:PORT`): nothing to start or stop."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port, self.docroot = host, port, None

    def start(self) -> None:
        socket.create_connection((self.host, self.port), timeout=5).close()

    def stop(self, *, keep_data: bool = False) -> None:
        pass

    def restart(self) -> None:
        pytest.skip("restarting needs a server the grader started (grader check)")

    def _end_run(self) -> None:
        pass  # not ours to stop (and no wall-clock budget is kept for it)

    def exited(self) -> str | None:
        return None

    def listeners(self) -> list[Listener]:
        return []

    def logs(self) -> str:
        return ""

    def data_files(self) -> dict[str, bytes]:
        pytest.skip("reading DATA_DIR needs a server the grader started (grader check)")


@contextmanager
def _budget(srv: Server, job: Job | None) -> Iterator[None]:
    """The submission's wall-clock budget, from its first start to the end of the suite, kept by
    a watchdog thread and counted like every Wait: the time the machine's load took from the
    server or from the suite's own thread is added back (up to STRETCH times the budget), so a
    class graded four suites to a core loses no run to the load. At its end the run is killed
    (time_up()): the test running then fails, the crash watch says why, and the later tests are
    not run. The backends' own timers (time_left()) are only the backstop."""
    if job is None:
        yield
        return
    budget = wait.Wait(job.limits.wall, activity=srv.activity, output_counts=True,
                       client=threading.get_native_id())
    done = threading.Event()

    def watchdog() -> None:
        while not done.wait(min(1.0, max(0.05, budget.left()))):
            if budget.expired():
                srv.time_up()
                return

    thread = threading.Thread(target=watchdog, name="wall-clock budget", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


# -- fixtures for suites -------------------------------------------------------------------


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The running submission: host, port, url, restart(), logs(), data_files()."""
    collector: Collector = request.config.stash[_KEY]
    try:
        srv = collector.open()
    except (ValueError, OSError) as exc:  # the grader's setup, never the student's fault
        raise InfraError(f"the grader could not set up the submission: {exc}") from None
    try:
        with _budget(srv, collector.job):
            srv.start()
            collector.watch.server = srv
            with wait.watching(srv.activity):  # waits for a sleeping server end early
                yield srv
        idle = srv.idle_meter()  # measures once no client connection is open (None if never)
        collector.watch.after_session(previous=collector.previous)
        collector.log = srv.logs()
        if srv.exited() is None:
            collector.record.idle_cpu = idle()
        collector.record.cpu_seconds = srv.cpu_seconds()
    finally:
        collector.watch.server = None
        srv.stop()


@pytest.fixture(scope="session")
def program(request: pytest.FixtureRequest) -> ProgramRun:
    """A client assignment's program, run once to completion against the course's site: its
    exit code, stdout, stderr and every request the site answered (sandbox/site.py)."""
    collector: Collector = request.config.stash[_KEY]
    if collector.job is None or collector.job.assignment.kind != "client":
        raise pytest.UsageError("the `program` fixture is for a client assignment graded by the "
                                "grader (grader check), which starts the site and the program")
    try:
        srv = collector.open()
    except (ValueError, OSError) as exc:  # the grader's setup, never the student's fault
        raise InfraError(f"the grader could not set up the submission: {exc}") from None
    try:
        with _budget(srv, collector.job):
            run = run_program(srv, timeout=collector.job.assignment.run_timeout)
    finally:
        srv.stop()
    collector.log = run.output
    return run


@pytest.fixture(scope="session")
def assignment_dir(request: pytest.FixtureRequest) -> Path:
    """The assignment folder, for fixture files such as a document root."""
    return request.config.stash[_KEY].assignment_dir  # type: ignore[no-any-return]


@pytest.fixture
def connect(server: Server) -> Iterator[Callable[..., socket.socket]]:
    """connect(timeout=5.0): a TCP connection to the server, closed after the test."""
    opened: list[socket.socket] = []

    def _connect(timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection((server.host, server.port), timeout=timeout)
        opened.append(sock)
        return sock

    yield _connect
    for sock in opened:
        _close_gently(sock)


def _close_gently(sock: socket.socket) -> None:
    """Read what already arrived before closing: closing with unread data sends a reset, and a
    server that does not expect one would then fail a later test at random."""
    try:
        sock.setblocking(False)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


@pytest.fixture
def http(server: Server) -> Iterator[ServerSession]:
    """A requests.Session bound to the server's URL, with a 5 s default timeout."""
    with ServerSession(server) as session:
        yield session
