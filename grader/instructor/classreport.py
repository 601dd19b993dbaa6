"""The class report (OUT/<assignment>/report.html): one self-contained page, no external assets.

At the top, what needs the instructor's eyes (unverified arrival times, rewritten history,
tamper, grader errors, gradings run twice, overrides, similar code), each with the students it
concerns; each student's flags in their row. Then the score distribution (an inline SVG
histogram of final scores), per-test pass rates with suspect
tests marked (nearly everyone fails it, or the starter passes it), the slowest submissions,
statuses other than ok, collect problems and tamper flags, lateness, tests whose outcome changed
between two runs of the same submission, and the similarity pairs with their files when
`grader similarity` ran.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import jinja2

from grader.batch.local import load_result
from grader.core.config import Assignment, Course
from grader.instructor.grades import Grade
from grader.instructor.similarity import Pair, load_pairs

__all__ = ["render"]

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)
NEARLY_ALL_FAIL = 0.1  # a test passed by at most this share of the class is suspect


def render(*, course: Course, assignment: Assignment, out: Path, grades: list[Grade]) -> str:
    from grader.instructor.classgrade import STARTER

    graded = [g for g in grades if g.result and g.final is not None]
    percents = [100 * g.final / g.max_score for g in graded if g.max_score and g.final is not None]
    starter = load_result(out / STARTER)
    entry, policy = course.assignments[assignment.id], course.late_for(assignment.id)
    collected_at = max((g.collected.collected_at for g in grades if g.collected), default="")
    pairs = load_pairs(out)
    return _ENV.get_template("report.html.j2").render(
        course=course.name, title=assignment.title, assignment=assignment.id,
        due=entry.due, timezone=course.collect.timezone, policy=policy,
        extensions=entry.extensions, collected_at=collected_at,
        n=len(grades), graded=len(graded), percents=percents,
        submitted=sum(1 for g in grades if g.collected and g.collected.status == "ok"),
        mean=statistics.fmean(percents) if percents else None,
        median=statistics.median(percents) if percents else None,
        bars=_histogram(percents), tests=_pass_rates(graded, starter),
        starter=starter, slowest=sorted((g for g in graded if g.result),
                                        key=lambda g: -g.result.duration)[:5],  # type: ignore
        statuses=[g for g in grades if g.result and g.result.status != "ok"],
        problems=[g for g in grades if g.collected and (g.collected.status != "ok"
                                                        or g.collected.flags)],
        tampered=sum(any(f.startswith("tamper") for f in g.collected.flags)
                     for g in grades if g.collected),
        late=[g for g in grades if g.lateness.late], flaky=_flaky(out / "runs.jsonl"),
        retried=[g for g in grades if g.result and g.result.retried],
        rows=grades, similarity=(out / "similarity" / "index.html").is_file(),
        pairs=pairs or [], similar=_similar(pairs or []),
        attention=attention(grades, pairs or []),
        overrides=[g for g in grades if g.override])


# What needs the instructor's eyes: (label, what it means, the test on one student's grade).
_CHECKS: list[tuple[str, str, Any]] = [
    ("grader errors", "not graded: the grader or the suite broke, never the student's zero; "
     "run `grader regrade`", lambda g: bool(g.result and g.result.needs_rerun)),
    ("tamper", "the public tests, the kit or the workflow differ from the export",
     lambda g: _flagged(g, "tamper")),
    ("rewritten history", "a moved tag or a force push: what was graded may not be what was "
     "seen first", lambda g: _flagged(g, "rewritten history")),
    ("unverified arrival times", "only the student's own dates say when it arrived",
     lambda g: bool(g.collected and g.collected.status == "ok" and (
         "unverified" in g.collected.time_source or _flagged(g, "no server time")))),
    ("future-dated commits", "a commit dated after it arrived",
     lambda g: _flagged(g, "future-dated") or _flagged(g, "commit date")),
    ("graded twice", "a first run ended in a grader error (see below)",
     lambda g: bool(g.result and g.result.retried)),
    ("overrides", "scores set by hand (overrides.json): the grader's score is beside them",
     lambda g: g.override is not None),
]


def attention(grades: list[Grade], pairs: list[Pair]) -> list[dict[str, Any]]:
    """The "needs attention" box: each kind of problem that some student has, with them."""
    items = []
    for label, meaning, test in _CHECKS:
        who = [g.student for g in grades if test(g)]
        if who:
            items.append({"label": label, "meaning": meaning, "students": who})
    suites = Counter(g.result.suite for g in grades if g.result and g.result.suite)
    if len(suites) > 1:
        usual = suites.most_common(1)[0][0]
        items.append({"label": "another suite", "meaning": "graded by another version of the "
                      "suite than most of the class (a test changed between gradings): "
                      "`grader grade --regrade` grades everyone with one",
                      "students": [g.student for g in grades if g.result and g.result.suite
                                   and g.result.suite != usual]})
    if pairs:
        items.append({"label": "similar code", "meaning": "pairs of students sharing code "
                      "beyond the starter (see below): a flag, never a grade",
                      "students": [f"{p.a} & {p.b}" for p in pairs]})
    return items


def _flagged(g: Grade, prefix: str) -> bool:
    return bool(g.collected and any(f.startswith(prefix) for f in g.collected.flags))


def _similar(pairs: list[Pair]) -> dict[str, list[str]]:
    """Student -> "other (their file: share)" for their row."""
    out: dict[str, list[str]] = defaultdict(list)
    for p in pairs:
        out[p.a].append(f"{p.b} ({p.file_a} ↔ {p.file_b}: {100 * p.share:.0f}%)")
        out[p.b].append(f"{p.a} ({p.file_b} ↔ {p.file_a}: {100 * p.share:.0f}%)")
    return dict(out)


def _histogram(percents: list[float]) -> list[dict[str, Any]]:
    """Ten bins of 10 points (the last one includes 100), with SVG geometry."""
    counts = [0] * 10
    for p in percents:
        counts[min(9, int(p // 10))] += 1
    top = max(counts) or 1
    return [{"label": f"{10 * i}–{10 * i + 10}", "count": c, "x": 50 + 60 * i,
             "h": round(200 * c / top), "y": 230 - round(200 * c / top)}
            for i, c in enumerate(counts)]


def _pass_rates(graded: list[Grade], starter: Any) -> list[dict[str, Any]]:
    passed: dict[str, int] = defaultdict(int)
    seen: dict[str, int] = defaultdict(int)
    titles: dict[str, tuple[str, bool, float]] = {}
    for g in graded:
        assert g.result is not None
        if g.result.status != "ok":
            continue  # a server that never started says nothing about a test
        for t in g.result.tests:
            titles.setdefault(t.name, (t.title, t.hidden, t.max_score))
            seen[t.name] += 1
            passed[t.name] += t.status == "passed"
    starter_passed = {t.name for t in starter.tests if t.status == "passed"} if starter else set()
    rows = []
    for name, (title, hidden, points) in titles.items():
        rate = passed[name] / seen[name]
        why = []
        if seen[name] >= 3 and rate <= NEARLY_ALL_FAIL:
            why.append("nearly everyone fails it")
        if name in starter_passed:
            why.append("the starter passes it")
        rows.append({"name": name, "title": title, "hidden": hidden, "points": points,
                     "passed": passed[name], "seen": seen[name], "rate": round(100 * rate),
                     "suspect": "; ".join(why)})
    return sorted(rows, key=lambda r: (not r["suspect"], r["rate"]))


def _flaky(runs: Path) -> list[dict[str, Any]]:
    """Tests whose outcome differed between runs of the same submission (same fingerprint)."""
    outcomes: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    try:
        lines = runs.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            run = json.loads(line)
        except ValueError:
            continue
        for test, status in run.get("tests", {}).items():
            outcomes[(run["student"], run["fingerprint"], test)].add(status)
    return [{"student": s, "test": t, "outcomes": sorted(o)}
            for (s, _, t), o in sorted(outcomes.items()) if len(o) > 1]
