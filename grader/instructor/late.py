"""Late-policy arithmetic: pure functions of times and a policy, no I/O.

A submission is late by the time between its (unforgeable) submission time and the due date plus
the student's extension; the grace period is free; each started day after it costs
`penalty_per_day` percent of the max score, never more than `cap` percent in all.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass

from grader.core.config import LatePolicy

__all__ = ["Lateness", "apply", "assess", "cutoff", "deadline"]

_DAY = 86400.0


@dataclass(frozen=True)
class Lateness:
    seconds: float = 0.0  # after due + extension (0 when on time); the grace is not subtracted
    days: int = 0  # started days charged (after the grace)
    percent: float = 0.0  # of the max score lost
    accepted: bool = True  # False: later than the policy accepts

    @property
    def late(self) -> bool:
        return self.seconds > 0

    def describe(self) -> str:
        if not self.late:
            return "on time"
        hours = self.seconds / 3600
        when = f"{hours:.1f} h late" if hours < 48 else f"{hours / 24:.1f} days late"
        if not self.accepted:
            return f"{when}: later than the policy accepts"
        if not self.days:
            return f"{when}: within the grace period, no penalty"
        return f"{when}: {self.days} day(s) charged, -{self.percent:g}%"


def deadline(*, due: dt.datetime, extension_days: float = 0.0,
             timezone: str = "UTC") -> dt.datetime:
    """The student's own deadline, aware: a due date without a zone is in the course's zone."""
    if due.tzinfo is None:
        due = due.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    return due + dt.timedelta(days=extension_days)


def cutoff(*, deadline: dt.datetime, policy: LatePolicy) -> dt.datetime:
    """The last moment a submission is still accepted (late)."""
    return deadline + dt.timedelta(days=policy.max_days)


def assess(*, submitted: dt.datetime, deadline: dt.datetime, policy: LatePolicy) -> Lateness:
    seconds = (submitted - deadline).total_seconds()
    if seconds <= 0:
        return Lateness()
    if seconds > policy.max_days * _DAY:
        return Lateness(seconds=seconds, days=math.ceil(seconds / _DAY), percent=100.0,
                        accepted=False)
    charged = seconds - policy.grace_minutes * 60
    days = math.ceil(charged / _DAY) if charged > 0 else 0
    percent = min(policy.cap, days * policy.penalty_per_day)
    return Lateness(seconds=seconds, days=days, percent=round(percent, 4))


def apply(*, score: float, max_score: float, lateness: Lateness) -> float:
    """The score after the penalty: percent of the max score, never below zero."""
    if not lateness.accepted:
        return 0.0
    return round(max(0.0, score - max_score * lateness.percent / 100), 2)
