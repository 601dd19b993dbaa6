"""The class list: in grading.yml, or a CSV it names (a plain one or Classroom 50's roster.csv).

Classroom 50's header is `username,first_name,last_name,email,section,github_id,role`; a plain
CSV has `id` and optionally `username` (or `github`), `name`, `section`, `email`. Either may
add the LMS's ids, which OUT/canvas.csv uses so that Canvas matches its students: `canvas_id`
(Canvas's numeric user id), `sis_user_id`, `sis_login_id` (spelled as in Canvas's gradebook
export, `SIS User ID` and `SIS Login ID`, too). A typo is an
error, never a silent change: an id twice, two students on one GitHub username (whatever the
case), an extension or a student named on the command line that is not on the roster (with the
closest match).
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from grader.core.config import ConfigError, Course, RosterEntry

__all__ = ["load_roster", "read_csv", "unknown_students"]


def load_roster(*, course: Course) -> list[RosterEntry]:
    """The roster of the course; without one, nobody (collect then needs --student)."""
    if course.roster is None:
        return []
    if isinstance(course.roster, str):
        roster = read_csv(path=course.root / course.roster)
    else:
        roster = list(course.roster)
        _check_unique([(f"{course.root / 'grading.yml'}: roster[{i}]", f"roster[{i}]", e)
                       for i, e in enumerate(roster)])
    for name, entry in course.assignments.items():
        for sid in entry.extensions:
            unknown_students([sid], known=[r.id for r in roster],
                             where=f"{course.root / 'grading.yml'}: "
                                   f"assignments.{name}.extensions.{sid}")
    return roster


def unknown_students(ids: Iterable[str], *, known: Iterable[str], where: str) -> None:
    """An error naming the first id that is not a known student, with the closest match."""
    known = list(known)
    for sid in ids:
        if sid not in known:
            close = difflib.get_close_matches(sid, known, n=1, cutoff=0.6) or \
                [k for k in known if k.lower() == sid.lower()]
            hint = f"; did you mean {close[0]!r}?" if close else \
                f" (it lists {len(known)} students)"
            raise ConfigError(f"{where}: {sid!r} is not on the roster{hint}")


def read_csv(*, path: Path) -> list[RosterEntry]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = [(reader.line_num, row) for row in reader]  # blank lines counted
            header = reader.fieldnames or []
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the roster: {exc.strerror}") from None
    known = {"id", "student_id", "username", "github"}
    if header and not known & {h.strip().lower() for h in header}:
        sep = next((s for s in (";", "\t", "|") if s in ",".join(header)), None)
        hint = f"the columns seem separated by {sep!r}: save it comma-separated" if sep else \
            "it needs an id or username column"
        raise ConfigError(f"{path}:1: header {','.join(header)!r} has no id or username "
                          f"column; {hint}")
    entries: list[tuple[str, str, RosterEntry]] = []
    for line, raw in rows:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
               if isinstance(v, str | None)}
        if row.get("role", "student") not in ("", "student"):
            continue  # Classroom 50 lists staff too; the role column says who
        name = row.get("name") or " ".join(filter(None, (row.get("first_name"),
                                                        row.get("last_name"))))
        sid = row.get("id") or row.get("student_id") or row.get("username", "")
        try:
            entry = RosterEntry(id=sid, username=row.get("username") or row.get("github", ""),
                                name=name, section=row.get("section", ""),
                                email=row.get("email", ""),
                                canvas_id=row.get("canvas_id", ""),
                                sis_user_id=row.get("sis_user_id") or row.get("sis user id", ""),
                                sis_login_id=row.get("sis_login_id")
                                or row.get("sis login id", ""))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"{path}:{line}: {err['loc'][0]}: {err.get('input')!r} is invalid: "
                              f"{err['msg'].removeprefix('Value error, ')}") from None
        entries.append((f"{path}:{line}", f"line {line}", entry))
    return _check_unique(entries)


def _check_unique(entries: list[tuple[str, str, RosterEntry]]) -> list[RosterEntry]:
    """(where, how to point at it, entry): no id twice, no GitHub username twice (whatever the
    case: both would be graded on the same repository)."""
    ids: dict[str, str] = {}
    logins: dict[str, tuple[str, str]] = {}
    for where, short, entry in entries:
        if entry.id in ids:
            raise ConfigError(f"{where}: student {entry.id!r} is listed twice (also "
                              f"{ids[entry.id]})")
        if entry.login in logins:
            other, at = logins[entry.login]
            raise ConfigError(f"{where}: username {entry.username or entry.id!r} is also "
                              f"{other}'s ({at}): both would be graded on one repository")
        ids[entry.id] = short
        logins[entry.login] = (entry.id, short)
    return [e for _, _, e in entries]
