"""Exports, checked as the services that receive them would use them: the plain GitHub workflow's
`run:` steps in a shell, Classroom 50's autograder in a checkout with the runner's variables,
Gradescope's run_autograder in /autograder-shaped folders. Structure (no hidden test, fixture
or reference file; manifest; actionlint) for every assignment; full runs on echo and books."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from grader.config import Course
from grader.export import export_assignment

from .conftest import ROOT

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
    assert uses == ["actions/checkout@v6", "actions/setup-python@v6",
                    "actions/upload-artifact@v7"]  # the Node 24 majors
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


def test_export_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("mine")
    done = subprocess.run([*GRADER, "export", "echo", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "is not empty" in done.stdout


# -- full runs ------------------------------------------------------------------------------


def _solve(repo: Path, assignment: str) -> None:
    shutil.copytree(ROOT / "reference" / assignment, repo, dirs_exist_ok=True)


def _git_commit(repo: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@example.invalid",
           "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@example.invalid",
           "GIT_COMMITTER_DATE": "2026-11-20T10:11:12Z"}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "work"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env, capture_output=True)


def _classroom50(bundle: Path, repo: Path, tmp: Path, *, install: bool) -> dict:
    output = tmp / "c50-output"
    output.write_text("")
    env = {**os.environ, "CLASSROOM": "net-101", "ASSIGNMENT": repo.name, "OWNER": "ann",
           "USERNAME": "ann", "ASSIGNMENT_TYPE": "individual", "GITHUB_ACTOR": "ann",
           "SUBMISSION_TAG": "submit/2026-11-20T10-11-12Z-abc1234",
           "COMMIT_URL": "https://github.invalid/o/r/commit/abc", "GITHUB_OUTPUT": str(output),
           "RELEASE_URL": "https://github.invalid/o/r/releases/tag/submit%2Fx",
           "RUNNER_TEMP": str(tmp), "GRADER_BACKEND": "process"}
    if not install:
        env["GRADER_PYTHON"] = sys.executable
    done = subprocess.run([sys.executable, str(bundle / "autograder.py")], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((repo / "result.json").read_text())
    jsonschema.validate(result, SCHEMA)
    assert (repo / "release-body.md").read_text().startswith("## ")
    for asset in json.loads((bundle / "assignment-settings.json").read_text())["release_assets"]:
        assert (repo / asset).is_file(), asset
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["summary"] == f"Points {result['score']}/{result['max-score']}"
    return result | {"status": outputs["status"]}


# Each path once in `make test` (books: Flask installed from the bundle's wheel), both in test-all.
@pytest.mark.parametrize("assignment", [pytest.param("echo", marks=pytest.mark.full_only),
                                        "books"])
def test_classroom50_bundle_grades_the_checkout(tmp_path: Path, course: Course,
                                               assignment: str) -> None:
    out = _export(course, assignment, tmp_path / "export", "classroom50", classroom="net-101")
    bundle = out / "config/net-101/autograders" / assignment
    repo = tmp_path / assignment
    shutil.copytree(out / "template", repo)
    _git_commit(repo)
    low = _classroom50(bundle, repo, tmp_path, install=False)
    assert low["score"] < low["max-score"] / 2 and low["status"] == "failure"
    assert low["datetime"] == "2026-11-20T10:11:12Z"  # the commit's date, not the grading's
    _solve(repo, assignment)
    # books (Flask): the real install from the bundle's wheel and pins, as on the runner
    full = _classroom50(bundle, repo, tmp_path, install=assignment == "books")
    assert full["score"] == full["max-score"] > 0 and full["status"] == "success"


def _run_workflow(workflow: dict, repo: Path, tmp: Path, run: str) -> dict:
    """Every `run:` step in bash as the runner would, except the one that calls GitHub's API.
    RUNNER_TEMP is kept across runs, as the tool cache is on a runner: the second install is
    quick."""
    env = {**os.environ, "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(tmp / "runner"),
           "GITHUB_STEP_SUMMARY": str(tmp / f"summary-{run}.md"), "CI": "true"}
    Path(env["RUNNER_TEMP"]).mkdir(exist_ok=True)
    Path(env["GITHUB_STEP_SUMMARY"]).write_text("")
    outputs: dict[str, dict[str, str]] = {}
    seen: dict[str, object] = {"log": "", "codes": {}, "skipped": []}
    for i, step in enumerate(workflow["jobs"]["grade"]["steps"]):
        if "run" not in step:
            continue
        if "gh api" in step["run"]:  # the commit status: checked from its inputs instead
            seen["skipped"].append(step)  # type: ignore[attr-defined]
            continue
        out = tmp / f"output-{run}-{i}"
        out.write_text("")
        step_env = {k: str(v) for k, v in step.get("env", {}).items()}
        assert not any("${{" in v for v in step_env.values()), step_env
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               step["run"]], cwd=repo, capture_output=True, text=True,
                              env={**env, **step_env, "GITHUB_OUTPUT": str(out)}, timeout=600)
        seen["log"] += done.stdout  # type: ignore[operator]
        seen["codes"][step.get("id", step.get("name"))] = done.returncode  # type: ignore[index]
        if step.get("id") != "grade":
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


@pytest.mark.parametrize("assignment", ["echo", pytest.param("books", marks=pytest.mark.full_only)])
def test_plain_workflow_steps_grade_the_repository(tmp_path: Path, course: Course,
                                                  assignment: str) -> None:
    repo = _export(course, assignment, tmp_path / "repo", "github")
    workflow = yaml.safe_load((repo / ".github/workflows/grade.yml").read_text())
    low = _run_workflow(workflow, repo, tmp_path, "starter")
    grade = low["outputs"]["grade"]
    assert low["codes"]["grade"] == 1 and grade["state"] == "failure"
    assert float(grade["score"]) < float(grade["max-score"]) / 2
    commands = _commands_outside_stops(low["log"])
    assert commands[0] == f"::notice title=Autograding complete::Points {grade['score']}/" \
                          f"{grade['max-score']}"
    assert len(commands) > 1 and all(c.startswith("::error title=") for c in commands[1:])
    assert low["summary"].startswith("## ") and "| ✘ |" in low["summary"]
    status = low["skipped"][0]
    assert "steps.grade.outputs.state" in status["env"]["STATE"]

    _solve(repo, assignment)
    full = _run_workflow(workflow, repo, tmp_path, "reference")
    grade = full["outputs"]["grade"]
    assert full["codes"]["grade"] == 0 and grade["state"] == "success"
    assert grade["score"] == grade["max-score"] and float(grade["score"]) > 0
    assert _commands_outside_stops(full["log"]) == [
        f"::notice title=Autograding complete::Points {grade['score']}/{grade['max-score']}"]
    assert f": {grade['score']}/{grade['max-score']}" in full["summary"].splitlines()[0]
    assert (repo / "grader-report/feedback.html").is_file()  # what the artifact keeps


def test_gradescope_autograder_runs_in_autograder_shaped_folders(tmp_path: Path,
                                                                course: Course) -> None:
    zip_path = _export(course, "echo", tmp_path / "export", "gradescope") / "autograder.zip"
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
    env.pop("GRADER_PYTHON", None)
    setup = subprocess.run(["bash", str(root / "source/setup.sh")], env=env, capture_output=True,
                           text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr

    def run(submission: Path) -> dict:
        shutil.rmtree(root / "submission", ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        shutil.copytree(submission, root / "submission")
        done = subprocess.run(["bash", str(root / "source/run_autograder")], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return json.loads((root / "results/results.json").read_text())

    low = run(ROOT / "starter/echo")
    full = run(ROOT / "reference/echo")
    total = sum(t["max_score"] for t in full["tests"])
    assert full["score"] == total > 0 and low["score"] < total / 2
    assert any(t["visibility"] == "after_published" for t in full["tests"])  # hidden ran too


def test_exported_template_checks_itself_on_a_laptop(tmp_path: Path, course: Course) -> None:
    repo = _export(course, "webserver", tmp_path / "repo", "github")
    assert "grader check" in (repo / "README.md").read_text()

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run([*GRADER, "check", "--backend", "process", "--out", "report"],
                              cwd=repo, capture_output=True, text=True)

    assert check().returncode == 1  # the starter does not pass
    _solve(repo, "webserver")
    done = check()
    assert done.returncode == 0, done.stdout
    assert re.search(r"score: (\d+)/\1 \(all passed\)", done.stdout)
    assert (repo / "report/junit.xml").is_file()
