"""The pytest plugin, end to end with pytester: points, feedback lines, visibility, errors."""

from __future__ import annotations

import json
import socket
import threading

import pytest

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester, *args: str) -> dict:
    out = pytester.path / "results.json"
    pytester.runpytest_subprocess("-p", "grader.run.plugin", "-p", "no:cacheprovider",
                                  "--grader-assignment", str(pytester.path),
                                  "--grader-results", str(out), *args)
    return json.loads(out.read_text())


def test_points_titles_feedback_and_visibility(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_public='''
        import pytest

        @pytest.mark.points(3)
        def test_ok():
            """Adds up

            More words the student does not need in the table."""
            assert 1 + 1 == 2

        def test_wrapped():
            """POST /api/books answers 400 for a missing or blank title or author,
               or a bad ISBN

            Details."""

        def test_message():
            got = b"abc"
            assert got == b"abd", f"sent b'abd', got {got!r} back"

        def test_refused():
            raise ConnectionRefusedError(111, "refused")

        def test_skipped():
            pytest.skip("needs IPv6")
    ''')
    pytester.mkdir("hidden")
    (pytester.path / "hidden" / "test_secret.py").write_text(
        "def test_timeout():\n    raise TimeoutError('timed out')\n")
    tests = {t["name"]: t for t in _run(pytester)["tests"]}
    ok = tests["test_public.py::test_ok"]
    assert (ok["title"], ok["max_score"], ok["score"], ok["status"]) == ("Adds up", 3, 3, "passed")
    # the whole first paragraph, however the docstring wraps it
    assert tests["test_public.py::test_wrapped"]["title"] == \
        "POST /api/books answers 400 for a missing or blank title or author, or a bad ISBN"
    assert tests["test_public.py::test_refused"]["title"] == "test refused"  # no docstring
    msg = tests["test_public.py::test_message"]
    assert (msg["status"], msg["score"]) == ("failed", 0)
    assert msg["feedback"] == "sent b'abd', got b'abc' back"  # the message, not the rewrite
    assert tests["test_public.py::test_refused"]["feedback"].startswith("connection refused")
    skipped = tests["test_public.py::test_skipped"]
    assert (skipped["status"], skipped["score"]) == ("skipped", 0)
    assert skipped["feedback"] == "needs IPv6"
    hidden = tests["hidden/test_secret.py::test_timeout"]
    # set where the test is known: the assignment's hidden_visibility (here the default)
    assert hidden["visibility"] == "after_published"
    assert "did not answer in time" in hidden["feedback"]
    assert tests["test_public.py::test_message"]["visibility"] == "visible"


def test_collection_errors_are_reported_not_scored(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="import nonexistent_module\n")
    data = _run(pytester)
    assert data["tests"] == [] and data["status"] == "suite_broken"
    assert "test_broken.py" in data["reason"]  # pytest's whole message, not its first line
    assert "ModuleNotFoundError: No module named 'nonexistent_module'" in data["reason"]


def test_bad_points_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="import pytest\n@pytest.mark.points('many')\ndef test_a(): pass\n")
    result = pytester.runpytest_subprocess("-p", "grader.run.plugin", "--collect-only")
    assert "points needs a number >= 0, got 'many'" in result.stderr.str() + result.stdout.str()


def test_fixtures_against_a_running_server(pytester: pytest.Pytester) -> None:
    """--server HOST:PORT: the suite talks to a server someone started by hand."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                conn.sendall(conn.recv(100).upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    pytester.makepyfile(test_s='''
        from grader.testing import recv_exactly

        def test_connect(connect, server):
            sock = connect()
            sock.sendall(b"hi")
            assert recv_exactly(sock, 2) == b"HI"
            assert server.url.startswith("http://127.0.0.1:")
    ''')
    data = _run(pytester, "--server", f"127.0.0.1:{port}")
    assert [t["status"] for t in data["tests"]] == ["passed"], data
    listener.close()


def test_a_crash_while_reporting_is_a_failure_not_an_internal_error(
        pytester: pytest.Pytester) -> None:
    """If pytest itself cannot describe a failure, the test fails and the run goes on."""
    pytester.makeconftest('''
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_makereport(item, call):
            if call.when == "call" and item.name == "test_a":
                raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'int'")
    ''')
    pytester.makepyfile(test_x='''
        def test_a():
            raise TimeoutError("slow")

        def test_b():
            pass
    ''')
    data = _run(pytester)
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["test_x.py::test_a"]["status"] == "failed"
    assert "did not answer in time" in tests["test_x.py::test_a"]["feedback"]
    assert tests["test_x.py::test_b"]["status"] == "passed"


def test_the_per_test_timeout_is_stretched_by_the_machines_load(pytester: pytest.Pytester) -> None:
    """A test is cut at its timeout only in time the server was free to run: here the server's
    threads (as the plugin sees them) waited for a CPU the whole time, so a test that takes 1.5 s
    under a 1 s timeout still finishes; the same test with a server that ran freely does not."""
    pytester.makeconftest('''
        import time

        import pytest

        from grader.sandbox import wait
        from grader.sandbox.base import Activity

        START = time.monotonic()

        @pytest.fixture
        def starved():
            with wait.watching(lambda: Activity(0.0, False, time.monotonic() - START, False)):
                yield
    ''')
    pytester.makepyfile(test_slow='''
        import time

        def test_under_load(starved):
            time.sleep(1.5)

        def test_alone():
            time.sleep(1.5)
    ''')
    tests = {t["name"]: t for t in _run(pytester, "-o", "timeout=1",
                                         "-o", "timeout_func_only=true")["tests"]}
    assert tests["test_slow.py::test_under_load"]["status"] == "passed"
    alone = tests["test_slow.py::test_alone"]
    assert alone["status"] == "failed", alone
    assert alone["feedback"].startswith("the test did not finish within 1 s"), alone
