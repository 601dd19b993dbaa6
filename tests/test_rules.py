"""Import rules (grader/core/rules.py): the submission's files are parsed, never run, and a breach
names the file, the line and the rule. Plus the `support` folder's placeholders (config)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from grader.core.config import Assignment, ImportRules, load_course
from grader.core.rules import breach, check_imports, check_rules, imports_of

from .conftest import ROOT

TIER = "pure"  # what its tests need (tests/conftest.py)

RULES = ImportRules(forbidden=["http.server", "socketserver", "wsgiref"], stdlib_only=True)


def _assignment(tmp_path: Path, rules: ImportRules = RULES) -> Assignment:
    return Assignment(id="x", dir=tmp_path, title="x", imports=rules)


def _submission(tmp_path: Path, files: dict[str, str]) -> Path:
    sub = tmp_path / "student"
    for name, text in files.items():
        (sub / name).parent.mkdir(parents=True, exist_ok=True)
        (sub / name).write_text(text)
    return sub


@pytest.mark.parametrize(("code", "found"), [
    ("import socket, http.server as hs", [(1, "socket"), (1, "http.server")]),
    ("from http import server", [(1, "http"), (1, "http.server")]),
    ("from wsgiref.simple_server import make_server", [
        (1, "wsgiref.simple_server"), (1, "wsgiref.simple_server.make_server")]),
    ("from . import helpers\nfrom .x import y", []),  # relative: the submission's own
    ("def f():\n    import socketserver", [(2, "socketserver")]),  # anywhere, not only on top
    ("__import__('wsgiref')\nimportlib.import_module('socketserver')",
     [(1, "wsgiref"), (2, "socketserver")]),
    ("name = 'wsgi' + 'ref'\n__import__(name)", []),  # built at run time: out of reach
])
def test_imports_of(code: str, found: list[tuple[int, str]]) -> None:
    assert sorted(imports_of(ast.parse(code))) == sorted(found)


@pytest.mark.parametrize(("module", "allowed"), [
    ("socket", True), ("http", True), ("http.client", True), ("email.parser", True),
    ("http.server", False), ("socketserver", False), ("wsgiref.validate", False),
    ("wsgirefx", False),  # not a submodule of wsgiref, but not standard library either
    ("requests", False), ("helpers", True), ("helpers.sub", True),
])
def test_breach(module: str, allowed: bool) -> None:
    assert (breach(module, RULES, local={"helpers"}) is None) == allowed


def test_names_file_line_and_rule(tmp_path: Path) -> None:
    sub = _submission(tmp_path, {"server.py": "import socket\nimport helpers\n",
                                 "helpers.py": "import os\n\nfrom http import server\n"})
    problem = check_imports(_assignment(tmp_path), sub)
    assert problem == ("helpers.py line 3: imports http.server, which this assignment forbids "
                       "(forbidden: http.server, socketserver, wsgiref)")


def test_outside_the_standard_library(tmp_path: Path) -> None:
    sub = _submission(tmp_path, {"pkg/__init__.py": "", "pkg/server.py": "import pkg\n",
                                 "server.py": "import pkg.server\n\n\nimport gevent\n"})
    problem = check_imports(_assignment(tmp_path), sub)
    assert problem == ("server.py line 4: imports gevent, which is not in the standard library "
                       "(this assignment allows the standard library only)")


def test_clean_submission_and_no_rules(tmp_path: Path) -> None:
    sub = _submission(tmp_path, {"server.py": "import socket, threading\nfrom http import "
                                 "HTTPStatus\n", ".venv/lib/site.py": "import wsgiref\n",
                                 "broken.py": "import wsgiref\ndef (:\n"})
    assert check_imports(_assignment(tmp_path), sub) is None  # .venv skipped, broken unparsed
    loose = _submission(tmp_path, {"server.py": "import wsgiref\n"})
    assert check_imports(_assignment(tmp_path, ImportRules()), loose) is None


def test_never_runs_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    sub = _submission(tmp_path, {"server.py": f"open({str(marker)!r}, 'w')\nimport wsgiref\n"})
    assert "server.py line 2" in (check_imports(_assignment(tmp_path), sub) or "")
    assert not marker.exists()


def test_wsgiserver_declares_the_rule() -> None:
    rules = load_course(ROOT).assignment("wsgiserver").imports
    assert {"http.server", "socketserver", "wsgiref"} <= set(rules.forbidden)
    assert rules.stdlib_only


def test_support_and_runners_placeholders(tmp_path: Path) -> None:
    (tmp_path / "support").mkdir()
    a = Assignment(id="x", dir=tmp_path, title="x", support="support",
                   entry="python {support}/run.py app:application",
                   env={"PYTHONPATH": "{support}", "OTHER": "1"})
    argv, env = a.command(support="/srv/support", runners="/srv/runners")
    assert argv == ["python", "/srv/support/run.py", "app:application"]
    assert env == {"PYTHONPATH": "/srv/support", "OTHER": "1", "SUPPORT": "/srv/support"}
    assert a.support_path == tmp_path / "support" and not a.uses_runners
    b = Assignment(id="y", dir=tmp_path, title="y", entry="python {runners}/wsgi_runner.py m:app")
    argv, env = b.command(support="", runners="/srv/runners")
    assert argv == ["python", "/srv/runners/wsgi_runner.py", "m:app"] and env == {}
    assert b.uses_runners


def test_support_folder_must_exist(tmp_path: Path) -> None:
    (tmp_path / "assignments").mkdir()
    shutil.copytree(ROOT / "assignments" / "echo", tmp_path / "assignments" / "echo")
    (tmp_path / "grading.yml").write_text("name: x\nassignments:\n  echo: {}\n")
    yml = tmp_path / "assignments" / "echo" / "assignment.yml"
    yml.write_text(yml.read_text() + "support: nowhere\n")
    with pytest.raises(Exception, match="support: 'nowhere' does not exist"):
        load_course(tmp_path)


def test_support_module_cannot_be_shadowed(tmp_path: Path) -> None:
    (tmp_path / "support").mkdir()
    (tmp_path / "support" / "grader_probes.py").write_text("")
    a = Assignment(id="x", dir=tmp_path, title="x", support="support")
    fake = _submission(tmp_path, {"server.py": "", "grader_probes.py": "application = None\n"})
    assert check_rules(a, fake) == ("grader_probes.py: the module name 'grader_probes' is "
                                    "reserved for the grader's own code; rename your file")
    deep = tmp_path / "deep"
    (deep / "tests").mkdir(parents=True)
    (deep / "tests" / "grader_probes.py").write_text("")  # not importable as grader_probes
    assert check_rules(a, deep) is None


def test_support_placeholder_needs_a_support_folder(tmp_path: Path) -> None:
    (tmp_path / "assignments").mkdir()
    shutil.copytree(ROOT / "assignments" / "echo", tmp_path / "assignments" / "echo")
    (tmp_path / "grading.yml").write_text("name: x\nassignments:\n  echo: {}\n")
    yml = tmp_path / "assignments" / "echo" / "assignment.yml"
    yml.write_text(yml.read_text() + "env: {PYTHONPATH: '{support}'}\n")
    with pytest.raises(Exception, match="assignment.yml: env.PYTHONPATH: uses {support}, but no"):
        load_course(tmp_path)
