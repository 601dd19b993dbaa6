"""The layout shows the architecture: each floor of `grader/` imports only its own floor and the
floors below it, and no module imports itself back through others (every import counted,
function-level ones too). Pure: it reads the code, it runs none of it."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

TIER = "pure"  # what its tests need (tests/conftest.py)

PACKAGE = ROOT / "grader"
# Bottom to top; a floor may import its own and any lower one.
FLOORS = {"core": 0, "sandbox": 1, "run": 2, "testing": 2, "batch": 3, "export": 4,
          "quality": 5, "student": 5, "instructor": 5, "cli": 6}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "runners":  # programs run beside a submission, not modules
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in modules else base)
        elif isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
    return {m for m in out if m in modules and m != name}


def _floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_module_is_on_a_floor() -> None:
    loose = [m for m in _graph() if m != "grader" and m != "grader.__main__" and _floor(m) is None]
    assert not loose, f"modules outside the floors: {loose}"


def test_no_floor_imports_a_floor_above_it() -> None:
    upward = [f"{m} -> {i}" for m, imports in _graph().items() for i in imports
              if None not in (_floor(m), _floor(i)) and _floor(i) > _floor(m)]  # type: ignore[operator]
    assert not upward, "imports that run up the floors:\n" + "\n".join(sorted(upward))


def test_no_import_cycle() -> None:
    graph = _graph()
    graph = {m: {i for i in imports if i != "grader"} for m, imports in graph.items()}
    cycles, state = [], dict.fromkeys(graph, 0)  # 0 new, 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state[nxt] == 1:
                cycles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif state[nxt] == 0:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if state[module] == 0:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
