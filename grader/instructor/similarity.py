"""`grader similarity`: code similarity across the collected class, with copydetect.

copydetect (MIT; winnowing fingerprints, as in Stanford's MOSS) over every student's own files,
with the starter given as boilerplate so the code everyone was handed does not count; the
course's `.grader/` kit and workflow are left out. It writes OUT/<a>/similarity/ (copydetect's
report, and index.html: the student pairs, most similar first), linked from the class report.
It flags; it never changes a grade.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import jinja2

from grader.core.config import Assignment, Course

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
    env = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    page = env.get_template("similarity.html.j2").render(
        title=assignment.title, students=len(students), threshold=threshold,
        compared=len(list(itertools.combinations(students, 2))),
        pairs=sorted(pairs.items(), key=lambda kv: -kv[1]))
    (folder / "index.html").write_text(page, encoding="utf-8")
    return folder / "index.html"
