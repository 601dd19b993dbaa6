"""A submission's own requirements.txt is honoured only within the assignment's allowed packages:
the runtime image already holds the assignment's pinned set, and nothing else is installed."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from grader.core.config import Assignment

__all__ = ["check_requirements"]


def _pinned(path: Path | None) -> dict[str, str]:
    """name -> pinned version from the assignment's requirements file."""
    pins: dict[str, str] = {}
    for req in _parse(path.read_text() if path else ""):
        versions = [s.version for s in req.specifier if s.operator == "=="]
        pins[canonicalize_name(req.name)] = versions[0] if versions else ""
    return pins


def _parse(text: str) -> list[Requirement]:
    reqs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            reqs.append(Requirement(line))
    return reqs


def check_requirements(assignment: Assignment, submission: Path) -> str | None:
    """None when the submission's requirements.txt (if any) fits; else the reason it does not."""
    path = submission / "requirements.txt"
    if not path.is_file():
        return None
    allowed = _pinned(assignment.requirements_path)
    try:
        wanted = _parse(path.read_text(errors="replace")[:20_000])
    except InvalidRequirement as exc:
        return f"requirements.txt has a line pip cannot read: {exc}"
    for req in wanted:
        name = canonicalize_name(req.name)
        if name not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            return (f"requirements.txt asks for {req.name!r}, which this assignment does not "
                    f"provide (allowed: {names})")
        if allowed[name] and req.specifier and not req.specifier.contains(allowed[name]):
            return (f"requirements.txt asks for {req}, but this assignment provides "
                    f"{req.name} {allowed[name]}")
    return None
