"""The class list: in grading.yml, or a CSV it names (a plain one or Classroom 50's roster.csv).

Classroom 50's header is `username,first_name,last_name,email,section,github_id,role`; a plain
CSV has `id` and optionally `username` (or `github`), `name`, `section`, `email`.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError

from grader.core.config import ConfigError, Course, RosterEntry

__all__ = ["load_roster", "read_csv"]


def load_roster(*, course: Course) -> list[RosterEntry]:
    """The roster of the course; without one, nobody (collect then needs --student)."""
    if course.roster is None:
        return []
    if isinstance(course.roster, str):
        return read_csv(path=course.root / course.roster)
    return list(course.roster)


def read_csv(*, path: Path) -> list[RosterEntry]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the roster: {exc.strerror}") from None
    entries: dict[str, RosterEntry] = {}
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if row.get("role", "student") not in ("", "student"):
            continue  # Classroom 50 lists staff too; the role column says who
        name = row.get("name") or " ".join(filter(None, (row.get("first_name"),
                                                        row.get("last_name"))))
        sid = row.get("id") or row.get("student_id") or row.get("username", "")
        try:
            entry = RosterEntry(id=sid, username=row.get("username") or row.get("github", ""),
                                name=name, section=row.get("section", ""),
                                email=row.get("email", ""))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"{path}:{line}: {err['loc'][0]}: {err.get('input')!r} is invalid: "
                              f"{err['msg'].removeprefix('Value error, ')}") from None
        if entry.id in entries:
            raise ConfigError(f"{path}:{line}: student {entry.id!r} is listed twice")
        entries[entry.id] = entry
    return list(entries.values())
