"""The record `grader collect` keeps per student (out/<assignment>/collect.json)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["REACHED", "Collected", "DataError", "iso", "load_manifest", "parse"]

REACHED = ("ok", "empty", "no_submission")  # statuses of a repository collect could fetch


class DataError(RuntimeError):
    """A file the grader wrote earlier cannot be read (cut short, edited, another version)."""


@dataclass
class Collected:
    student: str
    username: str = ""
    url: str = ""  # as configured: never holds a token
    status: str = "ok"  # ok | missing | empty | no_submission | error
    reason: str = ""
    commit: str = ""
    source: str = ""  # "tag submit/..." or "branch main"
    submitted_at: str = ""
    time_source: str = ""  # github-push | pusher-reflog | first-seen | commit-date (unverified)
    commit_date: str = ""
    collected_at: str = ""
    deadline: str = ""
    late_seconds: float = 0.0
    flags: list[str] = field(default_factory=list)
    ci_score: list[float] | None = None
    seen: dict[str, dict[str, str]] = field(default_factory=dict)  # ref -> sha -> first seen
    runs: list[str] = field(default_factory=list)  # every collect run that reached the repo
    kit: str = ""  # the kit version the submission holds (tamper.match), "" when none exactly

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Collected:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def load_manifest(out: Path) -> dict[str, Collected]:
    """out/collect.json: {} when there is none; one that cannot be read is an error (it holds
    what every earlier collect saw: starting afresh would let a student move an arrival earlier)."""
    path = out / "collect.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {s["student"]: Collected.from_dict(s) for s in data["students"]}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{path} cannot be read ({type(exc).__name__}: {exc}); restore it from a "
                        f"backup, or move it away and run `grader collect {out.name} --out {out}` "
                        "again (arrival times then rest on that collect alone)") from None


def iso(when: dt.datetime | None) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
