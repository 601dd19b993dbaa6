"""Import rules (`imports:` in assignment.yml), checked by parsing the submission's .py files with
`ast` before grading: nothing of the submission runs here.

A static check sees `import x` and `from x import y` (and `__import__("x")` or
`importlib.import_module("x")` with a literal name); a name built at run time is out of its reach,
and the handout says the rule stands anyway.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from grader.core.config import Assignment, ImportRules
from grader.core.submission import files

__all__ = ["breach", "check_imports", "check_rules", "check_shadowing", "imports_of"]

_MAX_FILE = 1_000_000  # bytes: a larger .py file is refused (no real one is that large)


def check_rules(assignment: Assignment, submission: Path) -> str | None:
    """The first rule the submission breaks (imports, or a grader-supplied module shadowed)."""
    return check_shadowing(assignment, submission) or check_imports(assignment, submission)


def check_shadowing(assignment: Assignment, submission: Path) -> str | None:
    """A submission module named like one of the assignment's `support` modules would be
    imported in its place (the submission's folder comes first on sys.path): refused."""
    support = assignment.support_path
    if support is None:
        return None
    reserved = {p.stem for p in support.glob("*.py")} | {
        p.name for p in support.iterdir() if (p / "__init__.py").is_file()}
    for path in _py_files(submission):
        rel = path.relative_to(submission)
        name = path.parent.name if path.name == "__init__.py" else path.stem
        if name in reserved and rel.parts[0] in (f"{name}.py", name):
            return (f"{rel}: the module name {name!r} is reserved for the grader's own code; "
                    "rename your file")
    return None


# One parse at a time: CPython 3.11's parser is not safe in threads (a batch checks several
# submissions at once): "SystemError: AST constructor recursion depth mismatch" crashed a grading
# in the project's parallel tests (3.11.7).
_PARSING = threading.Lock()


def check_imports(assignment: Assignment, submission: Path) -> str | None:
    """None when every .py file keeps the assignment's import rules; else the first breach:
    file, line and rule."""
    rules = assignment.imports
    if not rules.forbidden and not rules.stdlib_only:
        return None
    files = _py_files(submission)
    local = {p.stem for p in files} | {p.parent.name for p in files if p.name == "__init__.py"}
    for path in files:
        rel = path.relative_to(submission)
        if path.stat().st_size > _MAX_FILE:
            return f"{rel}: larger than {_MAX_FILE // 1000} kB, too large to check its imports"
        try:
            with _PARSING:
                tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError):
            continue  # it cannot be imported either; running it says what is wrong
        for line, module in imports_of(tree):
            problem = breach(module, rules, local=local)
            if problem:
                return f"{rel} line {line}: {problem}"
    return None


def breach(module: str, rules: ImportRules, *, local: set[str]) -> str | None:
    """Why importing `module` (a dotted name) breaks the rules, or None."""
    for banned in rules.forbidden:
        if module == banned or module.startswith(banned + "."):
            return (f"imports {module}, which this assignment forbids "
                    f"(forbidden: {', '.join(rules.forbidden)})")
    top = module.split(".", 1)[0]
    if rules.stdlib_only and top not in sys.stdlib_module_names and top not in local:
        return (f"imports {module}, which is not in the standard library "
                "(this assignment allows the standard library only)")
    return None


def imports_of(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, dotted module name) of every absolute import in a parsed file. `from a import b`
    yields a.b as well as a, since b may be a submodule (`from http import server`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_import_call(node.func) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, arg.value


def _is_import_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _py_files(folder: Path) -> list[Path]:
    return [p for p in files(folder) if p.suffix == ".py" and not p.is_symlink()]
