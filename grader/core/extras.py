"""What the student's install leaves out. `pip install course-grader` (the exports' wheel) brings
what `grader check` and the suites need; instructors' commands need an extra, and a command run
without it says so in one line instead of a traceback."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtra", "need"]


class MissingExtra(ImportError):
    """A command needs a package of an extra that is not installed; str() is the one line."""


def need(module: str, *, extra: str, command: str) -> ModuleType:
    """`module`, imported; MissingExtra naming the pip install when it is absent."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or module.split(".")[0] != exc.name.split(".")[0]:
            raise  # the extra is there, something inside it is broken: let that show
        raise MissingExtra(f"{command} needs: pip install 'course-grader[{extra}]'") from None
