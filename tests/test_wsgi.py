"""The WSGI assignments' grader-supplied code: one runner, two copies that must not drift.

Kept twice on purpose: the runner runs inside the container from the assignment's read-only
`support` mount, so each folder holds it whole (a link to the other folder would not resolve
there), and the copy in the folder is what a TA copies, an export ships and a grade's
fingerprint hashes (a runner kept in the grader package would escape it)."""

from __future__ import annotations

from .conftest import ROOT

TIER = "pure"  # what its tests need (tests/conftest.py)


def test_runner_copies_are_identical() -> None:
    runners = [ROOT / "assignments" / a / "support" / "wsgi_runner.py"
               for a in ("wsgiapp", "framework")]
    assert runners[0].read_bytes() == runners[1].read_bytes(), (
        "assignments/*/support/wsgi_runner.py differ: edit one, copy it to the other")
