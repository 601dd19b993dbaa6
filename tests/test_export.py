"""Exports, checked as the services that receive them would use them: the plain GitHub workflow's
`run:` steps in a shell, Classroom 50's autograder in a checkout with the runner's variables,
Gradescope's run_autograder in /autograder-shaped folders. Structure (no hidden test, fixture
or reference file; manifest; actionlint) and full runs for every assignment and every target."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.core.config import Course
from grader.export import TARGETS, export_assignment
from grader.export.lock import student_lock

from .conftest import ROOT, course_copy

TIER = "process"  # what its tests need (tests/conftest.py)

GRADER = [sys.executable, "-m", "grader"]
ASSIGNMENTS = list(yaml.safe_load((ROOT / "grading.yml").read_text())["assignments"])
SCHEMA = json.loads((ROOT / "tests/schemas/classroom50-result-v1.schema.json").read_text())
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def _export(course: Course, assignment: str, out: Path, target: str, **kw: str) -> Path:
    export_assignment(course=course, assignment=course.assignment(assignment), out=out,
                      target=target, **kw)
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _forbidden(assignment: str) -> tuple[set[str], set[str]]:
    """(hashes of reference files students do not get, names only hidden tests use)."""
    starter = {_sha(p) for p in _files(ROOT / "starter" / assignment)}
    reference = {_sha(p) for p in _files(ROOT / "reference" / assignment)} - starter
    adir = ROOT / "assignments" / assignment
    public = "\n".join(p.read_text() for p in (adir / "tests").rglob("*.py"))
    hidden = "\n".join(p.read_text() for p in (adir / "hidden").rglob("*.py"))
    only_hidden = {e.name for e in adir.iterdir()
                   if e.name in hidden and e.name not in public
                   and e.name not in ("hidden", "conftest.py", "assignment.yml", "handout.md")}
    return reference, only_hidden


def _check_manifest(root: Path, assignment: str, workflows: list[str]) -> None:
    manifest = json.loads((root / ".grader/manifest.json").read_text())
    assert set(manifest) == {"assignment", "files"} and manifest["assignment"] == assignment
    kit = {p.relative_to(root).as_posix() for p in _files(root / ".grader")}
    assert set(manifest["files"]) == (kit - {".grader/manifest.json"}) | set(workflows)
    assert any(f.startswith(f".grader/assignments/{assignment}/tests/") for f in kit)
    for rel, digest in manifest["files"].items():
        assert _sha(root / rel) == digest, rel


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exports_hold_no_hidden_test_fixture_or_reference(tmp_path: Path, course: Course,
                                                         assignment: str) -> None:
    github = _export(course, assignment, tmp_path / "github", "github")
    c50 = _export(course, assignment, tmp_path / "c50", "classroom50", classroom="net-101")
    gradescope = _export(course, assignment, tmp_path / "gs", "gradescope")
    reference, only_hidden = _forbidden(assignment)
    if assignment == "webserver":
        assert only_hidden == {"secret.txt"}  # the traversal tests' target
    hidden_tests = {_sha(p) for p in _files(ROOT / "assignments" / assignment / "hidden")}
    for root in (github, c50):
        for path in _files(root):
            rel = path.relative_to(root)
            assert "hidden" not in rel.parts and not only_hidden & set(rel.parts), rel
            assert _sha(path) not in reference | hidden_tests, f"{rel} is a reference/hidden file"
    with zipfile.ZipFile(gradescope / "autograder.zip") as zf:
        names = zf.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        assert not {hashlib.sha256(zf.read(n)).hexdigest() for n in names} & reference
    assert any(f"assignments/{assignment}/hidden/" in n for n in names)  # instructors' zip
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111

    _check_manifest(github, assignment, [".github/workflows/grade.yml"])
    _check_manifest(c50 / "template", assignment, [])
    assert not (c50 / "template/.github/workflows/autograde.yaml").exists()  # Classroom 50's
    bundle = c50 / "config/net-101/autograders" / assignment
    assert (bundle / "autograder.py").is_file() and not (bundle / "kit/assignments" /
                                                         assignment / "hidden").exists()
    settings = json.loads((bundle / "assignment-settings.json").read_text())
    assert settings["runtime"]["runs-on"] == "ubuntu-latest"
    assert all(Path(a).name != "result.json" for a in settings["release_assets"])

    workflow = github / ".github/workflows/grade.yml"
    uses = re.findall(r"^\s*-? ?uses: (\S+)", workflow.read_text(), re.M)
    assert uses == ["actions/checkout@v6", "actions/setup-python@v6", "astral-sh/setup-uv@v7",
                    "actions/upload-artifact@v7"]  # the Node 24 majors
    setup_uv = next(s for s in yaml.safe_load(workflow.read_text())["jobs"]["grade"]["steps"]
                    if s.get("uses", "").startswith("astral-sh/setup-uv"))
    # the install is cached between runs, keyed on the lock it installs
    assert setup_uv["with"] == {"enable-cache": True,
                                "cache-dependency-glob": ".grader/student.lock"}
    assert (github / ".grader/student.lock").read_text() == student_lock(
        course, course.assignment(assignment))
    lint = subprocess.run([str(ACTIONLINT), "-no-color", str(workflow)], capture_output=True,
                          text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_install_value_is_quoted_and_refused_where_unsafe(tmp_path: Path,
                                                           course: Course) -> None:
    value = 'course-grader @ git+https://example.invalid/c.git@0123abc#egg=x "q" $HOME'
    repo = _export(course, "echo", tmp_path / "repo", "github", install=value)
    workflow = yaml.safe_load((repo / ".github/workflows/grade.yml").read_text())
    step = next(s for s in workflow["jobs"]["grade"]["steps"] if "GRADER_INSTALL" in
                s.get("env", {}))
    assert step["env"]["GRADER_INSTALL"] == value and '"$GRADER_INSTALL"' in step["run"]
    assert subprocess.run([str(ACTIONLINT), str(repo / ".github/workflows/grade.yml")],
                          capture_output=True).returncode == 0
    done = subprocess.run([*GRADER, "export", "echo", "--out", str(tmp_path / "bad"),
                           "--install", "x ${{ secrets.TOKEN }}"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 2 and "one pip requirement" in done.stdout


def test_classroom50_bundle_is_named_after_grading_yml_unless_told(tmp_path: Path,
                                                                    course: Course) -> None:
    done = subprocess.run([*GRADER, "export", "echo", "--for", "classroom50", "--out",
                           str(tmp_path / "a"), "--course", str(course_copy(tmp_path / "course"))],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    named = course.collect.classroom
    assert named == "ip-fall-2026"  # grading.yml's collect.classroom
    assert [p.name for p in (tmp_path / "a/config").iterdir()] == [named]
    assert f"config/{named}/autograders/echo" in " ".join(done.stdout.split())
    told = _export(course, "echo", tmp_path / "b", "classroom50", classroom="net-101")
    assert [p.name for p in (told / "config").iterdir()] == ["net-101"]
    nameless = course.model_copy(update={"collect": course.collect.model_copy(
        update={"classroom": ""})})
    with pytest.raises(ValueError, match="set collect.classroom in grading.yml, or pass"):
        _export(nameless, "echo", tmp_path / "c", "classroom50")
    with pytest.raises(ValueError, match="--classroom is for the classroom50 bundle"):
        _export(course, "echo", tmp_path / "d", "github", classroom="net-101")


def test_every_export_names_one_python(tmp_path: Path, course: Course) -> None:
    """The workflow, Classroom 50's runtime and Gradescope's setup.sh grade with the same Python
    (the Docker image's); the wheel and the README give one range around it."""
    from grader.export.kit import PYTHON, PYTHONS, REQUIRES_PYTHON

    github = _export(course, "echo", tmp_path / "github", "github")
    workflow = yaml.safe_load((github / ".github/workflows/grade.yml").read_text())
    setup = next(s for s in workflow["jobs"]["grade"]["steps"]
                 if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == PYTHON
    c50 = _export(course, "echo", tmp_path / "c50", "classroom50")
    settings = json.loads(next((c50 / "config").glob("*/autograders/echo/"
                                                     "assignment-settings.json")).read_text())
    assert settings["runtime"]["python"] == PYTHON
    gs = _export(course, "echo", tmp_path / "gs", "gradescope") / "source"
    assert f"PY=python{PYTHON}\n" in (gs / "setup.sh").read_text()
    low, high = PYTHONS
    assert REQUIRES_PYTHON == f">={low},<3.{int(high.split('.')[1]) + 1}"
    for root in (github, c50 / "template"):
        readme = (root / "README.md").read_text()
        assert f"You need Python {low} to {high} (the course grades with {PYTHON})" in readme
        assert {".venv/", "grader-report/"} <= set((root / ".gitignore").read_text().split())
    for wheel in [*github.glob(".grader/*.whl"), *gs.glob("*.whl")]:
        with zipfile.ZipFile(wheel) as zf:
            meta = zf.read(next(n for n in zf.namelist() if n.endswith("METADATA"))).decode()
        assert f"Requires-Python: {REQUIRES_PYTHON}" in meta.splitlines()


@pytest.mark.slow
def test_pinned_install_resolves_on_the_lowest_and_highest_python(tmp_path: Path,
                                                                  course: Course) -> None:
    """Only one Python is on this machine: pip resolves the exported lock (every package, with
    its hashes) for the range's ends, binary wheels only, as it would install there."""
    from grader.export.kit import PYTHONS

    gs = _export(course, "books", tmp_path / "gs", "gradescope") / "source"
    # pip's --python-version does not reach the lock's markers (it reads them with this Python):
    # the entries that one of that version would install, hashes and all
    entries = re.findall(r"^[^\s#].*\n(?:[ \t].*\n)*", (gs / "student.lock").read_text(), re.M)
    for version in PYTHONS:
        tag = version.replace(".", "")
        env = {"python_version": version, "python_full_version": f"{version}.0",
               "sys_platform": "linux", "platform_system": "Linux"}
        mine = [e for e in entries if (r := Requirement(e.split("\n")[0].rstrip("\\ "))).marker
                is None or r.marker.evaluate(env)]
        assert any(e.startswith("tomli==") for e in mine) == (version == "3.10")
        # markers dropped from what is kept, or pip would read them again with this Python
        (tmp_path / f"{tag}.lock").write_text("".join(re.sub(r" ;[^\\\n]*", "", e, count=1)
                                                      for e in mine))
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--only-binary=:all:",
             "--python-version", version, "--implementation", "cp", "--abi", f"cp{tag}",
             "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux_2_28_x86_64",
             "--target", str(tmp_path / tag), "--require-hashes", "-r",
             str(tmp_path / f"{tag}.lock")],
            capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (version, done.stdout[-2000:], done.stderr[-2000:])


@pytest.mark.slow
def test_template_readme_steps_work_on_debian_12(tmp_path: Path, course: Course) -> None:
    """The README's commands, typed by a student into Debian 12's shell (its own python3, which
    refuses a pip install outside a virtual environment: PEP 668)."""
    system = Path("/usr/bin/python3")
    if not (Path("/usr/lib") / f"python3.{sys.version_info[1]}" / "EXTERNALLY-MANAGED").is_file():
        pytest.skip("needs Debian's own python3 (externally managed)")
    repo = _export(course, "echo", tmp_path / "repo", "github")
    readme = (repo / "README.md").read_text().split("## Checking your work", 1)[1]
    blocks = re.findall(r"((?:^    \S.*\n)+)", readme, re.M)
    assert len(blocks) == 2, blocks
    install, check = ("".join(line[4:] + "\n" for line in b.splitlines()) for b in blocks)
    env = {k: v for k, v in _platform_env().items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = "/usr/bin:/bin"  # Debian's python3 first: a laptop's shell
    before = subprocess.run(["bash", "-c", f"{system} -m pip install --dry-run click"],
                            cwd=repo, env=env, capture_output=True, text=True)
    assert "externally-managed-environment" in before.stderr  # the old README's line failed so
    done = subprocess.run(["bash", "-ec", install + check], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]  # the starter: < full
    assert "checking . for 'echo'" in done.stdout and "score:" in done.stdout
    assert "debootstrap" not in done.stdout + done.stderr


@pytest.mark.pure
def test_an_export_needs_a_lock_that_pins_what_the_grader_and_assignment_need(
        tmp_path: Path, course: Course) -> None:
    from grader.export.lock import LOCK, check_lock

    books = course.assignment("books")
    here = course.model_copy(update={"root": tmp_path})
    with pytest.raises(ValueError, match=f"{LOCK} is missing: run `grader lock`"):
        check_lock(here, books)
    lock = (ROOT / LOCK).read_text()
    assert check_lock(course, books) == ROOT / LOCK  # the project's own lock is complete
    (tmp_path / LOCK).write_text(re.sub(r"^rich==.*\n(    .*\n)*", "", lock, flags=re.M))
    with pytest.raises(ValueError, match="does not pin rich: run `grader lock`"):
        check_lock(here, books)
    (tmp_path / LOCK).write_text(lock.replace("\nflask==3.1.3 ", "\nflask==3.1.2 "))
    with pytest.raises(ValueError, match="pins Flask 3.1.2, which Flask==3.1.3 excludes"):
        check_lock(here, books)


@pytest.mark.pure
def test_each_export_installs_its_own_part_of_the_lock(course: Course) -> None:
    """The grader's dependencies and the assignment's requirements with what they bring in,
    never another assignment's: an echo student gets neither Flask nor restapi's schemathesis."""
    from grader.export.lock import LOCK, pins, student_lock

    whole = pins((ROOT / LOCK).read_text())
    got = {a: pins(student_lock(course, course.assignment(a))) for a in ("echo", "restapi")}
    assert {"pytest", "pydantic", "requests", "iniconfig"} <= set(got["echo"])
    assert not {"flask", "werkzeug", "schemathesis", "hypothesis"} & set(got["echo"])
    assert {"flask", "tinydb", "schemathesis", "hypothesis"} <= set(got["restapi"])
    assert all(got[a][name] == whole[name] for a in got for name in got[a])


@pytest.mark.pure
def test_a_missing_extra_is_one_line() -> None:
    from grader.core.extras import MissingExtra, need

    assert need("yaml", extra="x", command="y").safe_load("a: 1") == {"a": 1}
    with pytest.raises(MissingExtra) as caught:
        need("grader_no_such_module", extra="cluster", command="grader grade --cluster")
    assert str(caught.value) == "grader grade --cluster needs: pip install 'course-grader[cluster]'"


def test_export_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("mine")
    done = subprocess.run([*GRADER, "export", "echo", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "is not empty" in done.stdout


# -- every assignment x every target, run as its platform runs it ------------------------------
# One install cache per test session, as a runner keeps its tool cache and Gradescope its image:
# each platform's own install script runs in every cell, and only the first pays for PyPI.


def _solve(repo: Path, assignment: str) -> None:
    shutil.copytree(ROOT / "reference" / assignment, repo, dirs_exist_ok=True)


def _git_commit(repo: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@example.invalid",
           "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@example.invalid",
           "GIT_COMMITTER_DATE": "2026-11-20T10:11:12Z"}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "work"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env, capture_output=True)


def _platform_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "PYTEST_"))}
    return env | extra


def _classroom50(bundle: Path, repo: Path, tmp: Path, cache: Path) -> dict:
    output = tmp / "c50-output"
    output.write_text("")
    env = _platform_env(
        CLASSROOM="net-101", ASSIGNMENT=repo.name, OWNER="ann", USERNAME="ann",
        ASSIGNMENT_TYPE="individual", GITHUB_ACTOR="ann",
        SUBMISSION_TAG="submit/2026-11-20T10-11-12Z-abc1234",
        COMMIT_URL="https://github.invalid/o/r/commit/abc", GITHUB_OUTPUT=str(output),
        RELEASE_URL="https://github.invalid/o/r/releases/tag/submit%2Fx",
        RUNNER_TEMP=str(cache), GRADER_BACKEND="process")
    done = subprocess.run([sys.executable, str(bundle / "autograder.py")], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((repo / "result.json").read_text())
    jsonschema.validate(result, SCHEMA)
    assert (repo / "release-body.md").read_text().startswith("## ")
    for asset in json.loads((bundle / "assignment-settings.json").read_text())["release_assets"]:
        assert (repo / asset).is_file(), asset
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["summary"] == f"Points {result['score']}/{result['max-score']}"
    return result | {"status": outputs["status"]}


def _run_classroom50(course: Course, assignment: str, tmp: Path, cache: Path) -> None:
    out = _export(course, assignment, tmp / "export", "classroom50", classroom="net-101")
    bundle = out / "config/net-101/autograders" / assignment
    repo = tmp / assignment
    shutil.copytree(out / "template", repo)
    _git_commit(repo)
    low = _classroom50(bundle, repo, tmp, cache)
    assert low["score"] < low["max-score"] and low["status"] == "failure"
    assert low["datetime"] == "2026-11-20T10:11:12Z"  # the commit's date, not the grading's
    _solve(repo, assignment)
    full = _classroom50(bundle, repo, tmp, cache)
    assert full["score"] == full["max-score"] > 0 and full["status"] == "success", full


def _runs(condition: str | None, outputs: dict[str, dict[str, str]], failed: bool) -> bool:
    """A step's `if:` as the runner reads the ones the workflow uses: `always()`, and
    `steps.ID.outputs.NAME ==/!= 'TEXT'` joined by &&; without always(), a step after a failed
    one does not run (the implicit success())."""
    if not condition:
        return not failed
    parts = [p.strip() for p in condition.split("&&")]
    verdict = "always()" in parts or not failed
    for part in parts:
        if part == "always()":
            continue
        m = re.fullmatch(r"steps\.(\w+)\.outputs\.([\w-]+) (==|!=) '([^']*)'", part)
        assert m, f"the test's runner does not read {part!r}"
        value = outputs.get(m[1], {}).get(m[2], "")
        verdict &= (value == m[4]) == (m[3] == "==")
    return verdict


def _run_workflow(workflow: dict, repo: Path, tmp: Path, run: str, cache: Path) -> dict:
    """Every `run:` step in bash as the runner would (its `if:` too), except the one that calls
    GitHub's API. RUNNER_TEMP is the session's cache, as the tool cache is on a runner: later
    installs are quick. `codes` holds each step's exit code; the job fails when one is not 0."""
    # this interpreter's folder first: the setup-python and setup-uv steps (uses:) put a Python
    # and uv on the runner's PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = _platform_env(GITHUB_ACTIONS="true", RUNNER_TEMP=str(cache), CI="true", PATH=path,
                        GITHUB_STEP_SUMMARY=str(tmp / f"summary-{run}.md"))
    Path(env["GITHUB_STEP_SUMMARY"]).write_text("")
    outputs: dict[str, dict[str, str]] = {}
    seen: dict[str, object] = {"log": "", "codes": {}, "skipped": []}
    for i, step in enumerate(workflow["jobs"]["grade"]["steps"]):
        if "run" not in step:
            continue
        if "gh api" in step["run"]:  # the commit status: checked from its inputs instead
            seen["skipped"].append(step)  # type: ignore[attr-defined]
            continue
        if not _runs(step.get("if"), outputs, any(seen["codes"].values())):  # type: ignore
            continue
        step_env = {k: str(v) for k, v in step.get("env", {}).items()}
        step_env = {k: re.sub(r"\$\{\{ steps\.(\w+)\.outputs\.([\w-]+) \}\}",
                              lambda m: outputs.get(m[1], {}).get(m[2], ""), v)
                    for k, v in step_env.items()}
        out = tmp / f"output-{run}-{i}"
        out.write_text("")
        assert not any("${{" in v for v in step_env.values()), step_env
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               step["run"]], cwd=repo, capture_output=True, text=True,
                              env={**env, **step_env, "GITHUB_OUTPUT": str(out)}, timeout=600)
        seen["log"] += done.stdout  # type: ignore[operator]
        seen["codes"][step.get("id", step.get("name"))] = done.returncode  # type: ignore[index]
        if step.get("id") != "grade" and step.get("name") != "Pass mark":
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        outputs[step.get("id", str(i))] = dict(
            line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return seen | {"outputs": outputs, "summary": Path(env["GITHUB_STEP_SUMMARY"]).read_text()}


def _commands_outside_stops(log: str) -> list[str]:
    """Workflow commands the runner would obey: those outside ::stop-commands:: blocks."""
    obeyed, token = [], None
    for line in log.splitlines():
        bare = line.lstrip()
        if token:
            token = None if bare == f"::{token}::" else token
        elif bare.startswith("::stop-commands::"):
            token = bare.removeprefix("::stop-commands::")
        elif bare.startswith(("::", "##[")):
            obeyed.append(bare)
    return obeyed


def _run_github(course: Course, assignment: str, tmp: Path, cache: Path) -> None:
    repo = _export(course, assignment, tmp / "repo", "github")
    workflow = yaml.safe_load((repo / ".github/workflows/grade.yml").read_text())
    low = _run_workflow(workflow, repo, tmp, "starter", cache)
    grade = low["outputs"]["grade"]
    # unfinished work is a green run (no fail_below in grading.yml): the score is in the notice,
    # the summary and the commit status
    assert set(low["codes"].values()) == {0} and grade["state"] == "success", low["log"][-3000:]
    assert float(grade["score"]) < float(grade["max-score"])
    assert grade["description"].startswith(f"Points {grade['score']}/{grade['max-score']} (")
    commands = _commands_outside_stops(low["log"])
    assert commands[0] == f"::notice title=Autograding complete::Points {grade['score']}/" \
                          f"{grade['max-score']}"
    assert len(commands) > 1 and all(c.startswith("::error title=") for c in commands[1:])
    assert low["summary"].startswith("## ") and "| ✘ |" in low["summary"]
    status = low["skipped"][0]
    assert "steps.grade.outputs.state" in status["env"]["STATE"]

    _solve(repo, assignment)
    full = _run_workflow(workflow, repo, tmp, "reference", cache)
    grade = full["outputs"]["grade"]
    assert set(full["codes"].values()) == {0} and grade["state"] == "success", full["log"][-3000:]
    assert grade["score"] == grade["max-score"] and float(grade["score"]) > 0
    assert _commands_outside_stops(full["log"]) == [
        f"::notice title=Autograding complete::Points {grade['score']}/{grade['max-score']}"]
    assert f": {grade['score']}/{grade['max-score']}" in full["summary"].splitlines()[0]
    assert (repo / "grader-report/feedback.html").is_file()  # what the artifact keeps
    ET.parse(repo / "grader-report/junit.xml")


@pytest.mark.slow
def test_student_install_is_the_lock_and_no_extra(tmp_path: Path, course: Course) -> None:
    """The workflow's install, run as the runner runs it into a fresh venv: exactly the lock's
    packages (no more, none missing, the same versions), none of the instructors' extras, and
    that install grades a Flask reference to full marks with the process backend."""
    repo = _export(course, "books", tmp_path / "repo", "github")
    workflow = yaml.safe_load((repo / ".github/workflows/grade.yml").read_text())
    _solve(repo, "books")
    cache = tmp_path / "runner"
    done = _run_workflow(workflow, repo, tmp_path, "reference", cache)
    grade = done["outputs"]["grade"]
    assert set(done["codes"].values()) == {0}, done["log"][-3000:]
    assert grade["score"] == grade["max-score"] and float(grade["score"]) > 0
    venv = cache / "course-grader/bin"
    frozen = subprocess.run([Path(sys.executable).parent / "uv", "pip", "freeze", "--python",
                             venv / "python"], capture_output=True, text=True, check=True).stdout
    installed = dict(line.lower().replace("_", "-").split("==") for line in frozen.splitlines()
                     if not line.startswith("course-grader @ "))
    # the venv's Python is this one: the lock's lines whose markers hold here, as pip reads them
    lines = [Requirement(line.rstrip("\\ ")) for line in
             (repo / ".grader/student.lock").read_text().splitlines()
             if line.strip() and line[0] not in " #"]
    here = {canonicalize_name(r.name): str(next(iter(r.specifier)).version) for r in lines
            if r.marker is None or r.marker.evaluate()}
    assert installed == here
    assert "distributed" not in installed and "pygithub" not in installed and len(here) < 40
    assert "schemathesis" not in installed  # another assignment's (restapi's suite)
    for module in ("distributed", "dask", "github", "copydetect", "cosmic_ray"):
        absent = subprocess.run([venv / "python", "-c", f"import {module}"], capture_output=True,
                                text=True)
        assert absent.returncode == 1 and "ModuleNotFoundError" in absent.stderr, module
    helped = subprocess.run([venv / "grader", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "check" in helped.stdout, helped.stderr
    missing = subprocess.run([venv / "grader", "similarity", "books", "--out", str(tmp_path),
                              "--course", str(ROOT)], capture_output=True, text=True)
    assert (missing.returncode, missing.stdout, missing.stderr) == (
        2, "error: grader similarity needs: pip install 'course-grader[instructor]'\n", "")


@pytest.mark.slow
def test_github_workflow_fails_only_below_the_courses_mark(tmp_path: Path,
                                                          course: Course) -> None:
    """grading.yml's `fail_below` (a percent of the public points) is the only score that turns
    a run red; the commit status says the same, with the points."""
    entry = course.assignments["echo"].model_copy(update={"fail_below": 60})
    strict = course.model_copy(update={"assignments": {**course.assignments, "echo": entry}})
    repo = _export(strict, "echo", tmp_path / "repo", "github")
    workflow = yaml.safe_load((repo / ".github/workflows/grade.yml").read_text())
    steps = workflow["jobs"]["grade"]["steps"]
    assert next(s for s in steps if s.get("id") == "grade")["env"] == {"GRADER_FAIL_BELOW": "60"}
    # the install step is the matrix's to run: this checkout's grader stands in for what it puts
    # in RUNNER_TEMP
    steps[:] = [s for s in steps if not s.get("name", "").startswith("Install")]
    cache = tmp_path / "cache"
    (cache / "course-grader/bin").mkdir(parents=True)
    (cache / "course-grader/bin/grader").symlink_to(Path(sys.executable).parent / "grader")

    low = _run_workflow(workflow, repo, tmp_path, "starter", cache)
    grade = low["outputs"]["grade"]
    assert low["codes"] == {"grade": 0, "Pass mark": 1}, low["log"][-3000:]
    assert float(grade["score"]) < 0.6 * float(grade["max-score"])
    assert grade["state"] == "failure" and grade["description"].endswith(
        ", below the course's 60%")
    assert "::error title=Not graded or below the pass mark::Points " in low["log"]

    _solve(repo, "echo")
    full = _run_workflow(workflow, repo, tmp_path, "reference", cache)
    assert full["codes"] == {"grade": 0}, full["log"][-3000:]  # the pass mark step: skipped
    assert full["outputs"]["grade"]["state"] == "success"


def _run_gradescope(course: Course, assignment: str, tmp: Path, cache: Path) -> None:
    """setup.sh and run_autograder in an /autograder-shaped folder. The image Gradescope builds
    from setup.sh is kept between cells (its venv), as Gradescope keeps it between submissions."""
    zip_path = _export(course, assignment, tmp / "export", "gradescope") / "autograder.zip"
    root = cache / "autograder"
    for part in ("source", "submission", "results"):
        shutil.rmtree(root / part, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    env = _platform_env(AUTOGRADER_ROOT=str(root))
    setup = subprocess.run(["bash", str(root / "source/setup.sh")], env=env, capture_output=True,
                           text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr

    def run(submission: Path) -> dict:
        shutil.rmtree(root / "submission", ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        shutil.copytree(submission, root / "submission")
        done = subprocess.run(["bash", str(root / "source/run_autograder")], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        results = json.loads((root / "results/results.json").read_text())
        assert {"score", "tests"} <= set(results) and results["tests"]
        for t in results["tests"]:
            assert {"name", "score", "max_score", "visibility"} <= set(t), t
        # before publication: nothing of a hidden test in the output; plain numbers, visible first
        tests = results["tests"]
        shown = [t for t in tests if t["visibility"] == "visible"]
        assert [t["number"] for t in tests] == [str(i) for i in range(1, len(tests) + 1)]
        assert tests[:len(shown)] == shown
        assert not any(t["name"] in results["output"] for t in tests[len(shown):])
        assert f" of {len(tests)} tests" not in results["output"]
        return results

    low = run(ROOT / "starter" / assignment)
    full = run(ROOT / "reference" / assignment)
    total = sum(t["max_score"] for t in full["tests"])
    assert full["score"] == total > 0 and low["score"] < total, full
    assert any(t["visibility"] == "after_published" for t in full["tests"])  # hidden ran too


RUN = {"github": _run_github, "classroom50": _run_classroom50, "gradescope": _run_gradescope}
_MATRIX = "test_every_export_grades_as_its_platform_runs_it"


@pytest.fixture(scope="session")
def export_runs(request: pytest.FixtureRequest, course: Course,
                tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Callable[[str, str], Future[None]]]:
    """Every selected cell of the matrix, started together when the first is asked for: one
    thread per target, whose cells run one after another (they share the target's install
    cache), so the three targets overlap and the matrix takes about a third of its time in a
    row. Each test then waits for its cell. Under pytest-xdist (make test) each target's cells
    are one group, which one worker runs: a worker starts the cells of the targets it is given
    (the matrix is collected whole in every worker, to be run in none but one)."""
    lanes = {target: ThreadPoolExecutor(1, thread_name_prefix=target) for target in TARGETS}
    cells = [(item.callspec.params["assignment"], item.callspec.params["target"])
             for item in request.session.items if getattr(item, "originalname", "") == _MATRIX]
    runs: dict[tuple[str, str], Future[None]] = {}
    on_worker = hasattr(request.config, "workerinput")

    def cell(assignment: str, target: str) -> Future[None]:
        for assignment_, target_ in cells:
            if (target_ == target or not on_worker) and (assignment_, target_) not in runs:
                cache = tmp_path_factory.getbasetemp() / "runner-cache" / target_
                cache.mkdir(parents=True, exist_ok=True)
                runs[(assignment_, target_)] = lanes[target_].submit(
                    RUN[target_], course, assignment_,
                    tmp_path_factory.mktemp(f"{assignment_}-{target_}"), cache)
        return runs[(assignment, target)]

    yield cell
    for lane in lanes.values():
        lane.shutdown(wait=True, cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("target", [pytest.param(t, marks=pytest.mark.xdist_group(f"export-{t}"))
                                    for t in TARGETS])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_export_grades_as_its_platform_runs_it(
        export_runs: Callable[[str, str], Future[None]], assignment: str, target: str) -> None:
    """The starter scores less than full marks, the reference full marks, and the platform's
    result file is valid: for every assignment in grading.yml and every export target."""
    export_runs(assignment, target).result()
