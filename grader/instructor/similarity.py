"""`grader similarity`: code similarity across the collected class, with copydetect.

copydetect (MIT; winnowing fingerprints, as in Stanford's MOSS) over every student's own files,
with the starter given as boilerplate so the code everyone was handed does not count; the
course's `.grader/` kit and workflow are left out. It writes OUT/<a>/similarity/ (copydetect's
report; index.html: the student pairs, most similar first, with the two files; pairs.json: the
same for the class report, which shows them inline). It flags; it never changes a grade.
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2

from grader.core.config import Assignment, Course
from grader.core.extras import need

__all__ = ["PAIRS", "Pair", "load_pairs", "similarity_report"]

PAIRS = "similarity/pairs.json"


@dataclass(frozen=True)
class Pair:
    a: str  # student ids, a < b
    b: str
    share: float  # the larger share of one file's fingerprints found in the other's
    file_a: str  # the two files that share it, relative to each student's submission
    file_b: str

_EXTENSIONS = ["py", "html", "js", "css", "sql"]
_SHARED = {".grader", ".github", "__pycache__", ".git"}


def similarity_report(*, course: Course, assignment: Assignment, out: Path,
                      threshold: float = 0.5) -> Path:
    need("copydetect", extra="instructor", command="grader similarity")
    from copydetect import CopyDetector

    folder = out / "similarity"
    folder.mkdir(parents=True, exist_ok=True)
    detector = CopyDetector(boilerplate_dirs=[str(course.root / "starter" / assignment.id)],
                            extensions=_EXTENSIONS, display_t=threshold, autoopen=False,
                            silent=True, out_file=str(folder / "report.html"))
    owner: dict[str, tuple[str, str]] = {}  # path -> (student, path in the submission)
    for student in sorted((out / "submissions").iterdir()):
        for path in sorted(student.rglob("*")):
            rel = path.relative_to(student)
            if path.is_file() and not _SHARED.intersection(rel.parts) \
                    and path.suffix[1:] in _EXTENSIONS:
                detector.add_file(str(path))
                owner[str(path)] = (student.name, rel.as_posix())
    pairs: dict[tuple[str, str], Pair] = {}
    if len({s for s, _ in owner.values()}) > 1:
        detector.run()
        for sim1, sim2, file1, file2, *_ in detector.get_copied_code_list():
            if file1 not in owner or file2 not in owner:
                continue
            (a, fa), (b, fb) = sorted((owner[file1], owner[file2]))
            share = max(float(sim1), float(sim2))
            if a != b and share > (pairs[(a, b)].share if (a, b) in pairs else -1.0):
                pairs[(a, b)] = Pair(a, b, share, fa, fb)
        with warnings.catch_warnings():  # copydetect still uses importlib.resources.open_text
            warnings.simplefilter("ignore", DeprecationWarning)
            detector.generate_html_report()
    ranked = sorted(pairs.values(), key=lambda p: (-p.share, p.a, p.b))
    (out / PAIRS).write_text(json.dumps([asdict(p) for p in ranked], indent=1) + "\n",
                             encoding="utf-8")
    students = sorted({s for s, _ in owner.values()})
    env = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    page = env.get_template("similarity.html.j2").render(
        title=assignment.title, students=len(students), threshold=threshold,
        compared=len(list(itertools.combinations(students, 2))),
        pairs=ranked)
    (folder / "index.html").write_text(page, encoding="utf-8")
    return folder / "index.html"


def load_pairs(out: Path) -> list[Pair] | None:
    """OUT/<a>/similarity/pairs.json; None when `grader similarity` has not run (or wrote an
    older report without it)."""
    try:
        return [Pair(**p) for p in json.loads((out / PAIRS).read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return None
