"""course-grader: black-box autograding for Internet-programming assignments.

collect -> build -> run -> test -> score -> report, one floor each (each uses only those below):

- `cli`: parses the command line and calls one library function per command
- `student/`: `grader check` and the reports CI reads
- `instructor/`: collect, late policy, publish, class report, similarity
- `quality/`: for course authors: lint, mutants
- `export/`: templates for students and grading services
- `batch/`: a class, graded in parallel and resumably (this machine or a cluster)
- `run/`: one submission: the pytest child, its plugin, crashes, scoring
- `sandbox/`: where a submission runs: docker (and its images) or a local process
- `core/`: the models every floor shares: config, job, results, report renderers
- `testing/`: helpers for suite authors; `runners/`: the grader's programs run beside a
  submission (the WSGI runner)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Assignment", "ConfigError", "Course", "InfraError", "Result", "StartupError",
           "TestResult", "grade_class", "grade_submission", "load_course"]

# Imported on first use: the pytest child that grades each submission imports `grader.run.plugin`,
# and should not pay for the batch, the reports and their libraries every time.
_HOME = {"grade_class": "batch.local", "Assignment": "core.config",
         "ConfigError": "core.config", "Course": "core.config", "load_course": "core.config",
         "grade_submission": "run.grade", "Result": "core.results", "TestResult": "core.results",
         "InfraError": "sandbox", "StartupError": "sandbox"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
