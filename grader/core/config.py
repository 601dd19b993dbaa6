"""The two YAML files a course team edits: grading.yml (the course) and assignment.yml.

One typed model per file; every field has a type, a default and a description, and a bad value
gives one message naming the file, the key, the value and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["RUNNERS", "Assignment", "ClusterSettings", "CollectSettings", "ConfigError", "Course",
           "CourseEntry", "ImportRules", "LatePolicy", "Limits", "LmsIds", "ProcfileError",
           "RosterEntry", "load_assignment",
           "load_course",
           "load_equivalents"]


# The grader's own programs that run beside a submission (an assignment's {runners}): the WSGI
# runner, say. Mounted read-only; part of the fingerprint of an assignment that uses them.
RUNNERS = Path(__file__).resolve().parent.parent / "runners"


class ConfigError(Exception):
    """A course or assignment file is missing or invalid (the grader's input, not a student's)."""


class ProcfileError(Exception):
    """The submission's Procfile is missing or has no usable line (the student's fault)."""


_PROCFILE_CAP = 64 * 1024  # bytes of a Procfile read, at most


def procfile_command(code: Path, process: str) -> list[str]:
    """The command of the `process:` line of the submission's Procfile, as a platform (Heroku,
    Dokku, honcho) reads it: one `name: command` per line, `#` comments. The command is split
    like a shell would; no shell runs it (variables are expanded by the caller)."""
    example = f"a line such as `{process}: gunicorn app:app`"
    path = code / "Procfile"
    if path.is_symlink() or not path.is_file():
        raise ProcfileError(f"no Procfile: the server starts from the `{process}:` line of a "
                            f"file named Procfile at the top of the submission ({example})")
    with path.open("rb") as f:
        text = f.read(_PROCFILE_CAP).decode(errors="replace")
    for line in text.splitlines():
        name, colon, command = line.partition(":")
        if colon and name.strip() == process:
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise ProcfileError(f"the Procfile's `{process}:` line does not parse ({exc}): "
                                    f"expected {example}") from None
            if not argv:
                raise ProcfileError(f"the Procfile's `{process}:` line has no command: "
                                    f"expected {example}")
            return argv
    raise ProcfileError(f"the Procfile has no `{process}:` line: expected {example}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Model):
    memory: str = Field("256m", description="memory per submission, no extra swap (docker units)")
    cpus: float = Field(1.0, gt=0, description="CPU share per submission")
    pids: int = Field(64, ge=8, description="max processes/threads per submission")
    wall: float = Field(120, gt=0, description="seconds for one submission, start to teardown "
                        "(time the machine's load took is added back, up to 4 times)")
    tmpfs: str = Field("16m", description="size of the writable /tmp")
    output: int = Field(64_000, ge=1000, description="bytes of server output kept for feedback")

    @field_validator("memory", "tmpfs")
    @classmethod
    def _size(cls, value: str) -> str:
        if not value or not value[:-1].isdigit() or value[-1].lower() not in "kmg":
            raise ValueError("expected a size such as 256m or 1g")
        return value

    def memory_bytes(self) -> int:
        return int(self.memory[:-1]) * 1024 ** ("kmg".index(self.memory[-1].lower()) + 1)


class ImportRules(_Model):
    """What a submission's .py files may import, checked by parsing them (grader/core/rules.py)."""

    forbidden: list[str] = Field(
        default_factory=list, description="modules (and their submodules) no file may import")
    stdlib_only: bool = Field(
        False, description="only the standard library and the submission's own modules")


class Assignment(_Model):
    """assignments/<id>/assignment.yml"""

    id: str = Field(description="the folder name under assignments/ (set by the loader)")
    dir: Path = Field(description="the assignment folder (set by the loader)")
    title: str = Field(description="what the student sees as the assignment's name")
    kind: Literal["server", "client"] = Field(
        "server", description="server: the submission listens on PORT and the suite connects "
        "to it; client: the submission is a program run once to completion against the "
        "course's `site`, and the suite reads what it printed and what the site saw")
    site: str | None = Field(
        None, description="client: folder of the assignment holding site.py, the course's "
        "site, run beside the program where only the program can reach it (SITE_URL)")
    run_timeout: float = Field(30, gt=0, description="client: seconds the program may run "
                               "before it is stopped")
    entry: str = Field("python server.py", description="command that starts a submission; "
                       "{support} is the support folder, {runners} the grader's runners "
                       "(e.g. python {runners}/wsgi_runner.py app:application)")
    procfile: str | None = Field(
        None, description="start the submission as a platform would: the command of this process "
        "type (e.g. web) in the submission's Procfile replaces `entry`, with $PORT and the other "
        "variables of its environment expanded")
    port: int = Field(8000, ge=1024, le=65535, description="PORT given to a container")
    startup_timeout: float = Field(10, gt=0, description="seconds to wait for the port to listen")
    test_timeout: float = Field(20, gt=0, description="seconds one test may take")
    restarts: int = Field(10, ge=0, le=100, description="how many times a server that dies "
                          "mid-suite is restarted (each crash costs one test, not the rest)")
    limits: Limits | None = Field(None, description="overrides the course's default limits")
    docroot: str | None = Field(None, description="folder of the assignment mounted read-only")
    support: str | None = Field(
        None, description="folder of the assignment (grader-supplied code) mounted read-only; "
        "its path is in SUPPORT and replaces {support} in entry and env")
    imports: ImportRules = Field(ImportRules(), description="import rules for the submission")
    data_dir: bool = Field(False, description="give the server a writable DATA_DIR that persists")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")
    requirements: str | None = Field(
        None, description="pinned requirements file (in the folder) baked into the image"
    )
    public_files: list[str] = Field(
        default_factory=list, description="other files or folders of the assignment that the "
        "public tests need: every export ships them (tests/, docroot, support and requirements "
        "always go)")
    hidden_visibility: Literal["hidden", "after_due_date", "after_published"] = Field(
        "after_published", description="Gradescope visibility of the hidden tests"
    )

    @field_validator("entry")
    @classmethod
    def _entry(cls, value: str) -> str:
        if not shlex.split(value):
            raise ValueError("expected a command such as 'python server.py'")
        return value

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.entry)

    def command(self, *, support: str, runners: str,
                code: Path | None = None) -> tuple[list[str], dict[str, str]]:
        """argv and extra env with {support} and {runners} replaced by where the assignment's
        support folder and the grader's runners are mounted. With `procfile`, argv is the
        submission's (in `code`) Procfile line instead (ProcfileError when there is none)."""
        def fill(text: str) -> str:
            return text.replace("{support}", support).replace("{runners}", runners)

        env = {k: fill(v) for k, v in self.env.items()}
        if self.support:
            env["SUPPORT"] = support
        if self.procfile:
            if code is None:
                raise ValueError(f"{self.id}: a Procfile entry needs the submission's folder")
            return procfile_command(code, self.procfile), env
        return [fill(a) for a in self.argv], env

    @property
    def uses_runners(self) -> bool:
        """Does the server start with one of the grader's runners (grader/runners/)?"""
        return any("{runners}" in v for v in (self.entry, *self.env.values()))

    def suites(self, *, hidden: bool) -> list[Path]:
        names = ["tests", "hidden"] if hidden else ["tests"]
        return [self.dir / n for n in names if (self.dir / n).is_dir()]

    @property
    def docroot_path(self) -> Path | None:
        return self.dir / self.docroot if self.docroot else None

    @property
    def support_path(self) -> Path | None:
        return self.dir / self.support if self.support else None

    @property
    def site_path(self) -> Path | None:
        return self.dir / self.site if self.site else None

    @property
    def requirements_path(self) -> Path | None:
        return self.dir / self.requirements if self.requirements else None


class LatePolicy(_Model):
    """What a late submission costs (grader/instructor/late.py does the arithmetic)."""

    grace_minutes: float = Field(0, ge=0, description="minutes after the due date that are free")
    penalty_per_day: float = Field(
        10, ge=0, le=100, description="percent of the max score lost per started day late")
    cap: float = Field(100, ge=0, le=100, description="at most this percent is ever lost")
    max_days: float = Field(
        7, ge=0, description="later than this, the last on-time submission is graded instead")


class CollectSettings(_Model):
    """Where students' repositories are and how they are fetched (grader collect)."""

    org: str = Field("", description="GitHub organisation that holds the students' repositories")
    classroom: str = Field("", description="Classroom 50 short name (part of repository names)")
    url: str = Field(
        "https://github.com/{org}/{classroom}-{assignment}-{username}.git",
        description="repository URL template: {org} {classroom} {assignment} {username} {id}")
    branch: str = Field("", description="branch graded when there is no submit/* tag "
                                        "(default: the remote's default branch)")
    token_host: str = Field("github.com", description="the only host GH_TOKEN is ever sent to")
    api_url: str = Field("https://api.github.com", description="GitHub REST API base URL")
    install: str = Field("", description="the --install given to `grader export`, if any "
                                          "(to recompute the students' workflow; default: the "
                                          "grader wheel the export bundles)")
    timezone: str = Field("UTC", description="time zone of due dates written without one")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            value.format(org="o", classroom="c", assignment="a", username="u", id="i")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown placeholder {exc}; use {{org}} {{classroom}} "
                             "{assignment} {username} {id}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as UTC or Europe/Paris") from None
        return value


class ClusterSettings(_Model):
    """A Dask scheduler whose workers run on Docker hosts (grader/batch/cluster.py)."""

    scheduler: str = Field(description="the scheduler's address: tcp://HOST:PORT or tls://HOST:PORT")
    tls_ca: str | None = Field(None, description="CA certificate (PEM) for tls://, course-relative")
    tls_cert: str | None = Field(None, description="this client's certificate (PEM) for tls://")
    tls_key: str | None = Field(None, description="this client's private key (PEM) for tls://")
    wait: float = Field(30, gt=0, description="seconds to wait for a grading host, at the start "
                        "and when every host is lost mid-batch (then: grader errors, rerun)")

    @field_validator("scheduler")
    @classmethod
    def _address(cls, value: str) -> str:
        if not re.fullmatch(r"(tcp|tls)://(\[[0-9A-Fa-f:]+\]|[^\s/:\[\]]+):\d{1,5}", value):
            raise ValueError("expected tcp://HOST:PORT or tls://HOST:PORT")
        return value


class RosterEntry(_Model):
    id: str = Field(description="the student's id (folder names, gradebook rows)")
    username: str = Field("", description="GitHub username (default: the id)")
    name: str = Field("", description="display name")
    section: str = Field("", description="section")
    email: str = Field("", description="email address")
    canvas_id: str = Field("", description="Canvas user id (canvas.csv's ID column)")
    sis_user_id: str = Field("", description="SIS User ID (canvas.csv; the institution's id)")
    sis_login_id: str = Field("", description="SIS Login ID (canvas.csv)")

    @field_validator("canvas_id")
    @classmethod
    def _canvas_id(cls, value: str) -> str:
        if value and not value.isdigit():
            raise ValueError("expected Canvas's numeric user id (its gradebook export's ID)")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value.startswith("."):
            raise ValueError("expected a student id usable as a folder name")
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        # it becomes part of a URL and a git argument: a login, nothing that reads as an option
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", value):
            raise ValueError("expected a login such as ada-l (letters, digits, - _ .)")
        return value

    @property
    def login(self) -> str:
        return (self.username or self.id).lower()


class LmsIds(_Model):
    """Where an assignment's grades go in the LMS (OUT/canvas.csv)."""

    canvas_id: int | None = Field(
        None, ge=1, description="the Canvas assignment's id (the number in its URL "
        ".../assignments/<id>): canvas.csv's column is then `Title (id)`, which updates that "
        "assignment; without it Canvas's import creates a new assignment")


class CourseEntry(_Model):
    weight: float = Field(1.0, ge=0, description="weight of the assignment in the course grade")
    due: dt.datetime | None = Field(None, description="due date, ISO 8601 (2026-10-01T23:59:00)")
    extensions: dict[str, float] = Field(
        default_factory=dict, description="student id -> extra days for this assignment")
    late: LatePolicy | None = Field(None, description="overrides the course's late policy")
    fail_below: float | None = Field(
        None, ge=0, le=100, description="the plain GitHub workflow fails (a red cross) when a "
        "push scores below this percent of the public tests' points; default: it never fails "
        "on the score, only when the grader cannot grade")
    lms: LmsIds = Field(LmsIds(), description="the assignment's ids in the LMS")


class Course(_Model):
    """grading.yml"""

    name: str = Field(description="the course's name, shown on reports")
    root: Path = Field(description="the course folder (set by the loader)")
    base_image: str = Field(
        "grader-base:bookworm", description="local image with python3; built when missing"
    )
    limits: Limits = Field(Limits(), description="default limits per submission")
    assignments: dict[str, CourseEntry] = Field(description="assignment id -> weight, due")
    late: LatePolicy = Field(LatePolicy(), description="default late policy")
    collect: CollectSettings = Field(CollectSettings(), description="where repositories are")
    roster: list[RosterEntry] | str | None = Field(
        None, description="the students, or a CSV file (plain or Classroom 50 roster.csv)")
    cluster: ClusterSettings | None = Field(
        None, description="grade on a Dask cluster of Docker hosts (default: this machine)")

    def assignment(self, name: str) -> Assignment:
        if name not in self.assignments:
            known = ", ".join(sorted(self.assignments)) or "none"
            raise ConfigError(f"unknown assignment {name!r}: grading.yml lists {known}")
        return load_assignment(self.root / "assignments" / name)

    def limits_for(self, assignment: Assignment) -> Limits:
        return assignment.limits or self.limits

    def late_for(self, name: str) -> LatePolicy:
        return self.assignments[name].late or self.late


def load_course(root: Path | str = ".") -> Course:
    """Load and validate `root/grading.yml` and every assignment.yml it names."""
    root = Path(root).resolve()
    path = root / "grading.yml"
    course = _validate(Course, _read_yaml(path), path, root=root)
    for name in course.assignments:
        course.assignment(name)  # validate each now: one clear error before any grading starts
    if isinstance(course.roster, str) and not (root / course.roster).is_file():
        raise ConfigError(f"{path}: roster: {course.roster!r} does not exist in {root}")
    return course


def load_assignment(folder: Path) -> Assignment:
    """Load and validate `folder/assignment.yml` (the folder's name is the id)."""
    path = folder / "assignment.yml"
    assignment = _validate(Assignment, _read_yaml(path), path, id=folder.name, dir=folder)
    named = [("docroot", assignment.docroot), ("support", assignment.support),
             ("site", assignment.site),
             ("requirements", assignment.requirements),
             *((f"public_files[{i}]", f) for i, f in enumerate(assignment.public_files))]
    for key, sub in named:
        if key.startswith("public_files") and Path(sub).parts[:1] == ("hidden",):
            raise ConfigError(f"{path}: {key}: {sub!r} is under hidden/: hidden tests never go "
                              "in a student's kit")
        if sub is not None and not _inside(folder, sub):
            raise ConfigError(f"{path}: {key}: {sub!r} does not exist in {folder} (a path "
                              "relative to the assignment folder)")
    keys = (("entry", assignment.entry), *((f"env.{k}", v) for k, v in assignment.env.items()))
    uses = [key for key, value in keys if "{support}" in value]
    if uses and assignment.support is None:
        raise ConfigError(f"{path}: {uses[0]}: uses {{support}}, but no `support` folder is set")
    site = assignment.site_path
    if (assignment.kind == "client") != (site is not None):
        raise ConfigError(f"{path}: site: a client assignment needs a `site` folder (with "
                          "site.py), and only a client assignment has one")
    if site is not None and not (site / "site.py").is_file():
        raise ConfigError(f"{path}: site: {assignment.site!r} has no site.py")
    if not assignment.suites(hidden=True):
        raise ConfigError(f"{folder}: no tests/ or hidden/ folder with the suite")
    return assignment


def _inside(folder: Path, rel: str) -> bool:
    target = (folder / rel).resolve()
    return target.exists() and target.is_relative_to(folder.resolve()) and \
        target != folder.resolve()


class _Loader(yaml.SafeLoader):
    """A date YAML reads as one but that does not exist (2026-02-30) stays text, so the
    model's own check names the file and the key."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values, got {data!r}")
    return data


def _validate(model: type[Any], data: dict[str, Any], path: Path, **fixed: Any) -> Any:
    for key in fixed:
        if key in data:
            raise ConfigError(f"{path}: {key}: is set by the grader, remove it")
    try:
        return model.model_validate({**data, **fixed})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, err["loc"][:-1])  # `late.x`: the late policy's own keys
            fields = ", ".join(k for k in owner.model_fields if owner is not model or
                               k not in fixed)
            raise ConfigError(f"{path}: {key}: unknown key (known keys: {fields})") from None
        if err["type"] == "missing":
            raise ConfigError(f"{path}: {key}: required key is missing") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {key}: {err.get('input')!r} is invalid: {msg}") from None


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model that holds the key at `loc`: through nested models (X | None, dict[str, X],
    list[X]); a dict key or a list index leaves it as it is."""
    def models(tp: Any) -> list[type[BaseModel]]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        return [m for arg in get_args(tp) for m in models(arg)]

    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        model = next(iter(models(field.annotation)), model) if field else model
    return model


EQUIVALENTS = "equivalent_mutants.yml"


def load_equivalents(assignment: Assignment) -> dict[str, str]:
    """assignments/<id>/equivalent_mutants.yml: mutant id -> why it behaves the same on the wire
    (`grader mutants` leaves these out of the score). Missing file: none."""
    path = assignment.dir / EQUIVALENTS
    if not path.is_file():
        return {}
    try:
        if yaml.safe_load(path.read_text()) is None:
            return {}  # only comments
    except yaml.YAMLError:
        pass  # _read_yaml says what is wrong
    data = _read_yaml(path)
    for key, reason in data.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{path}: {key}: {reason!r} is invalid: expected the reason the "
                              "mutant is equivalent (a non-empty string)")
    return {str(k): v for k, v in data.items()}
