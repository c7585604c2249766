"""The package layout holds: no import cycles, entry points imported by nobody, Qt widgets only in app/ui.

Read from the source with `ast` (every import, at module level or inside functions), so a
lazy import cannot hide a cycle or a Qt dependency.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
ENTRY_POINTS = {"app.cli", "app.__main__"}
QT_FREE_OF_WIDGETS = ("app.inference", "app.capture", "app.narration", "app.video", "app.server", "app.live")


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in APP.rglob("*.py")}


@cache
def imports_of(name: str) -> frozenset[str]:
    """Every module this one imports (anywhere in it), as absolute names."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


def internal_imports(name: str) -> set[str]:
    """The app modules `name` imports (`from app.x import y` counts y when y is a module)."""
    return {m for m in imports_of(name) if m in modules() and m != name and m != "app"}


def test_there_are_no_import_cycles() -> None:
    graph = {name: internal_imports(name) for name in modules()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_nothing_imports_the_entry_points() -> None:
    offenders = sorted(
        name for name in modules() if name not in ENTRY_POINTS and internal_imports(name) & ENTRY_POINTS
    )
    assert offenders == []


@pytest.mark.parametrize("package", QT_FREE_OF_WIDGETS)
def test_core_packages_use_at_most_qtcore(package: str) -> None:
    qt = {
        (name, imported)
        for name in modules()
        if name == package or name.startswith(package + ".")
        for imported in imports_of(name)
        if imported.startswith("PySide6") and not imported.startswith("PySide6.QtCore")
    }
    assert qt == set()


def test_inference_has_no_qt_at_all() -> None:
    qt = {
        name
        for name in modules()
        if name.startswith("app.inference") and any(i.startswith("PySide6") for i in imports_of(name))
    }
    assert qt == set()


def _mentions_any(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    return any(
        (isinstance(n, ast.Name) and n.id == "Any") or (isinstance(n, ast.Attribute) and n.attr == "Any")
        for n in ast.walk(annotation)
    ) or (isinstance(annotation, ast.Constant) and "Any" in str(annotation.value))


def public_any(name: str) -> list[str]:
    """Public functions, methods, fields and constants of `name` whose annotations say Any."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    found: list[str] = []

    def check_function(fn: ast.FunctionDef | ast.AsyncFunctionDef, owner: str) -> None:
        if fn.name.startswith("_") and fn.name != "__init__":
            return
        args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs, fn.args.vararg, fn.args.kwarg]
        if any(a is not None and _mentions_any(a.annotation) for a in args) or _mentions_any(fn.returns):
            found.append(f"{name}:{owner}{fn.name}")

    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            check_function(node, "")
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not node.target.id.startswith("_") and _mentions_any(node.annotation):
                found.append(f"{name}:{node.target.id}")
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    check_function(item, f"{node.name}.")
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    if not item.target.id.startswith("_") and _mentions_any(item.annotation):
                        found.append(f"{name}:{node.name}.{item.target.id}")
    return found


def test_no_any_in_public_signatures_outside_the_ui() -> None:
    offenders = [
        hit for name in sorted(modules()) if not name.startswith("app.ui") for hit in public_any(name)
    ]
    assert offenders == []


def test_the_window_reaches_the_model_thread_only_through_the_live_session() -> None:
    """The UI names the model's state and errors and builds the model thread once; all else is LiveSession."""
    allowed = {"ModelState", "LoadFailure", "NotReady", "BackendFactory"}
    offenders = []
    for name in sorted(modules()):
        if not name.startswith("app.ui"):
            continue
        imported = imports_of(name)
        if "app.live.model_signals" in imported:
            offenders.append(f"{name} listens to the model thread directly")
        names = {
            i.removeprefix("app.inference.model_thread.")
            for i in imported
            if i.startswith("app.inference.model_thread.")
        }
        extra = names - allowed - ({"ModelThread"} if name == "app.ui.main_window" else set())
        if extra:
            offenders.append(f"{name} uses {sorted(extra)}")
    assert offenders == []


def test_the_commands_are_reached_from_the_command_line_only() -> None:
    offenders = sorted(
        name
        for name in modules()
        if not name.startswith("app.commands") and name not in ENTRY_POINTS
        for imported in internal_imports(name)
        if imported.startswith("app.commands")
    )
    assert offenders == []


MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 600


def test_functions_and_modules_stay_readable() -> None:
    """No function longer than 120 lines, no module longer than 600: split by what the parts do."""
    long = []
    for name, path in sorted(modules().items()):
        source = path.read_text(encoding="utf-8")
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}:{node.name}: {length} lines")
    assert long == []
