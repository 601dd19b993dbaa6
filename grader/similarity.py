"""`grader similarity`: code similarity across the collected class, with copydetect.

copydetect (MIT; winnowing fingerprints, as in Stanford's MOSS) over every student's own files,
with the starter given as boilerplate so the code everyone was handed does not count; the
course's `.grader/` kit and workflow are left out. It writes OUT/<a>/similarity/ (copydetect's
report, and index.html: the student pairs, most similar first), linked from the class report.
It flags; it never changes a grade.
"""

from __future__ import annotations

import html
import itertools
import warnings
from pathlib import Path

from .config import Assignment, Course

__all__ = ["similarity_report"]

_EXTENSIONS = ["py", "html", "js", "css", "sql"]
_SHARED = {".grader", ".github", "__pycache__", ".git"}


def similarity_report(*, course: Course, assignment: Assignment, out: Path,
                      threshold: float = 0.5) -> Path:
    from copydetect import CopyDetector

    folder = out / "similarity"
    folder.mkdir(parents=True, exist_ok=True)
    detector = CopyDetector(boilerplate_dirs=[str(course.root / "starter" / assignment.id)],
                            extensions=_EXTENSIONS, display_t=threshold, autoopen=False,
                            silent=True, out_file=str(folder / "report.html"))
    owner: dict[str, str] = {}
    for student in sorted((out / "submissions").iterdir()):
        for path in sorted(student.rglob("*")):
            rel = path.relative_to(student)
            if path.is_file() and not _SHARED.intersection(rel.parts) \
                    and path.suffix[1:] in _EXTENSIONS:
                detector.add_file(str(path))
                owner[str(path)] = student.name
    pairs: dict[tuple[str, str], float] = {}
    if len(set(owner.values())) > 1:
        detector.run()
        for sim1, sim2, file1, file2, *_ in detector.get_copied_code_list():
            a, b = owner.get(file1), owner.get(file2)
            if a and b and a != b:
                key = (min(a, b), max(a, b))
                pairs[key] = max(pairs.get(key, 0.0), float(sim1), float(sim2))
        with warnings.catch_warnings():  # copydetect still uses importlib.resources.open_text
            warnings.simplefilter("ignore", DeprecationWarning)
            detector.generate_html_report()
    students = sorted(set(owner.values()))
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{100 * s:.0f}%</td></tr>"
        for (a, b), s in sorted(pairs.items(), key=lambda kv: -kv[1]))
    compared = len(list(itertools.combinations(students, 2)))
    (folder / "index.html").write_text(
        f"<!doctype html><meta charset=utf-8><title>Similarity: {html.escape(assignment.title)}"
        "</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto}"
        "td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style>"
        f"<h1>Similarity: {html.escape(assignment.title)}</h1><p>{len(students)} students, "
        f"{compared} pairs compared; the starter is excluded as shared code. Pairs above "
        f"{100 * threshold:.0f}% of a file in common (a flag to look at, never a grade):</p>"
        "<table><tr><th>student</th><th>student</th><th>most similar file</th></tr>"
        f"{rows or '<tr><td colspan=3>none</td></tr>'}</table>"
        + ('<p><a href="report.html">copydetect\'s report, side by side</a></p>'
           if pairs else ""), encoding="utf-8")
    return folder / "index.html"
