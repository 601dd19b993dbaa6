"""Mutants of a reference solution: one small change each, of the kind real bugs are made of.

Two sources of operators, each applied one at a time:
- cosmic-ray's (a well-kept mutation tool): comparisons, arithmetic, booleans, numbers, loops,
  exceptions; applied with its own parser, so the rest of the file keeps its formatting.
- the mistakes of network code, found with `ast` and applied as text edits (so the diff shows
  just the change): `sendall` -> `send`, a deleted `close()`/`flush()`/`break`, two adjacent
  statements swapped, a dropped escape or clean-up call (`html.escape(x)` -> `x`,
  `x.strip()` -> `x`), a dropped header, a changed status code, `\\r\\n` -> `\\n`, and in
  Jinja templates `{{ x }}` -> `{{ x|safe }}`.

A mutant's id names its operator, file and line and hashes the changed lines, so it stays the
same across runs (and across unrelated edits elsewhere in the file).
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.core.extras import need

__all__ = ["Mutant", "generate", "sample"]

# cosmic-ray's operators that make bugs people write: its full list (~200 names) is mostly every
# arithmetic operator swapped for every other, which makes nonsense code and slow runs.
_COSMIC = {f"Replace{kind}Operator_{pair}" for kind, pairs in (
    ("Comparison", "Eq_NotEq NotEq_Eq Lt_LtE LtE_Lt Gt_GtE GtE_Gt Lt_Gt Gt_Lt LtE_GtE GtE_LtE "
                   "Is_IsNot IsNot_Is"),
    ("Binary", "Add_Sub Sub_Add Mul_Div Div_Mul Div_FloorDiv FloorDiv_Div Mod_FloorDiv "
               "LShift_RShift RShift_LShift BitOr_BitAnd BitAnd_BitOr"),
    ("Unary", "USub_UAdd Delete_Not")) for pair in pairs.split()} | {
    "AddNot", "ReplaceTrueWithFalse", "ReplaceFalseWithTrue", "ReplaceAndWithOr",
    "ReplaceOrWithAnd", "ReplaceBreakWithContinue", "ReplaceContinueWithBreak",
    "ExceptionReplacer", "NumberReplacer", "ZeroIterationForLoop"}
_DELETABLE_CALLS = {"close", "flush", "shutdown", "commit", "setblocking", "settimeout", "join"}
_DROPPABLE_CALLS = {"escape", "quote", "unquote", "normpath", "realpath", "abspath", "strip",
                    "rstrip", "lstrip", "lower", "casefold", "secure_filename"}
_HEADER = re.compile(r"^[A-Z][A-Za-z]*(-[A-Za-z]+)*$")
_ONE_WORD_HEADERS = {"Location", "Allow", "Date", "Server", "Connection", "Vary"}
_HEADER_LINE = re.compile(r"^[A-Z][A-Za-z]*(-[A-Za-z]+)*: ")
# A plausible wrong code for each status a reference uses.
_WRONG_STATUS = {200: 201, 201: 200, 204: 200, 301: 302, 302: 301, 303: 302, 304: 200, 400: 422,
                 401: 403, 403: 401, 404: 400, 405: 404, 409: 400, 413: 400, 414: 400, 422: 400,
                 500: 200, 501: 405, 505: 400}
_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)


@dataclass(frozen=True)
class Mutant:
    id: str  # operator-file-Lline-hash: stable, and safe as a folder name
    operator: str
    file: str  # relative to the reference folder
    line: int
    diff: str  # unified diff against the reference
    source: str  # the mutated file's whole text


def generate(reference: Path) -> list[Mutant]:
    """Every mutant of every .py and template file in REFERENCE (deduplicated by content)."""
    seen: set[str] = set()
    mutants: list[Mutant] = []
    for path in sorted(reference.rglob("*")):
        rel = path.relative_to(reference).as_posix()
        if not path.is_file() or "__pycache__" in rel or rel.startswith("."):
            continue
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            edits = [*_cosmic(text), *_network(text)]
        elif path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            edits = list(_templates(text))
        else:
            continue
        for operator, line, new in edits:
            if new == text or new in seen or (path.suffix == ".py" and not _compiles(new)):
                continue
            seen.add(new)
            mutants.append(_mutant(operator, rel, line, text, new))
    return sorted(mutants, key=lambda m: m.id)


def sample(mutants: list[Mutant], limit: int | None) -> list[Mutant]:
    """At most LIMIT mutants, deterministically: round-robin over operators (each in the order
    of a hash of its ids) so that no operator with many sites crowds out the others."""
    if limit is None or len(mutants) <= limit:
        return mutants
    queues: dict[str, list[Mutant]] = {}
    for m in sorted(mutants, key=lambda m: hashlib.sha256(m.id.encode()).hexdigest()):
        queues.setdefault(_family(m.operator), []).append(m)
    picked: list[Mutant] = []
    while len(picked) < limit:
        for queue in queues.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return sorted(picked, key=lambda m: m.id)


def _family(operator: str) -> str:
    return operator.split("_")[0]


def _mutant(operator: str, file: str, line: int, old: str, new: str) -> Mutant:
    diff = "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        fromfile=f"a/{file}", tofile=f"b/{file}"))
    changed = "".join(x for x in diff.splitlines(keepends=True)
                      if x[:1] in "+-" and not x.startswith(("+++", "---")))
    digest = hashlib.sha256(changed.encode()).hexdigest()[:8]
    return Mutant(id=f"{operator}-{file.replace('/', '.')}-L{line}-{digest}", operator=operator,
                  file=file, line=line, diff=diff, source=new)


def _compiles(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "is" with a literal: still a mutant
            compile(source, "<mutant>", "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError):
        return False


# -- cosmic-ray --------------------------------------------------------------------------------


def _cosmic(text: str) -> Iterator[tuple[str, int, str]]:
    need("cosmic_ray", extra="mutants", command="grader mutants")
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator, operator_names

    nodes = list(ast_nodes(get_ast(text)))
    for name in operator_names():
        short = name.partition("/")[2]
        if short not in _COSMIC:
            continue
        operator = get_operator(name)()
        positions = [pos for node in nodes for pos in operator.mutation_positions(node)]
        for occurrence, ((line, _), _) in enumerate(positions):
            new = mutate_code(text, operator, occurrence)
            if new is not None:
                yield short, line, new


# -- network code, with ast and text edits ----------------------------------------------------


class _Source:
    """The file as bytes (ast's columns are UTF-8 byte offsets), edited by span."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def text(self, start: int, end: int) -> bytes:
        return self.data[start:end]

    def replace(self, start: int, end: int, new: bytes) -> str:
        return (self.data[:start] + new + self.data[end:]).decode("utf-8")


def _network(text: str) -> Iterator[tuple[str, int, str]]:
    src = _Source(text)
    for node in ast.walk(ast.parse(text)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            start, end = src.span(node.func)
            if node.func.attr == "sendall":
                yield "sendall_to_send", line, src.replace(end - len(b"sendall"), end, b"send")
            if node.func.attr in _DROPPABLE_CALLS and not node.args and not node.keywords:
                yield "drop_call", line, src.replace(*src.span(node), src.text(
                    *src.span(node.func.value)))
        if (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
                and _name(node.func) in _DROPPABLE_CALLS and len(node.args) == 1
                and not node.keywords and not isinstance(node.args[0], ast.Starred)):
            yield "drop_call", line, src.replace(*src.span(node), src.text(
                *src.span(node.args[0])))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                _name(node.value.func) in _DELETABLE_CALLS:
            yield "delete_call", line, _to_pass(src, node)
        if isinstance(node, (ast.Break, ast.Continue)):
            yield "delete_break", line, _to_pass(src, node)
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript) and _name(t.value) == "headers"
                for t in node.targets):
            yield "drop_header", line, _to_pass(src, node)
        if isinstance(node, ast.Dict):
            yield from _drop_header_entries(src, node)
        if isinstance(node, (ast.List, ast.Tuple)):
            yield from _drop_header_lines(src, node)
        if isinstance(node, ast.Constant) and type(node.value) is int \
                and node.value in _WRONG_STATUS:
            yield "status_code", line, src.replace(*src.span(node),
                                                    str(_WRONG_STATUS[node.value]).encode())
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            start, end = src.span(node)
            raw = src.text(start, end)
            if b"\\r\\n" in raw:
                yield "crlf_to_lf", line, src.replace(start, end, raw.replace(b"\\r\\n", b"\\n",
                                                                               1))
        for body in _bodies(node):
            yield from _swaps(src, body)


def _name(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _to_pass(src: _Source, stmt: ast.stmt) -> str:
    return src.replace(*src.span(stmt), b"pass")


def _bodies(node: ast.AST) -> Iterator[list[ast.stmt]]:
    for field in ("body", "orelse", "finalbody"):
        body = getattr(node, field, None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            yield body


def _swaps(src: _Source, body: list[ast.stmt]) -> Iterator[tuple[str, int, str]]:
    """Two adjacent simple statements (calls, assignments) on lines of their own, swapped."""
    for a, b in zip(body, body[1:], strict=False):
        if not (isinstance(a, _SIMPLE) and isinstance(b, _SIMPLE)):
            continue
        if b.lineno <= (a.end_lineno or 0):  # two statements on one line
            continue
        if isinstance(a, ast.Expr) and isinstance(a.value, ast.Constant):
            continue  # a docstring
        if a.col_offset != b.col_offset:
            continue
        (a0, a1), (b0, b1) = src.span(a), src.span(b)
        between = src.text(a1, b0)
        if between.strip() or src.text(a0, a1) == src.text(b0, b1):
            continue
        swapped = src.text(b0, b1) + between + src.text(a0, a1)
        yield "swap_statements", a.lineno, src.replace(a0, b1, swapped)


def _drop_header_entries(src: _Source, node: ast.Dict) -> Iterator[tuple[str, int, str]]:
    for i, (key, value) in enumerate(zip(node.keys, node.values, strict=True)):
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and _HEADER.match(
                key.value) and ("-" in key.value or key.value in _ONE_WORD_HEADERS):
            start, end = src.span(key)[0], src.span(value)[1]
            yield "drop_header", key.lineno, _drop_element(src, node, i, start, end)


def _drop_header_lines(src: _Source, node: ast.List | ast.Tuple) -> Iterator[
        tuple[str, int, str]]:
    for i, elt in enumerate(node.elts):
        first = elt.values[0] if isinstance(elt, ast.JoinedStr) and elt.values else elt
        if isinstance(first, ast.Constant) and isinstance(first.value, str) \
                and _HEADER_LINE.match(first.value) and not first.value.startswith("HTTP/"):
            start, end = src.span(elt)
            yield "drop_header", elt.lineno, _drop_element(src, node, i, start, end)


def _drop_element(src: _Source, node: ast.AST, i: int, start: int, end: int) -> str:
    """Remove the I-th element of a literal, with the comma that belongs to it."""
    rest = src.text(end, src.span(node)[1])
    comma = re.match(rb"\s*,\s*", rest)
    if comma and len(rest) > comma.end() + 1:  # not the last element: take the comma after it
        return src.replace(start, end + comma.end(), b"")
    before = src.text(src.span(node)[0], start)
    back = re.search(rb",\s*$", before) if i else None
    return src.replace(start - (len(back.group()) if back else 0), end, b"")


def _templates(text: str) -> Iterator[tuple[str, int, str]]:
    """Jinja: one `{{ expr }}` shown without autoescaping."""
    for match in re.finditer(r"\{\{\s*(.+?)\s*\}\}", text):
        expr = match.group(1)
        if "|safe" in expr.replace(" ", "") or expr.startswith(("url_for", "csrf")):
            continue
        line = text.count("\n", 0, match.start()) + 1
        new = text[:match.start()] + "{{ " + expr + "|safe }}" + text[match.end():]
        yield "template_safe", line, new
