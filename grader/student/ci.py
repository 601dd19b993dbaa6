"""What `grader check` adds when it runs in CI: GitHub Actions' step summary, outputs and
annotations, and Classroom 50's `result.json` and release body.

Student text (feedback lines, server output) reaches the Actions log only through
`text.neutralise` and `_escape`, and while commands are stopped, so it can never issue a
workflow command (`::add-mask::`, `::error::`, `##[...]`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grader.core import report, text
from grader.core.results import Result, dumps, write_atomic

__all__ = ["FAIL_BELOW", "classroom50_result", "commands_stopped", "fail_below", "github_outputs",
           "release_body", "scale", "workflow_commands", "write_classroom50",
           "write_github"]

RESULT_SCHEMA = "classroom50/result/v1"


def _escape(value: str, *, prop: bool = False) -> str:
    """Workflow-command escaping: the value stays on one line and cannot end the command."""
    value = text.printable(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def workflow_commands(result: Result, *, title: str) -> list[str]:
    """The closing lines: a notice with the points, then one error per test that did not pass."""
    lines = [f"::notice title=Autograding complete::Points {result.score:g}/{result.max_score:g}"]
    if result.reason and result.status != "ok":
        lines.append(f"::error title={_escape(title, prop=True)}::"
                     f"{_escape(report.status_word(result) + ': ' + result.reason)}")
        return lines
    for t in result.tests:
        if t.status != "passed":
            lines.append(f"::error title={_escape(t.title, prop=True)}::"
                         f"{_escape(t.feedback or t.status)}")
    return lines


FAIL_BELOW = "GRADER_FAIL_BELOW"
"""The workflow's copy of grading.yml's `fail_below` for the assignment (set by the export)."""


def github_outputs(result: Result, *, fail_below: float | None = None) -> dict[str, str]:
    """Step outputs the workflow's later steps read (the commit status, the pass mark). Any
    grade is a success unless the course set `fail_below` and the score is under it; a grader
    error never is."""
    percent = 100 * result.score / result.max_score if result.max_score else 100.0
    below = fail_below is not None and percent < fail_below
    state = "error" if result.needs_rerun else "failure" if below else "success"
    description = f"Points {result.score:g}/{result.max_score:g} ({report.status_word(result)})"
    if below:
        description += f", below the course's {fail_below:g}%"
    return {"score": f"{result.score:g}", "max-score": f"{result.max_score:g}", "state": state,
            "description": description}


def fail_below(env: Mapping[str, str]) -> float | None:
    """`GRADER_FAIL_BELOW` as a percent, None when unset (a value that is not one is refused:
    the export writes it from a validated grading.yml, so it is a hand edit)."""
    raw = env.get(FAIL_BELOW, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:
        raise ValueError(f"{FAIL_BELOW}={raw!r}: expected a percent from 0 to 100 "
                         "(grading.yml's fail_below, written by `grader export`)")
    return value


@contextmanager
def commands_stopped(print_line: Any) -> Iterator[None]:
    """Belt and braces around anything echoing student text: the runner ignores commands until
    a token nobody else has seen (never in the environment, so a submission cannot read it)."""
    token = secrets.token_hex(16)
    print_line(f"::stop-commands::{token}")
    try:
        yield
    finally:
        print_line(f"::{token}::")


def write_github(result: Result, *, title: str, env: Mapping[str, str]) -> None:
    """Append the step summary and the outputs to the files Actions names."""
    if env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(report.markdown(result, title=title))
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
            f.writelines(f"{k}={v}\n" for k, v in github_outputs(
                result, fail_below=fail_below(env)).items())


def scale(result: Result) -> int:
    """Classroom 50 wants whole points: the factor (1, 10 or 100) that makes ours whole."""
    values = [v for t in result.tests for v in (t.score, t.max_score)]
    for factor in (1, 10, 100):
        if all(math.isclose(v * factor, round(v * factor), abs_tol=1e-6) for v in values):
            return factor
    return 100  # finer fractions are rounded to hundredths


def classroom50_result(result: Result, *, env: Mapping[str, str], submitted: dt.datetime,
                       now: dt.datetime) -> dict[str, Any]:
    """`result.json` as classroom50/result/v1 requires (schemas/result-v1.schema.json)."""
    factor = scale(result)
    tests = [{"test-name": t.title or t.name, "passed": t.status == "passed",
              "score": round(t.score * factor), "max-score": round(t.max_score * factor),
              "name": t.name, "message": t.feedback} for t in result.tests]
    commit = env.get("COMMIT_URL") or "unknown"
    doc: dict[str, Any] = {
        "schema": RESULT_SCHEMA,
        "classroom": env.get("CLASSROOM") or "unknown",
        "assignment": env.get("ASSIGNMENT") or result.assignment,
        "assignment_type": env.get("ASSIGNMENT_TYPE") or "individual",
        "owner": env.get("OWNER") or env.get("USERNAME") or env.get("GITHUB_ACTOR") or "unknown",
        "submission": env.get("SUBMISSION_TAG") or "submit/local",
        "commit": commit,
        "release": env.get("RELEASE_URL") or commit,
        "review": env.get("REVIEW_URL") or commit,
        "datetime": _stamp(submitted),
        "graded_at": _stamp(now),
        "score": sum(t["score"] for t in tests),
        "max-score": sum(t["max-score"] for t in tests),
        "tests": tests,
    }
    if env.get("GITHUB_ACTOR"):
        actor_id = env.get("GITHUB_ACTOR_ID", "")
        doc["submitted_by"] = {"username": env["GITHUB_ACTOR"],
                               "id": int(actor_id) if actor_id.isdigit() else None}
    return doc


def release_body(result: Result, *, title: str) -> str:
    body = report.markdown(result, title=title)
    factor = scale(result)
    if factor != 1:
        body += (f"\nClassroom 50 counts whole points: the gradebook shows these points "
                 f"×{factor}.\n")
    return body


def write_classroom50(result: Result, *, title: str, folder: Path,
                      env: Mapping[str, str]) -> dict[str, Any]:
    """result.json and release-body.md in the checkout; status and summary for the runner."""
    now = dt.datetime.now(dt.timezone.utc)
    doc = classroom50_result(result, env=env, submitted=_commit_time(folder) or now, now=now)
    write_atomic(folder / "result.json", dumps(doc))
    write_atomic(folder / "release-body.md", release_body(result, title=title))
    if env.get("GITHUB_OUTPUT"):
        status = "success" if result.full_marks else "failure"
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
            f.write(f"status={status}\nsummary=Points {doc['score']}/{doc['max-score']}\n")
    return doc


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _commit_time(folder: Path) -> dt.datetime | None:
    """The graded commit's committer date: the submission instant, the same on every regrade."""
    try:
        done = subprocess.run(["git", "-C", str(folder), "log", "-1", "--format=%ct"],
                              capture_output=True, text=True, timeout=10,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        return dt.datetime.fromtimestamp(int(done.stdout.strip()), dt.timezone.utc)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
