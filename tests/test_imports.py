"""Importing the package must stay light: notebooks and the CLI pay for pandas only when used."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HEAVY = ("pandas", "matplotlib", "ipywidgets", "numpy")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(out.stdout))
    return [name for name in HEAVY if name in modules]


def test_import_toolkit_loads_no_heavy_library() -> None:
    assert _loaded_after("import toolkit") == []


def test_foundation_names_load_no_heavy_library() -> None:
    statement = (
        "import toolkit; toolkit.Settings; toolkit.normalize; toolkit.verify; toolkit.ApiError"
    )
    assert _loaded_after(statement) == []


def test_heavy_check_detects_pandas() -> None:
    # Guards the two tests above against passing vacuously.
    assert "pandas" in _loaded_after("import pandas")


# ---- import circles ---------------------------------------------------------------------------
#
# Every import between toolkit's own modules is an edge: module-level imports, imports under
# ``if TYPE_CHECKING:`` and (with ``lazy=True``) imports inside functions. The last two do not
# fail at run time, but a circle through them still means modules that cannot be read, tested or
# changed apart, so they count too: all of them in the emulator; in the rest of the package the
# lazy ones are not checked yet (see the xfail below).

PACKAGE = Path(__file__).resolve().parents[1] / "toolkit"


def _module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package at ``root``."""
    names = {}
    for path in root.rglob("*.py"):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _import_statements(tree: ast.AST, lazy: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of a module; those inside functions only when ``lazy``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif lazy or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _import_statements(node, lazy)


def _imported(module: str, path: Path, modules: dict[str, Path], lazy: bool) -> set[str]:
    """The package's own modules that ``module`` imports."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_statements(ast.parse(path.read_text(encoding="utf-8")), lazy):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            # ``from . import x`` and ``from .pkg import mod`` import modules; other names are
            # attributes of ``source`` itself.
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # ``import toolkit.x.y`` -> toolkit.x.y
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def import_graph(root: Path, *, lazy: bool = True) -> dict[str, set[str]]:
    """Module -> the package's own modules it imports, for the package at ``root`` (imports
    inside functions too when ``lazy``)."""
    modules = _module_names(root)
    return {name: _imported(name, path, modules, lazy) for name, path in modules.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (each holds at least one circle),
    found with Tarjan's algorithm, iteratively so deep packages cannot exhaust the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_emulator_has_no_import_circle() -> None:
    graph = import_graph(PACKAGE)
    emulator = {m: {t for t in ts if t.startswith("toolkit.emulator")} for m, ts in graph.items()}
    assert "toolkit.emulator.calls" in graph["toolkit.emulator.backend"]  # the graph is real
    assert import_cycles(emulator) == []


def test_the_whole_toolkit_has_no_import_circle_outside_functions() -> None:
    assert import_cycles(import_graph(PACKAGE, lazy=False)) == []


def test_the_whole_toolkit_has_no_import_circle() -> None:
    assert import_cycles(import_graph(PACKAGE)) == []


def test_circle_finder_sees_every_kind_of_import(tmp_path: Path) -> None:
    # Guards the two tests above against passing vacuously: a circle made of a module-level
    # import, a lazy import in a function and one under TYPE_CHECKING, via ``from . import``.
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import thing\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\nthing = 1\n"
    )
    (pkg / "d.py").write_text("import pkg.a\n")
    graph = import_graph(pkg)
    assert graph["pkg.d"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    assert import_graph(pkg, lazy=False)["pkg.sub.b"] == set()  # the lazy edge is left out
