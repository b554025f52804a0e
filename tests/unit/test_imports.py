"""The package's import structure: no module imports itself back through others, and the
light modules stay light.

The graph is read from the source (``import`` and ``from ... import`` statements, those
inside functions included, since a lazy import still closes a loop the moment it runs).
Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import pkgutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE = "rest_checks"


def package_modules(package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` (the package itself and its subpackages included), by
    dotted name, with its source file. Nothing is imported."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is no package"
    modules: dict[str, Path] = {}

    def walk(name: str, directory: Path) -> None:
        modules[name] = directory / "__init__.py"
        for info in pkgutil.iter_modules([str(directory)]):
            if info.ispkg:
                walk(f"{name}.{info.name}", directory / info.name)
            elif (directory / f"{info.name}.py").is_file():
                modules[f"{name}.{info.name}"] = directory / f"{info.name}.py"

    for location in spec.submodule_search_locations:
        walk(package, Path(location))
    return modules


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    """Every import statement of a module at any depth, except under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if _is_type_checking_block(node):
            assert isinstance(node, ast.If)
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module name a ``from`` import names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _closest_module(name: str, modules: Mapping[str, object]) -> str | None:
    """``name`` if it is one of ``modules``, else its nearest enclosing one."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(package: str = PACKAGE) -> dict[str, set[str]]:
    modules = package_modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        is_package = path.name == "__init__.py"
        graph[name] = imports_of(name, is_package, source, modules)
    return graph


def imports_of(
    module: str, is_package: bool, source: str, modules: Mapping[str, object]
) -> set[str]:
    """The modules of ``modules`` that ``module`` (a package's ``__init__`` where
    ``is_package``) imports in ``source``.

    ``from pkg import name`` counts as an import of ``pkg.name`` where that is a module, and
    of ``pkg`` otherwise. A module's implicit import of its parent packages is not counted.
    """
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = _absolute(module, is_package, node)
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for name in names:
            target = _closest_module(name, modules)
            if target is not None and target != module:
                targets.add(target)
    return targets


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a closed path (first node repeated last), or ``None``."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for root in sorted(graph):
        if colour[root] != white:
            continue
        path = [root]
        colour[root] = grey
        stack = [iter(sorted(graph[root]))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                colour[path.pop()] = black
                continue
            state = colour.get(step, black)
            if state == grey:
                return [*path[path.index(step) :], step]
            if state == white:
                colour[step] = grey
                path.append(step)
                stack.append(iter(sorted(graph.get(step, ()))))
    return None


# -- the checker checks -----------------------------------------------------------------


def test_find_cycle_finds_one_in_a_synthetic_graph() -> None:
    acyclic = {"a": {"b", "c"}, "b": {"c"}, "c": set(), "d": {"a"}}
    assert find_cycle(acyclic) is None
    cyclic = {**acyclic, "c": {"d"}}
    cycle = find_cycle(cyclic)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) in ({"a", "c", "d"}, {"a", "b", "c", "d"})
    assert all(b in cyclic[a] for a, b in itertools.pairwise(cycle))
    assert find_cycle({"x": {"x"}}) == ["x", "x"]


def test_imports_are_read_at_every_depth_but_not_under_type_checking() -> None:
    modules = dict.fromkeys(["p", "p.a", "p.b", "p.c", "p.sub", "p.sub.d", "p.sub.e"])
    source = (
        "from __future__ import annotations\n"
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "from p import a\n"
        "from . import e\n"
        "from ..c import thing\n"
        "if TYPE_CHECKING:\n"
        "    import p.sub\n"
        "def later():\n"
        "    import p.b.inner\n"
    )
    found = imports_of("p.sub.d", False, source, modules)
    assert found == {"p.a", "p.sub.e", "p.c", "p.b"}


def test_a_lazy_import_that_closes_a_loop_is_a_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "loopy"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .leaf import VALUE\n")
    (package / "sub" / "leaf.py").write_text("VALUE = 1\n")
    (package / "front.py").write_text("from loopy.sub import VALUE\nfrom loopy import back\n")
    (package / "back.py").write_text("def later():\n    from loopy.front import VALUE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = import_graph("loopy")
    assert set(graph) == {"loopy", "loopy.sub", "loopy.sub.leaf", "loopy.front", "loopy.back"}
    assert graph["loopy.sub"] == {"loopy.sub.leaf"}
    assert find_cycle(graph) == ["loopy.back", "loopy.front", "loopy.back"]
    (package / "back.py").write_text("def later():\n    return 1\n")
    assert find_cycle(import_graph("loopy")) is None


# -- the package ------------------------------------------------------------------------


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "rest_checks.models.registry" in graph and "rest_checks.models.hf" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_importing_the_metrics_imports_no_pil() -> None:
    code = "import sys, rest_checks.metrics; assert 'PIL' not in sys.modules, 'PIL imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["rest_checks.models.registry", "rest_checks.models"])
def test_the_registry_imports_no_backend_library(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('torch', 'transformers', 'openai', 'rapidocr')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# What a REST run needs and a pytest run of other tests does not.
REST_RUN_MODULES = (
    "hypothesis",
    "rest_checks.run",
    "rest_checks.baselines",
    "rest_checks.html_report",
)


def test_a_pytest_run_of_other_tests_imports_nothing_a_rest_run_needs(tmp_path: Path) -> None:
    # The plugin loads in every pytest run of the environment; until a run asks for REST it
    # costs only its options. The test runs in a pytest of its own, with the plugin loaded
    # as an installed one is.
    (tmp_path / "test_other.py").write_text(
        "import sys\n\n\n"
        "def test_nothing_of_a_rest_run_is_imported():\n"
        f"    loaded = [m for m in {REST_RUN_MODULES!r} if m in sys.modules]\n"
        "    assert 'rest_checks.plugin' in sys.modules\n"
        "    assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "rest_checks", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_loading_the_plugin_imports_no_numerical_or_backend_library() -> None:
    # What every pytest start pays for: the plugin and what it needs to collect.
    code = (
        "import sys, rest_checks.plugin, rest_checks.run\n"
        "heavy = [m for m in ('numpy', 'cv2', 'onnxruntime', 'rapidocr', 'torch',"
        " 'transformers', 'openai', 'httpx') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
