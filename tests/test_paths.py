"""Paths a student controls, read on the host (where the grader may be root): no link is ever
followed, at any level, not even one swapped in while the grader reads; a fifo never blocks; a
very deep or very wide tree is capped, never a crash. Real files, real links, a real race."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from grader.core.config import load_course
from grader.core.job import fingerprint
from grader.core.submission import files
from grader.sandbox.base import read_folder

from .conftest import ROOT

TIER = "pure"  # what its tests need (tests/conftest.py): files and threads, no process
SECRET = b"a host file the student must never see"


def test_links_and_fifos_are_never_read(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret.txt").write_bytes(SECRET)
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "mine.txt").write_text("mine")
    (data / "to_file").symlink_to(host / "secret.txt")
    (data / "to_folder").symlink_to(host)
    os.mkfifo(data / "fifo")  # opening it for reading would block without O_NONBLOCK
    assert read_folder(data, 1 << 20) == {"sub/mine.txt": b"mine"}


def test_a_deep_or_wide_tree_is_capped_not_a_crash(tmp_path: Path) -> None:
    deep = tmp_path / "deep"
    deep.mkdir()
    fd = os.open(deep, os.O_RDONLY)
    for _ in range(3_000):  # past Python's recursion limit and PATH_MAX: only *at calls reach it
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    try:
        assert read_folder(deep, 1 << 20) == {}  # stopped at the depth cap, no RecursionError
    finally:
        _flatten(deep)  # pytest's own cleanup (shutil.rmtree) recurses: it would fail on this
    wide = tmp_path / "wide"
    wide.mkdir()
    for i in range(50):
        (wide / f"f{i:02d}").write_text("x")
    assert len(read_folder(wide, 1 << 20, entries=10)) == 10


def _flatten(deep: Path) -> None:
    """Remove a chain deep/d/d/... one level at a time, top down."""
    while (deep / "d").exists():
        if (deep / "d" / "d").exists():
            (deep / "d" / "d").rename(deep / "next")
            (deep / "d").rmdir()
            (deep / "next").rename(deep / "d")
        else:
            (deep / "d").rmdir()


def test_a_link_swapped_in_while_reading_is_never_followed(tmp_path: Path) -> None:
    """A student's process swaps a folder for a link to a host folder, over and over, while the
    grader reads: the host's file never comes back."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "f.txt").write_bytes(SECRET)
    data = tmp_path / "data"
    data.mkdir()
    for i in range(20):
        (data / f"n{i}.txt").write_text("x")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            (data / "sub").mkdir(exist_ok=True)
            (data / "sub" / "f.txt").write_text("mine")
            (data / "sub" / "f.txt").unlink()
            (data / "sub").rmdir()
            (data / "sub").symlink_to(host)
            (data / "sub").unlink()

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        for _ in range(100):
            assert SECRET not in read_folder(data, 1 << 20).values()
    finally:
        stop.set()
        swapper.join()


def test_a_submission_link_is_never_a_file_nor_read(tmp_path: Path) -> None:
    """The fingerprint and the import rules read the submission's files on the host: a link
    (to /proc/kcore, say, or a fifo) is not one of them."""
    sub = tmp_path / "ann"
    sub.mkdir()
    (sub / "server.py").write_text("print('hi')\n")
    (sub / "kcore.py").symlink_to("/proc/kcore")
    (sub / "secret").symlink_to(tmp_path)
    assert files(sub) == [sub / "server.py"]
    course = load_course(ROOT)
    echo = course.assignment("echo")
    fingerprint(echo, sub, "process", course.limits)  # reads no link (kcore would take minutes)
