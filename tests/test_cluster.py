"""Grading on a Dask cluster: a real scheduler and real workers as separate processes on
127.0.0.1 (grader/loopback.py), real containers, the real CLI as the coordinator."""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import psutil
import pytest
import yaml

from grader.batch.remote import Graded, pack, unpack
from grader.core.config import load_course
from grader.core.results import Result, TestResult, load_result
from grader.core.submission import STAGE_CAP
from grader.run.suite import collect
from grader.sandbox.base import LABEL
from grader.sandbox.docker import orphans
from tests.loopback import Loopback, Tls

from .conftest import ROOT, leftovers
from .engineproxy import EngineProxy

GRADER = [sys.executable, "-m", "grader"]
# echo's points as the suite stands, and the example carol's (a serial server: she loses the
# two tests with two clients at once, 4 points)
FULL = f"{sum(t.max_score for t in collect(load_course(ROOT).assignment('echo'))):g}"
CAROL = f"{float(FULL) - 4:g}"


# The tests that take `cluster` run in one pytest-xdist worker (make test), one after another as
# they always have (some add a worker to it and kill it): each worker would start a cluster.
SHARES_THE_CLUSTER = pytest.mark.xdist_group("cluster")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, docker_ready: str) -> Iterator[Loopback]:
    """A scheduler and two one-slot workers, shared by the tests that do not break it."""
    with Loopback(tmp_path_factory.mktemp("dask")) as lb:
        lb.add_worker("w1")
        lb.add_worker("w2")
        yield lb


def _grade(assignment: str, subs: Path, out: Path, *extra: str,
           course: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADER, "grade", assignment, "--submissions", str(subs), "--out",
                           str(out), "--course", str(course), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def _grades(out: Path) -> dict[str, tuple[str, str, list[tuple[str, str, float]]]]:
    """Each student's status, score and tests, from the reports (one row per student)."""
    with (out / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len({r["student"] for r in rows}), "a student twice in grades.csv"
    found = {}
    for row in rows:
        r = load_result(out / row["student"])
        assert r is not None
        found[r.student] = (r.status, row["score"],
                            [(t.name, t.status, t.score) for t in r.tests])
    return found


def _held(lb: Loopback) -> list[str]:
    """Objects still owned by the cluster's live workers once a batch is over: none may be."""
    procs = [psutil.Process(p.pid) for p in lb.procs.values()]
    pids = {str(p.pid) for p in procs + [c for p in procs for c in p.children(recursive=True)]}
    held = []
    for obj in orphans(everything=True):
        labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
        if labels.get(f"{LABEL}.owner", "").rpartition(":")[2] in pids:
            held.append(obj.name)
    return held


def _class(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        src = ROOT / "reference/echo" if i % 3 else ROOT / "tests/buggy/echo/serial"
        (folder / f"s{i:02d}").symlink_to(src)
    return folder


def _subset(folder: Path, source: Path, names: list[str]) -> Path:
    folder.mkdir()
    for name in names:
        (folder / name).symlink_to(source / name)
    return folder


@SHARES_THE_CLUSTER
def test_every_process_listens_on_loopback_only(cluster: Loopback) -> None:
    procs = [psutil.Process(p.pid) for p in cluster.procs.values()]
    procs += [c for p in procs for c in p.children(recursive=True)]
    bound = [c.laddr for p in procs for c in p.net_connections("inet") if c.status == "LISTEN"]
    assert len(bound) >= 3  # the scheduler, each worker and nanny
    assert all(ipaddress.ip_address(a.ip).is_loopback for a in bound), bound


@SHARES_THE_CLUSTER
def test_same_grades_as_the_local_pool(cluster: Loopback, tmp_path: Path) -> None:
    """The echo example class, and a few of another assignment (docroot travels too)."""
    web = _subset(tmp_path / "web", ROOT / "examples/webserver", ["ada", "carol", "erin"])
    for assignment, subs in (("echo", ROOT / "examples/echo"), ("webserver", web)):
        local, remote = tmp_path / f"{assignment}-local", tmp_path / f"{assignment}-cluster"
        done = _grade(assignment, subs, local, "--backend", "docker")
        assert done.returncode == 0, done.stdout + done.stderr
        done = _grade(assignment, subs, remote, "--cluster", cluster.address)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "preparing 2 grading host(s)" in done.stdout
        expected = _grades(local)
        assert len(expected) == len(list(subs.iterdir()))
        assert _grades(remote) == expected
        assert {s for s, (status, _, _) in expected.items() if status == "ok"}  # not vacuous
    assert not leftovers() and not _held(cluster)


@SHARES_THE_CLUSTER
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
        cluster: Loopback, tmp_path: Path) -> None:
    subs, out = _class(tmp_path / "subs", 6), tmp_path / "out"
    scratch = tmp_path / "w3-tmp"
    scratch.mkdir()
    cluster.add_worker("w3", env={"TMPDIR": str(scratch)})
    proc = subprocess.Popen([*GRADER, "grade", "echo", "--submissions", str(subs), "--out",
                             str(out), "--cluster", cluster.address], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not (busy := list(scratch.glob("grader-worker-*/grader-sub-*/s*"))):
        assert proc.poll() is None and time.monotonic() < deadline, "w3 never graded"
        time.sleep(0.05)
    cluster.kill("w3")  # SIGKILL in the middle of grading busy[0]: a lost host
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output
    grades = _grades(out)
    assert sorted(grades) == [f"s{i:02d}" for i in range(6)]  # each exactly once
    lost = busy[0].name
    assert grades[lost][0] == "ok", f"{lost} was on the killed worker: {grades[lost]}"
    for student, (status, score, _) in grades.items():
        assert status == "ok" and (score == FULL) == (int(student[1:]) % 3 != 0), student
    assert not list(out.rglob("*.tmp")), "half-written files"
    assert not leftovers(), "the killed worker's containers were not reaped"
    assert not _held(cluster), "the workers left containers behind"


@SHARES_THE_CLUSTER
def test_a_host_without_the_image_builds_it(cluster: Loopback, tmp_path: Path) -> None:
    """A course whose echo needs an image no host has yet (another requirements file)."""
    course = tmp_path / "course"
    shutil.copytree(ROOT / "assignments/echo", course / "assignments/echo")
    (course / "assignments/echo/requirements.txt").write_text("\n")  # nothing, but a new tag
    spec = yaml.safe_load((course / "assignments/echo/assignment.yml").read_text())
    (course / "assignments/echo/assignment.yml").write_text(
        yaml.safe_dump({**spec, "requirements": "requirements.txt"}))
    (course / "grading.yml").write_text(yaml.safe_dump(
        {"name": "cluster test", "assignments": {"echo": {}},
         "cluster": {"scheduler": cluster.address}}))
    engine = docker.from_env()
    before = {t for i in engine.images.list("grader-echo") for t in i.tags}
    subs = _subset(tmp_path / "subs", ROOT / "examples/echo", ["ada", "carol"])
    try:
        done = _grade("echo", subs, tmp_path / "out", course=course)  # grading.yml's cluster
        assert done.returncode == 0, done.stdout + done.stderr
        built = {t for i in engine.images.list("grader-echo") for t in i.tags} - before
        assert len(built) == 1, built
        grades = _grades(tmp_path / "out")
        assert grades["ada"][:2] == ("ok", FULL) and grades["carol"][:2] == ("ok", CAROL)
    finally:
        for tag in built if "built" in locals() else ():
            engine.images.remove(tag)  # ours: made by this test


@SHARES_THE_CLUSTER
def test_a_host_whose_engine_does_not_answer_is_retired(cluster: Loopback,
                                                        tmp_path: Path) -> None:
    cluster.add_worker("dead-engine", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    subs = _subset(tmp_path / "subs", ROOT / "examples/echo", ["ada", "frank"])
    done = _grade("echo", subs, tmp_path / "out", "--cluster", cluster.address)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "retiring grading host" in done.stdout and "does not answer" in done.stdout
    grades = _grades(tmp_path / "out")
    assert grades["ada"][:2] == ("ok", FULL) and grades["frank"][0] == "missing"
    cluster.procs.pop("dead-engine").wait(timeout=60)  # retired: Dask closed it


@SHARES_THE_CLUSTER
def test_an_engine_that_stops_mid_batch_retires_its_host(cluster: Loopback,
                                                          tmp_path: Path) -> None:
    """w3's engine answers through a relay the test cuts once w3 is grading: w3 is retired and
    what it had is graded elsewhere, once."""
    subs, out, scratch = _class(tmp_path / "subs", 6), tmp_path / "out", tmp_path / "w3-tmp"
    scratch.mkdir()
    proxy = EngineProxy(tmp_path / "engine.sock")
    cluster.add_worker("w3", env={"DOCKER_HOST": proxy.url, "TMPDIR": str(scratch)})
    proc = subprocess.Popen([*GRADER, "grade", "echo", "--submissions", str(subs), "--out",
                             str(out), "--cluster", cluster.address], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not list(scratch.glob("grader-worker-*/grader-sub-*/s*")):
        assert proc.poll() is None and time.monotonic() < deadline, "w3 never graded"
        time.sleep(0.05)
    proxy.cut()
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output
    assert "retiring grading host" in output and "engine does not answer" in output, output
    grades = _grades(out)
    assert sorted(grades) == [f"s{i:02d}" for i in range(6)]
    for student, (status, score, _) in grades.items():
        assert status == "ok" and (score == FULL) == (int(student[1:]) % 3 != 0), student
    cluster.procs.pop("w3").wait(timeout=60)  # retired: Dask closed it
    assert not leftovers(), "the retired host's containers were not reaped"


def test_no_host_able_to_grade_is_a_grader_error(tmp_path: Path, docker_ready: str) -> None:
    with Loopback(tmp_path / "dask") as lb:
        lb.add_worker("dead-engine", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
        subs = _subset(tmp_path / "subs", ROOT / "examples/echo", ["ada"])
        done = _grade("echo", subs, tmp_path / "out", "--cluster", lb.address)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "no grading host could be prepared" in done.stdout
    assert not (tmp_path / "out/ada/grade.json").exists()  # no grade, not a zero


def test_every_host_lost_is_a_grader_error_then_a_rerun_grades(tmp_path: Path,
                                                                docker_ready: str) -> None:
    """Dask would wait for a worker forever: after `wait` seconds the rest are grader errors
    (not grades); a rerun with a host back grades exactly those."""
    subs, out, scratch = _class(tmp_path / "subs", 4), tmp_path / "out", tmp_path / "w-tmp"
    scratch.mkdir()
    course = tmp_path / "course"
    shutil.copytree(ROOT / "assignments/echo", course / "assignments/echo")
    with Loopback(tmp_path / "dask") as lb:
        (course / "grading.yml").write_text(yaml.safe_dump(
            {"name": "lost", "assignments": {"echo": {}},
             "cluster": {"scheduler": lb.address, "wait": 5}}))
        lb.add_worker("only", env={"TMPDIR": str(scratch)})
        proc = subprocess.Popen([*GRADER, "grade", "echo", "--submissions", str(subs), "--out",
                                 str(out), "--course", str(course)], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while not (list(out.glob("*/grade.json"))
                   and list(scratch.glob("grader-worker-*/grader-sub-*/s*"))):
            assert proc.poll() is None and time.monotonic() < deadline, "never graded"
            time.sleep(0.05)
        lb.kill("only")  # one graded, one in the middle, the rest queued
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 3, output
        errors = {s for s, (status, _, _) in _grades(out).items() if status == "error"}
        assert errors, output
        assert all("no grading host is left" in load_result(out / s).reason  # type: ignore
                   for s in errors)
        lb.add_worker("back")
        rerun = _grade("echo", subs, out, course=course)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert f"resuming: {4 - len(errors)} already graded, {len(errors)} to grade" \
            in rerun.stdout
        assert all(status == "ok" for status, _, _ in _grades(out).values())


@SHARES_THE_CLUSTER
def test_coordinator_killed_then_rerun_resumes(cluster: Loopback, tmp_path: Path) -> None:
    subs, out = _class(tmp_path / "subs", 6), tmp_path / "out"
    proc = subprocess.Popen([*GRADER, "grade", "echo", "--submissions", str(subs), "--out",
                             str(out), "--cluster", cluster.address], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(out.glob("*/grade.json"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    kept = {p.parent.name for p in out.glob("*/grade.json")}
    assert 2 <= len(kept) < 6
    rerun = _grade("echo", subs, out, "--cluster", cluster.address)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"resuming: {len(kept)} already graded, {6 - len(kept)} to grade" in rerun.stdout
    grades = _grades(out)
    assert sorted(grades) == [f"s{i:02d}" for i in range(6)]
    assert all(status == "ok" for status, _, _ in grades.values())


def test_tls(tmp_path: Path, docker_ready: str) -> None:
    """A tls:// scheduler on 127.0.0.1: grading.yml names the client's files; plain TCP is
    refused."""
    tls = _certificates(tmp_path / "pki")
    course = tmp_path / "course"
    shutil.copytree(ROOT / "assignments/echo", course / "assignments/echo")
    with Loopback(tmp_path / "dask", tls=tls) as lb:
        assert lb.address.startswith("tls://127.0.0.1:")
        lb.add_worker("w1")
        (course / "grading.yml").write_text(yaml.safe_dump(
            {"name": "tls test", "assignments": {"echo": {}},
             "cluster": {"scheduler": lb.address, "tls_ca": str(tls.ca),
                         "tls_cert": str(tls.cert), "tls_key": str(tls.key)}}))
        subs = _subset(tmp_path / "subs", ROOT / "examples/echo", ["ada"])
        done = _grade("echo", subs, tmp_path / "out", course=course)
        assert done.returncode == 0, done.stdout + done.stderr
        assert _grades(tmp_path / "out")["ada"][:2] == ("ok", FULL)
        plain = lb.address.replace("tls://", "tcp://")
        refused = _grade("echo", subs, tmp_path / "out2", "--cluster", plain)  # no TLS files
        assert refused.returncode == 3 and "does not answer" in refused.stdout, refused.stdout


def _certificates(folder: Path) -> Tls:
    """A throwaway CA and one certificate for 127.0.0.1 that every process presents."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir()
    now = dt.datetime.now(dt.timezone.utc)

    def cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
             signer: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "grader test CA")])
    ca_cert = cert("grader test CA", ca_key, ca_name, ca_key, True)  # self-signed
    leaf = cert("127.0.0.1", key, ca_cert.subject, ca_key, False)
    pem = serialization.Encoding.PEM
    files = Tls(ca=folder / "ca.pem", cert=folder / "cert.pem", key=folder / "key.pem")
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    files.cert.write_bytes(leaf.public_bytes(pem))
    files.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return files


@pytest.mark.pure
def test_a_submission_travels_as_capped_bytes(tmp_path: Path) -> None:
    """Symlinks stay links (a link to a coordinator file never ships the file); past the cap,
    only the largest file is cut, just enough for the worker's staging to refuse it."""
    src = tmp_path / "ann"
    (src / "pkg").mkdir(parents=True)
    (src / "server.py").write_text("print('hi')\n")
    (src / "pkg/util.py").write_text("X = 1\n")
    (src / "secret.py").symlink_to("/etc/hostname")
    (src / ".git").mkdir()
    (src / ".git/config").write_text("skip me")
    dest = unpack(pack(src), tmp_path / "out/ann")
    assert (dest / "server.py").read_text() == "print('hi')\n"
    assert (dest / "pkg/util.py").read_text() == "X = 1\n"
    assert (dest / "secret.py").is_symlink() and str((dest / "secret.py").readlink()) == \
        "/etc/hostname"
    assert not (dest / ".git").exists()
    (src / "big.bin").write_bytes(b"x" * 5000)
    small = unpack(pack(src, cap=1000), tmp_path / "capped/ann")
    assert (small / "server.py").is_file() and (small / "pkg/util.py").is_file()
    kept = sum(p.stat().st_size for p in small.rglob("*") if p.is_file() and not p.is_symlink())
    assert kept == 1001  # one byte over the cap: refused by stage_copy like the original
    assert STAGE_CAP > 1000


@pytest.mark.pure
def test_what_comes_back_pickles() -> None:
    """Dask pickles the worker's answer: the Result (a dataclass) must survive it whole."""
    result = Result(student="ann", assignment="echo", status="ok", reason="", fingerprint="f",
                    tests=[TestResult(name="t::a", title="A", max_score=2, score=2,
                                      status="passed")], crashes=["died"], log="x")
    back = pickle.loads(pickle.dumps(Graded(result, "tcp://127.0.0.1:1", engine_ok=False)))
    assert back.result == result and back.result.score == 2 and not back.engine_ok
