"""grading.yml and assignment.yml: a bad value gives one line naming the file, the key, the value
and what was expected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.core.config import ConfigError, load_course

from .conftest import ROOT

TIER = "pure"  # what its tests need (tests/conftest.py)


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """A minimal real course: grading.yml plus the echo assignment."""
    (tmp_path / "assignments").mkdir()
    shutil.copytree(ROOT / "assignments" / "echo", tmp_path / "assignments" / "echo")
    (tmp_path / "grading.yml").write_text("name: Test course\nassignments:\n  echo: {weight: 1}\n")
    return tmp_path


def _error(course_dir: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_course(course_dir)
    return str(exc.value)


def test_valid_course_loads_with_defaults(course_dir: Path) -> None:
    course = load_course(course_dir)
    echo = course.assignment("echo")
    assert echo.argv == ["python", "server.py"]
    assert course.limits_for(echo).memory_bytes() == 256 * 1024 * 1024
    assert [p.name for p in echo.suites(hidden=True)] == ["tests", "hidden"]
    assert [p.name for p in echo.suites(hidden=False)] == ["tests"]


@pytest.mark.parametrize(("text", "expected"), [
    ("name: x\nassignments: {echo: {}}\nlimits: {memory: lots}\n",
     "grading.yml: limits.memory: 'lots' is invalid: expected a size such as 256m"),
    ("name: x\nassignments: {echo: {weight: -1}}\n",
     "grading.yml: assignments.echo.weight: -1 is invalid"),
    ("name: x\nassignments: {echo: {}}\nlimit: {}\n",
     "grading.yml: limit: unknown key (known keys: name, base_image, limits, assignments, late, "
     "collect, roster, cluster)"),
    ("name: x\nassignments: {echo: {}}\ncluster: {scheduler: '0.0.0.0:8786'}\n",
     "grading.yml: cluster.scheduler: '0.0.0.0:8786' is invalid: expected tcp://HOST:PORT"),
    ("name: x\nassignments: {echo: {}}\ncluster: {scheduler: 'tls://h:1', wait: 0}\n",
     "grading.yml: cluster.wait: 0 is invalid"),
    ("name: x\nassignments: {echo: {}}\nlate: {penalty: 5}\n",
     "grading.yml: late.penalty: unknown key (known keys: grace_minutes, penalty_per_day, cap, "
     "max_days)"),
    ("name: x\nassignments: {echo: {late: {grace: 5}}}\n",
     "grading.yml: assignments.echo.late.grace: unknown key (known keys: grace_minutes, "
     "penalty_per_day, cap, max_days)"),
    ("name: x\nassignments: {echo: {due: 2026-02-30T23:59:00}}\n",
     "grading.yml: assignments.echo.due: '2026-02-30T23:59:00' is invalid"),
    ("name: x\nassignments: {echo: {}}\nlate: {penalty_per_day: 120}\n",
     "grading.yml: late.penalty_per_day: 120 is invalid"),
    ("name: x\nassignments: {echo: {extensions: {ann: soon}}}\n",
     "grading.yml: assignments.echo.extensions.ann: 'soon' is invalid"),
    ("name: x\nassignments: {echo: {}}\ncollect: {url: 'https://h/{user}.git'}\n",
     "grading.yml: collect.url: 'https://h/{user}.git' is invalid: unknown placeholder 'user'"),
    ("name: x\nassignments: {echo: {}}\ncollect: {timezone: Mars/Base}\n",
     "grading.yml: collect.timezone: 'Mars/Base' is invalid: expected an IANA time zone"),
    ("name: x\nassignments: {echo: {}}\nroster: nobody.csv\n",
     "grading.yml: roster: 'nobody.csv' does not exist"),
    ("assignments: {echo: {}}\n", "grading.yml: name: required key is missing"),
    ("name: x\nassignments: {chess: {}}\n", "assignments/chess/assignment.yml: file not found"),
    ("name: [unclosed\n", "grading.yml: not valid YAML"),
    ("- just\n- a list\n", "grading.yml: expected a mapping"),
])
def test_bad_grading_yml(course_dir: Path, text: str, expected: str) -> None:
    (course_dir / "grading.yml").write_text(text)
    assert expected in _error(course_dir)


@pytest.mark.parametrize(("line", "expected"), [
    ("port: 80", "assignment.yml: port: 80 is invalid"),
    ("entry: ''", "assignment.yml: entry: '' is invalid: expected a command"),
    ("docroot: nowhere", "assignment.yml: docroot: 'nowhere' does not exist"),
    ("test_timeout: soon", "assignment.yml: test_timeout: 'soon' is invalid"),
    ("id: other", "assignment.yml: id: is set by the grader, remove it"),
])
def test_bad_assignment_yml(course_dir: Path, line: str, expected: str) -> None:
    path = course_dir / "assignments" / "echo" / "assignment.yml"
    path.write_text(path.read_text() + line + "\n")
    assert expected in _error(course_dir)


def test_missing_grading_yml(tmp_path: Path) -> None:
    assert f"{tmp_path}/grading.yml: file not found" in _error(tmp_path)


def test_unknown_assignment_names_the_known_ones(course_dir: Path) -> None:
    with pytest.raises(ConfigError, match="unknown assignment 'chess': grading.yml lists echo"):
        load_course(course_dir).assignment("chess")


PROCFILES = {
    "web: gunicorn app:app --bind 0.0.0.0:$PORT\n":
        ["gunicorn", "app:app", "--bind", "0.0.0.0:8123"],
    "# deployed with honcho\nworker: python jobs.py\nweb:gunicorn 'app:create_app()'\n":
        ["gunicorn", "app:create_app()"],
    "web: python app.py --port ${PORT} $UNSET\n": ["python", "app.py", "--port", "8123", ""],
}


@pytest.mark.parametrize("text", sorted(PROCFILES))
def test_a_procfile_entry_runs_the_web_line(course_dir: Path, tmp_path: Path, text: str) -> None:
    from grader.sandbox.base import server_command

    (course_dir / "assignments/echo/assignment.yml").write_text("title: Echo\nprocfile: web\n")
    echo = load_course(course_dir).assignment("echo")
    code = tmp_path / "code"
    code.mkdir()
    (code / "Procfile").write_text(text)
    argv, env = server_command(echo, port=8123, host="0.0.0.0", home="/tmp", support="",
                               runners="", docroot=None, data_dir=None, code=code)
    assert argv == PROCFILES[text] and env["PORT"] == "8123"


@pytest.mark.parametrize(("text", "reason"), [
    (None, "no Procfile: the server starts from the `web:` line of a file named Procfile"),
    ("worker: python jobs.py\n", "the Procfile has no `web:` line: expected a line such as "
                                 "`web: gunicorn app:app`"),
    ("web:   \n", "the Procfile's `web:` line has no command"),
    ("web: gunicorn 'app:app\n", "the Procfile's `web:` line does not parse (No closing "
                                 "quotation)"),
])
def test_a_missing_or_bad_procfile_is_the_students_startup_error(
        course_dir: Path, tmp_path: Path, text: str | None, reason: str) -> None:
    from grader.sandbox.base import StartupError, server_command

    (course_dir / "assignments/echo/assignment.yml").write_text("title: Echo\nprocfile: web\n")
    echo = load_course(course_dir).assignment("echo")
    if text is not None:
        (tmp_path / "Procfile").write_text(text)
    with pytest.raises(StartupError) as exc:
        server_command(echo, port=8123, host="0.0.0.0", home="/tmp", support="", runners="",
                       docroot=None, data_dir=None, code=tmp_path)
    assert reason in exc.value.reason
