"""The layers point down, and the rules are checked, not just written.

Order: ``loader`` < ``sqlbridge`` < ``cli`` (``queries`` is data: anyone may read it, it
imports none of them). ``loader`` imports no DuckDB, sqlglot, click, ``sqlbridge`` or ``cli``;
``sqlbridge`` imports no click and no ``cli``. Every import counts, at module level or inside a
function, ``TYPE_CHECKING`` blocks included (a type named in a signature is a dependency too).
Inside a package, modules import one another without cycles among the imports that run at
import time (imports inside functions, and ``TYPE_CHECKING`` blocks, are how a cycle is
deliberately broken, so those are left out of that check).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("loader", "sqlbridge", "cli", "queries")
RANK = {"loader": 0, "sqlbridge": 1, "cli": 2}
FORBIDDEN = {
    "loader": {"duckdb", "sqlglot", "click", "sqlbridge", "cli"},
    "sqlbridge": {"click", "cli"},
    "cli": set(),
    "queries": {"loader", "sqlbridge", "cli", "duckdb", "sqlglot", "click"},
}


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: pathlib.Path) -> list[tuple[str, int, bool]]:
    """``(imported module, line, run at import time)`` for every import in the file; the last
    is false inside functions and ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    for node in tree.body:  # ``try:`` and other ``if`` blocks at module level run at import
        if isinstance(node, ast.Try) or (isinstance(node, ast.If)
                                         and "TYPE_CHECKING" not in ast.unparse(node.test)):
            top_level.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, node.lineno, id(node) in top_level))
            for alias in node.names:  # ``from sqlbridge import session`` imports a module
                if f"{module}.{alias.name}" in MODULES:
                    out.append((f"{module}.{alias.name}", node.lineno, id(node) in top_level))
    return out


def _violations() -> list[str]:
    problems = []
    for name, path in MODULES.items():
        package = name.split(".")[0]
        for module, line, _ in _imports(name, path):
            target = module.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            if target in FORBIDDEN[package] or module in FORBIDDEN[package]:
                problems.append(f"{where}: {package} must not import {target}")
            elif target in RANK and package in RANK and RANK[target] > RANK[package]:
                problems.append(f"{where}: {package} is below {target}")
    return problems


def test_every_package_imports_only_the_layers_below_it():
    assert _violations() == []


def test_the_checker_sees_function_level_and_type_checking_imports(tmp_path, monkeypatch):
    """The rule is only as good as what it parses: a probe module shows both kinds are read."""
    probe = tmp_path / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import click\n"
                     "def f():\n    from cli.main import cli\n    import duckdb\n")
    found = {m for m, _, _ in _imports("loader.probe", probe)}
    assert {"click", "cli.main", "duckdb"} <= found


@pytest.mark.parametrize("package", ["loader", "sqlbridge", "cli"])
def test_no_import_cycles_between_modules_of_a_package(package):
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        if name.split(".")[0] != package:
            continue
        graph[name] = {m for m, _, top in _imports(name, path)
                       if top and m in MODULES and m != name and m.split(".")[0] == package
                       and not name.startswith(m + ".")}  # a module may import its package
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []
