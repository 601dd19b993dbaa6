"""Renderers: each a pure function of the one result model.

Student output (server logs, response bytes in feedback) is untrusted: HTML is autoescaped,
XML is escaped and stripped of characters XML cannot hold, the terminal never interprets markup
or escape sequences.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

import jinja2
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.core.results import Result, TestResult
from grader.core.text import last_lines, neutralise, printable, strip_ansi

__all__ = ["class_csv", "feedback_html", "gradescope_json", "junit_xml", "markdown", "print_result",
           "print_summary", "status_word"]

_WORDS = {"no_server": "no server", "timeout": "out of time", "missing": "nothing submitted",
          "invalid": "not accepted", "error": "grader error (not a grade)",
          "suite_broken": "the suite is broken (not a grade)"}
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("grader", "templates"),
    autoescape=True,  # everything a submission printed or sent is shown as text, never as HTML
    undefined=jinja2.StrictUndefined,
)
_ICON = {"passed": "✔", "failed": "✘", "error": "!", "skipped": "-"}


def status_word(result: Result) -> str:
    """How the run went, in a word that never contradicts the score ("ok" with 0/10 does)."""
    if result.status != "ok":
        return _WORDS[result.status]
    if result.full_marks:
        return "all passed"
    return "some passed" if result.score > 0 else "none passed"


def gradescope_json(result: Result) -> dict[str, Any]:
    """Gradescope's results.json (the store's own file is grade.json: core/results.py).

    Before grades are published a student sees the top-level `output` and the visible tests, so
    neither says anything of the hidden ones: `output` is made from the visible tests alone (no
    count, title or failure of a hidden test, no server log the hidden tests' requests are in),
    a hidden test's title in a visible test's feedback reads "a hidden test", and the tests are
    numbered 1, 2, ... visible first, so no gap in the numbers counts the hidden ones. The
    hidden tests' own entries carry the assignment's hidden_visibility."""
    visible = [t for t in result.tests if not t.hidden]
    hidden = [t for t in result.tests if t.hidden]
    secret = {t.title for t in hidden}
    tests = []
    for number, t in enumerate([*visible, *hidden], start=1):
        shown = t.feedback if t.hidden else _unnamed(t.feedback, secret)
        tests.append({"name": t.title, "number": str(number), "score": t.score,
                      "max_score": t.max_score,
                      "status": "passed" if t.status == "passed" else "failed",
                      "output": shown, "visibility": t.visibility})
    return {
        "score": result.score,
        "execution_time": result.duration,
        "output": _public_output(result, visible, secret) if hidden else _output(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _output(result: Result) -> str:
    out = [result.reason] if result.reason else []
    if result.log and (result.crashes or result.status == "no_server"):
        out.append(f"\nYour server's last output:\n{last_lines(result.log)}")
    return "\n".join(out)


_IDLE_NOTE = re.compile(r"note: with no client connected the server kept \d+% of the CPU it may "
                        r"use busy \(a server with nothing to do should wait blocked, using none\)")


def _public_output(result: Result, visible: list[TestResult], secret: set[str]) -> str:
    """`output` when some tests are hidden: what the visible tests show, and the run's own
    verdict when no test ran (no server, out of time, not accepted)."""
    if result.needs_rerun:
        return "the grader broke, not your submission: this run is not a grade"
    if result.status != "ok":  # the whole submission's: no test is named
        return _output(result.model_copy(update={"crashes": []}))
    crashes = [c for c in result.crashes if not any(f"'{title}'" in c for title in secret)]
    failed = [t for t in visible if t.status != "passed"]
    parts = []
    if crashes:
        more = len(crashes) - 1
        parts.append(crashes[0] + (f" (and {more} more time{'s' * (more > 1)})" if more else ""))
    if failed:
        first = "" if crashes else \
            f", first: {failed[0].title}: {_unnamed(failed[0].feedback, secret)}"
        parts.append(f"{len(failed)} of {len(visible)} tests failed{first}")
    parts += [p for p in result.reason.split("; ") if _IDLE_NOTE.fullmatch(p)]
    return "; ".join(parts)


def _unnamed(text: str, secret: set[str]) -> str:
    """`text` with each hidden test's title, as feedback quotes one, read "a hidden test"."""
    for title in sorted(secret, key=len, reverse=True):
        text = text.replace(f"'{title}'", "a hidden test")
    return text


def feedback_html(result: Result, *, title: str, course: str, late: str = "",
                  final: float | None = None) -> str:
    """`late` and `final`: the late policy's verdict and the score after it (publish)."""
    return _ENV.get_template("feedback.html.j2").render(r=result, title=title, course=course,
                                                         icon=_ICON, log=strip_ansi(result.log),
                                                         late=late, final=final)


def junit_xml(result: Result) -> str:
    def clean(text: str) -> str:
        return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "?", text)

    name = f"{result.assignment}.{result.student}" if result.student else result.assignment
    suite = ET.Element("testsuite", name=name,
                       tests=str(len(result.tests)), time=f"{result.duration:.2f}",
                       failures=str(sum(t.status == "failed" for t in result.tests)),
                       errors=str(sum(t.status == "error" for t in result.tests)),
                       skipped=str(sum(t.status == "skipped" for t in result.tests)))
    for t in result.tests:
        file, _, name = t.name.partition("::")
        case = ET.SubElement(suite, "testcase", classname=file.removesuffix(".py").replace(
            "/", "."), name=name or t.name, time=f"{t.duration:.3f}")
        if t.status in ("failed", "error", "skipped"):
            tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[t.status]
            ET.SubElement(case, tag, message=clean(t.feedback))
    if result.log:
        ET.SubElement(suite, "system-out").text = clean(strip_ansi(result.log))
    root = ET.Element("testsuites")
    root.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def class_csv(results: Iterable[Result]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", "status", "reason"])
    for r in sorted(results, key=lambda r: r.student):
        score = "" if r.needs_rerun else f"{r.score:g}"  # a grader error is not a zero
        writer.writerow([_csv_safe(r.student), score, f"{r.max_score:g}", r.status,
                         _csv_safe(r.reason)])
    return buf.getvalue()


def _csv_safe(text: str) -> str:
    """No formula injection when a spreadsheet opens the gradebook."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def markdown(result: Result, *, title: str) -> str:
    """A GitHub job summary: the score and a table (student text escaped for markdown)."""
    def cell(text: str) -> str:
        return printable(text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")

    lines = [f"## {cell(title)}: {result.score:g}/{result.max_score:g}", ""]
    if result.reason:
        lines += [f"**{status_word(result)}**: {cell(result.reason)}", ""]
    if _not_started(result):  # every row would repeat the same "not run" line
        return "\n".join(lines) + "\n"
    lines += ["| | test | points | what went wrong |", "|---|---|---|---|"]
    for t in result.tests:
        lines.append(f"| {_ICON[t.status]} | {cell(t.title)} | {t.score:g}/{t.max_score:g} | "
                     f"{cell(t.feedback)} |")
    return "\n".join(lines) + "\n"


def _not_started(result: Result) -> bool:
    return result.status in ("no_server", "missing", "invalid")


def print_result(result: Result, console: Console, *, title: str) -> None:
    """The readable per-test report `grader check` prints; one line when nothing could run."""
    if _not_started(result):
        console.print(Text(f"{printable(title)}: {status_word(result)}: "
                           f"{printable(result.reason)}", style="bold red"), soft_wrap=True)
        _print_log(result, console)
        console.print(Text(f"score: {result.score:g}/{result.max_score:g} "
                           f"({len(result.tests)} tests not run)", style="bold"))
        return
    table = Table(title=printable(title), show_lines=False, expand=False)
    table.add_column("")
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("feedback", overflow="fold")
    for t in result.tests:
        style = {"passed": "green", "skipped": "yellow"}.get(t.status, "red")
        table.add_row(Text(_ICON[t.status], style=style), Text(printable(t.title)),
                      f"{t.score:g}/{t.max_score:g}", Text(printable(t.feedback)))
    console.print(table)
    if result.reason:
        style = "bold green" if result.full_marks else "bold red"
        console.print(Text(f"{status_word(result)}: {printable(result.reason)}", style=style))
    if result.status != "ok":
        _print_log(result, console)
    console.print(Text(f"score: {result.score:g}/{result.max_score:g} ({status_word(result)})",
                       style="bold"))


def _print_log(result: Result, console: Console) -> None:
    lines = strip_ansi(result.log).strip().splitlines()[-10:]
    if lines:
        console.print(Text("last lines of your program's output:", style="dim"))
        # soft_wrap: no line break of ours may start a line with student text
        console.print(Text(neutralise(printable("\n".join(lines))), style="dim"), soft_wrap=True)


def print_summary(results: list[Result], console: Console, *, title: str) -> None:
    table = Table(title=printable(title))
    for col in ("student", "score", "status", "reason"):
        table.add_column(col, overflow="fold")
    for r in sorted(results, key=lambda r: r.student):
        score = "rerun" if r.needs_rerun else f"{r.score:g}/{r.max_score:g}"
        table.add_row(Text(printable(r.student)), score, r.status,
                      Text(printable(r.reason)[:120]))
    console.print(table)
