"""`grader similarity` with copydetect: copied code is flagged, the starter and the kit are not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from grader.core.config import Course
from grader.instructor.similarity import similarity_report

from .conftest import ROOT

TIER = "process"  # copydetect imports matplotlib, which may run fc-list (tests/conftest.py)

OWN = """
def handle(conn, registry, log):
    buffered = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            registry.discard(conn)
            log.append(("gone", len(buffered)))
            return buffered
        buffered += chunk
        while b"\\n" in buffered:
            line, buffered = buffered.split(b"\\n", 1)
            for other in sorted(registry, key=id):
                if other is not conn:
                    other.sendall(line.upper() + b"\\n")
            log.append(("line", len(line)))
"""


def test_copied_code_is_flagged_and_the_starter_is_not(course: Course, tmp_path: Path) -> None:
    subs = tmp_path / "submissions"
    for name in ("ann", "ben", "cat"):
        shutil.copytree(ROOT / "starter" / "echo", subs / name)  # everyone has the starter
        (subs / name / ".grader").mkdir()
        (subs / name / ".grader" / "kit.py").write_text(OWN)  # shared kit: never counted
    (subs / "ann" / "mine.py").write_text(OWN)
    (subs / "ben" / "copy.py").write_text(OWN.replace("buffered", "buf"))
    (subs / "cat" / "other.py").write_text("print(sum(range(10)))\n" * 3)
    index = similarity_report(course=course, assignment=course.assignment("echo"), out=tmp_path)
    page = index.read_text()
    assert "<td>ann</td><td>ben</td>" in page
    assert "<code>ann/mine.py</code> ↔ <code>ben/copy.py</code>" in page  # which files
    assert "cat</td>" not in page  # only the starter in common with the others
    assert (tmp_path / "similarity" / "report.html").is_file()
    (pair,) = json.loads((tmp_path / "similarity" / "pairs.json").read_text())
    assert (pair["a"], pair["b"], pair["file_a"], pair["file_b"]) == ("ann", "ben", "mine.py",
                                                                     "copy.py")
    assert pair["share"] > 0.5


def test_a_class_of_starters_has_no_pair(course: Course, tmp_path: Path) -> None:
    for name in ("ann", "ben", "cat", "dan"):
        shutil.copytree(ROOT / "starter" / "echo", tmp_path / "submissions" / name)
    similarity_report(course=course, assignment=course.assignment("echo"), out=tmp_path)
    assert json.loads((tmp_path / "similarity" / "pairs.json").read_text()) == []
