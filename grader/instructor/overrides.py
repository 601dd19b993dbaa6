"""Instructor overrides: one student's score for one assignment, set by hand with a reason.

Kept in OUT/<assignment>/overrides.json (`grader override` writes it; it may be edited by hand),
apart from what grading writes, so a regrade never loses one. The override is the grade that
counts (late policy included); the grader's own score stays beside it in every output.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.core.results import write_atomic
from grader.instructor.collected import DataError, iso

__all__ = ["FILE", "Override", "load_overrides", "remove_override", "set_override"]

FILE = "overrides.json"


@dataclass(frozen=True)
class Override:
    score: float
    reason: str
    at: str = ""  # when it was set (UTC, ISO 8601)

    def describe(self) -> str:
        return f"score set by the instructor to {self.score:g}: {self.reason}"


def load_overrides(out: Path) -> dict[str, Override]:
    """Student id -> override; {} when there is no file, an error when it cannot be read."""
    path = out / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = {str(s): Override(score=float(o["score"]), reason=str(o["reason"]),
                                  at=str(o.get("at", ""))) for s, o in data.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{path} cannot be read ({type(exc).__name__}: {exc}); expected "
                        '{"STUDENT": {"score": 40, "reason": "..."}}: fix it, or set each '
                        "again with `grader override`") from None
    for student, o in found.items():
        if o.score < 0 or not o.reason.strip():
            raise DataError(f"{path}: {student}: an override needs a score of 0 or more and "
                            "a reason")
    return found


def set_override(*, out: Path, student: str, score: float, reason: str,
                 now: dt.datetime | None = None) -> Override:
    if score < 0:
        raise ValueError(f"score {score:g}: expected 0 or more")
    if not reason.strip():
        raise ValueError("an override needs a reason (--reason): the student and the TAs see it")
    found = load_overrides(out)
    found[student] = Override(score=score, reason=reason.strip(),
                              at=iso(now or dt.datetime.now(dt.timezone.utc)))
    _save(out, found)
    return found[student]


def remove_override(*, out: Path, student: str) -> bool:
    found = load_overrides(out)
    if found.pop(student, None) is None:
        return False
    _save(out, found)
    return True


def _save(out: Path, found: dict[str, Override]) -> None:
    write_atomic(out / FILE, json.dumps({s: asdict(o) for s, o in sorted(found.items())},
                                        indent=2) + "\n")
