"""The expect.yml files of the buggy variants (tests/buggy) and of the hostile catalogue
(tests/hostile), read through models: a mistyped key (`feedbak:`) is an error, not a check that
silently stops checking."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.core.results import Status

Backend = Literal["docker", "process"]
BOTH: list[Backend] = ["docker", "process"]
PHRASE = 16  # characters at least: a phrase that names a cause, not a word any line may hold


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_Strict):
    """What a buggy variant must lose (tests/test_assignments.py)."""

    bug: str  # what the variant gets wrong, for the reader
    fails: list[str]  # exactly these tests fail; all others pass
    # a failing test's line contains this phrase: {test: phrase}, or a phrase for any of them
    feedback: dict[str, str] | str | None = None
    feedback_never: str | None = None  # no failing test's line contains it (an unfounded hint)
    status: Status = "ok"  # the result's status
    reason: str | None = None  # the result's one line contains it
    backends: list[Backend] = Field(default_factory=lambda: list(BOTH))

    @model_validator(mode="after")
    def _phrases_name_failing_tests(self) -> Variant:
        phrases = (self.feedback if isinstance(self.feedback, dict)
                   else {"": self.feedback} if self.feedback else {})
        for test, phrase in phrases.items():
            if test and test not in self.fails:
                raise ValueError(f"feedback names {test}, which is not in fails")
            if len(phrase) < PHRASE:
                raise ValueError(f"feedback {phrase!r} is shorter than {PHRASE} characters: "
                                 "quote the phrase that names the cause")
        if self.status != "ok" and not self.reason:
            raise ValueError(f"status {self.status} without a reason: the result's one line is "
                             "all the student reads, pin the phrase that names the cause")
        return self


class Bounds(_Strict):
    """A score between two bounds (points, inclusive)."""

    at_least: float
    at_most: float


class Hostile(_Strict):
    """What a hostile entry's grade must be (tests/test_hostile.py)."""

    what: str  # what the entry does
    status: Status
    score: Literal["full", "zero"] | float | Bounds  # points, when neither full nor zero
    reason: str | dict[Backend, str] | None = None  # the result's one line contains it
    log: str | None = None  # the server's output contains it
    backends: list[Backend] = Field(default_factory=lambda: list(BOTH))
    assignment: str = "echo"  # whose suite grades it
    bystander: int | None = None  # connections the catalogue's loopback listener saw, all along

    @model_validator(mode="after")
    def _reason_beside_status(self) -> Hostile:
        if self.status != "ok" and not self.reason:
            raise ValueError(f"status {self.status} without a reason: pin the result's line")
        return self


def variant(folder: Path) -> Variant:
    return Variant.model_validate(yaml.safe_load((folder / "expect.yml").read_text()))


def hostile(folder: Path) -> Hostile:
    return Hostile.model_validate(yaml.safe_load((folder / "expect.yml").read_text()))
