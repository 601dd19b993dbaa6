"""Grading a class on a Dask cluster of Docker hosts (`grader grade --cluster tcp://HOST:PORT`).

Dask schedules; the batch stays on the coordinator (fingerprints, resume, reports). Each job
goes to a worker that offers the `grader` resource (one slot per submission graded at once) as
bytes, and is graded there with that host's engine (grader/batch/remote.py). Before the batch every
host reaps leftovers and builds the image it lacks; after it, every host reaps again.

Losing a worker is Dask's to handle: it reschedules the tasks that were running there (a task
whose workers keep dying fails after `distributed.scheduler.allowed-failures`). A host whose
engine stops answering is ours: it is retired for good (`retire_workers`) and its submissions are
sent again; they come back as grader errors only when no host is left. Each job has one future
here, resolved once, so a rerun task can never write a student's reports twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grader.batch.local import Executor, ExecutorFactory
from grader.batch.remote import Graded, grade_here, pack, prepare_here, reap_here, tree_hash
from grader.core.config import Assignment, ClusterSettings, Course
from grader.core.extras import need
from grader.core.job import Job
from grader.core.results import Result, TestResult
from grader.core.submission import STAGE_CAP
from grader.sandbox import InfraError

__all__ = ["cluster_pool", "connect", "settings_for"]

RESOURCE = "grader"  # what `dask worker --resources grader=N` offers: N submissions at once


def settings_for(course: Course, address: str | None) -> ClusterSettings | None:
    """--cluster ADDRESS (keeping grading.yml's TLS files), else grading.yml's `cluster:`;
    `--cluster local` grades on this machine."""
    if address == "local":
        return None
    if address:
        base = course.cluster.model_dump() if course.cluster else {}
        return ClusterSettings.model_validate({**base, "scheduler": address})
    return course.cluster


def connect(settings: ClusterSettings, *, root: Path, timeout: float = 30) -> Any:
    """A Dask client of the scheduler; TLS files from grading.yml, else Dask's own config."""
    need("distributed", extra="cluster", command="grader grade --cluster")
    import dask
    from distributed import Client
    from distributed.security import Security

    # a submission is shipped inside its task (up to the 64 MiB cap), on purpose: no warning
    dask.config.set({"distributed.admin.large-graph-warning-threshold": f"{STAGE_CAP * 2}B"})

    security: Any = None
    if settings.tls_ca or settings.tls_cert:
        security = Security(tls_ca_file=_path(root, settings.tls_ca),
                            tls_client_cert=_path(root, settings.tls_cert),
                            tls_client_key=_path(root, settings.tls_key),
                            require_encryption=True)
    try:
        return Client(settings.scheduler, security=security, timeout=timeout,
                      set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InfraError(f"the Dask scheduler {settings.scheduler} does not answer: {exc}"
                         ) from None


def _path(root: Path, name: str | None) -> str | None:
    return str(root / name) if name else None


def cluster_pool(settings: ClusterSettings) -> ExecutorFactory:
    """The batch's executor factory for a cluster (`batch.grade_class(executor=...)`)."""

    @contextmanager
    def pool(course: Course, assignment: Assignment, backend: str, workers: int | None,
             log: Callable[[str], None]) -> Iterator[Executor]:
        if backend not in ("auto", "docker"):
            raise ValueError(f"a cluster grades with the docker backend, not {backend!r}")
        client = connect(settings, root=course.root)
        graders = None
        try:
            graders = _Graders(client, course=course, assignment=assignment, log=log)
            graders.prepare(wait_for=settings.wait)
            graders.watch(grace=settings.wait)
            yield Executor("docker", None, graders.slots, graders.submit)
        finally:
            try:
                if graders is not None:
                    graders.close()
            finally:
                client.close()

    return pool


class _Graders:
    """The cluster's grading hosts during one batch."""

    def __init__(self, client: Any, *, course: Course, assignment: Assignment,
                 log: Callable[[str], None]) -> None:
        self.client, self.course, self.assignment, self.log = client, course, assignment, log
        self.key = tree_hash(assignment.dir)
        self.bundle = pack(assignment.dir)
        self.retired: set[str] = set()
        self.inflight: dict[str, tuple[Job, Any, Future[Result]]] = {}  # dask key -> job
        self.lock = threading.Lock()
        self.lost = ""  # why no host is left: every job from then on is a grader error
        self.stop = threading.Event()

    def hosts(self) -> dict[str, int]:
        """Live workers offering the grader resource (not retired): address -> slots."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return {addr: int(w.get("resources", {}).get(RESOURCE, 0))
                for addr, w in workers.items()
                if w.get("resources", {}).get(RESOURCE) and addr not in self.retired}

    def slots(self) -> int:
        return sum(self.hosts().values())

    def prepare(self, *, wait_for: float) -> None:
        """Every host: reap, unpack, build the image it lacks. A host that cannot is retired."""
        try:
            self.client.wait_for_workers(1, timeout=wait_for)
        except TimeoutError:
            raise InfraError(f"no Dask worker joined the scheduler within {wait_for:g} s"
                             ) from None
        hosts = self.hosts()
        if not hosts:
            raise InfraError(f"no Dask worker offers the `{RESOURCE}` resource: start workers "
                             f"with `dask worker ... --resources {RESOURCE}=N`")
        self.log(f"preparing {len(hosts)} grading host(s)...")
        tasks = {addr: self.client.submit(prepare_here, self.course, self.assignment, self.key,
                                          self.bundle, workers=[addr], pure=False,
                                          key=f"grader-prepare-{uuid.uuid4().hex}")
                 for addr in hosts}
        failed = []
        for addr, task in tasks.items():
            try:
                task.result()
            except Exception as exc:  # the engine, a build: this host cannot grade
                failed.append(f"{addr}: {exc}")
                self._retire(addr, f"it could not prepare: {exc}")
        if not self.hosts():
            raise InfraError(f"no grading host could be prepared: {'; '.join(failed)}")

    def watch(self, *, grace: float) -> None:
        """Dask waits forever for a worker; a batch whose hosts are all gone must not."""

        def run() -> None:
            empty_since = time.monotonic()
            while not self.stop.wait(1):
                try:
                    alive = bool(self.hosts())
                except Exception:  # the scheduler itself is gone
                    alive = False
                if alive or not self.inflight:
                    empty_since = time.monotonic()
                elif time.monotonic() - empty_since > grace:
                    self._fail_all(f"no grading host is left (none for {grace:g} s)")

        threading.Thread(target=run, name="grader-cluster-watch", daemon=True).start()

    def submit(self, job: Job, planned: list[TestResult]) -> Future[Result]:
        outer: Future[Result] = Future()
        outer.set_running_or_notify_cancel()
        if self.lost:
            outer.set_result(_error(job, self.lost))
        else:
            self._send(job, planned, outer)
        return outer

    def _send(self, job: Job, planned: list[TestResult], outer: Future[Result]) -> None:
        key = f"grade-{job.student}-{uuid.uuid4().hex[:12]}"
        task = self.client.submit(grade_here, job, pack(job.submission), self.course, self.key,
                                  self.bundle, planned, key=key, pure=False,
                                  resources={RESOURCE: 1})
        with self.lock:
            self.inflight[key] = (job, task, outer)
        task.add_done_callback(lambda t: self._done(t, job, planned, outer))

    def _done(self, task: Any, job: Job, planned: list[TestResult],
              outer: Future[Result]) -> None:
        with self.lock:
            self.inflight.pop(task.key, None)
        if outer.done():
            return
        try:
            graded: Graded = task.result()
        except CancelledError as exc:  # by us at the end of the batch, else by the cluster
            if not self.stop.is_set():
                outer.set_result(_error(job, f"the cluster cancelled the task: {exc}"))
            return
        except Exception as exc:  # KilledWorker: the task's hosts kept dying
            outer.set_result(_error(job, f"the grading hosts failed: {type(exc).__name__}: "
                                         f"{exc}"))
            return
        if graded.engine_ok:
            outer.set_result(graded.result)
            return
        self._retire(graded.worker, f"its Docker engine does not answer "
                                    f"({graded.result.reason})")
        if self.hosts():
            self._send(job, planned, outer)  # graded elsewhere
        else:
            outer.set_result(graded.result)
            self._fail_all(f"no grading host is left (the last one's engine failed: "
                           f"{graded.result.reason})")

    def _retire(self, addr: str, why: str) -> None:
        with self.lock:
            if addr in self.retired:
                return
            self.retired.add(addr)
        self.log(f"retiring grading host {addr} for the rest of the batch: {why}")
        try:
            self.client.retire_workers(workers=[addr], close_workers=True)
        except Exception as exc:  # gone already: nothing to retire
            self.log(f"(could not retire {addr}: {exc})")

    def _fail_all(self, why: str) -> None:
        """No host can take the jobs still queued: grader errors (rerun), not grades."""
        with self.lock:
            self.lost = why
            waiting, self.inflight = list(self.inflight.values()), {}
        for job, task, outer in waiting:
            task.cancel()
            if not outer.done():
                outer.set_result(_error(job, why))

    def close(self) -> None:
        self.stop.set()
        with self.lock:
            left = [task for _, task, _ in self.inflight.values()]
        if left:
            self.client.cancel(left)
        hosts = list(self.hosts())
        if hosts:
            try:
                self.client.run(reap_here, workers=hosts)
            except Exception as exc:  # a host lost at the very end: its owner reaps next time
                self.log(f"(could not reap on every host: {exc})")


def _error(job: Job, reason: str) -> Result:
    return Result(student=job.student, assignment=job.assignment.id, status="error",
                  reason=reason, fingerprint=job.fingerprint)
