"""course-grader: black-box autograding for Internet-programming assignments.

collect -> build -> run -> test -> score -> report:
`batch.grade_class` collects a class, `images` builds the runtime image, `sandbox` runs each
submission, `plugin` runs the pytest suite against it, `grade` scores, `report` renders.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Assignment", "ConfigError", "Course", "InfraError", "Result", "StartupError",
           "TestResult", "grade_class", "grade_submission", "load_course"]

# Imported on first use: the pytest child that grades each submission imports `grader.plugin`,
# and should not pay for the batch, the reports and their libraries every time.
_HOME = {"grade_class": "batch", "Assignment": "config", "ConfigError": "config",
         "Course": "config", "load_course": "config", "grade_submission": "grade",
         "Result": "results", "TestResult": "results", "InfraError": "sandbox",
         "StartupError": "sandbox"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
