"""The record `grader collect` keeps per student (out/<assignment>/collect.json)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Collected", "iso", "load_manifest", "parse"]


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
    time_source: str = ""  # github-push | server-reflog | first-seen | commit-date (unverified)
    commit_date: str = ""
    collected_at: str = ""
    deadline: str = ""
    late_seconds: float = 0.0
    flags: list[str] = field(default_factory=list)
    ci_score: list[float] | None = None
    seen: dict[str, dict[str, str]] = field(default_factory=dict)  # ref -> sha -> first seen
    runs: list[str] = field(default_factory=list)  # every collect run that reached the repo

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Collected:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def load_manifest(out: Path) -> dict[str, Collected]:
    try:
        data = json.loads((out / "collect.json").read_text())
    except (OSError, ValueError):
        return {}
    return {s["student"]: Collected.from_dict(s) for s in data.get("students", [])}


def iso(when: dt.datetime | None) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
