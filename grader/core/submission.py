"""What counts as a student's submission: one definition for the fingerprint, the "nothing was
submitted" check, the import rules and the copy the container sees."""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
from pathlib import Path

__all__ = ["SKIP", "STAGE_CAP", "TooLarge", "files", "generated", "is_empty", "stage_copy"]

# Tooling and caches, never the student's code. `.grader/` is the exported kit: the grader runs
# the course's own suite, never the copy in a student's repository.
SKIP = frozenset({".git", "__pycache__", ".venv", "venv", ".pytest_cache", ".DS_Store", ".grader",
                  "node_modules"})
STAGE_CAP = 64 * 1024 * 1024  # a submission larger than this is refused


class TooLarge(Exception):
    """The submission is larger than STAGE_CAP."""


def files(folder: Path, *, links: bool = False) -> list[Path]:
    """A folder's regular files, sorted, without SKIP folders and without what its own
    .gitignore names (generated files, e.g. a large test fixture). A symlink is never followed:
    the grader hashes and parses these files on the host, maybe as root, and a link could name
    any host file (/proc/kcore, a fifo). With `links`, symlinks are listed too, as links (to be
    copied or hashed as their target's name, never read through)."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP)
        for n in names:
            mode = (p := Path(root, n)).lstat().st_mode
            if n not in SKIP and (stat.S_ISREG(mode) or (links and stat.S_ISLNK(mode))):
                found.append(p)
    return sorted(p for p in found if not generated(folder, p))


def generated(folder: Path, path: Path) -> bool:
    """Does `folder/.gitignore` name `path` (simple patterns: `www/huge.txt`, `*.log`)?"""
    try:
        patterns = (folder / ".gitignore").read_text().splitlines()
    except OSError:
        return False
    rel = path.relative_to(folder).as_posix()
    return any(fnmatch.fnmatch(rel, pat.strip().lstrip("/")) or
               fnmatch.fnmatch(path.name, pat.strip())
               for pat in patterns if pat.strip() and not pat.startswith("#"))


def is_empty(folder: Path) -> bool:
    """Nothing submitted: no folder, or only hidden files (a .gitkeep, say)."""
    return not folder.is_dir() or all(p.name.startswith(".") for p in files(folder))


def stage_copy(src: Path, dest: Path) -> None:
    """A private, world-readable copy (the student's folder may be 0700, may change while we
    grade, and must never be writable from inside a container)."""
    total = 0

    def ignore(folder: str, names: list[str]) -> set[str]:
        nonlocal total
        for n in names:
            p = Path(folder, n)
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        if total > STAGE_CAP:
            raise TooLarge(f"the submission is larger than {STAGE_CAP >> 20} MiB")
        return set(SKIP & set(names)) | {n for n in names if generated(src, Path(folder, n))}

    shutil.copytree(src, dest, symlinks=True, ignore=ignore, dirs_exist_ok=True)
    for root, _dirs, names in os.walk(dest):
        os.chmod(root, 0o755)
        for n in names:
            p = Path(root, n)
            if not p.is_symlink():
                os.chmod(p, 0o644)
