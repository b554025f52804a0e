"""The rendering package's structure: one module per job, importing one way only, in the
order a page passes through them."""

from __future__ import annotations

from test_imports import import_graph

# The order a page passes through the modules: each may import only those before it.
ORDER = ("colours", "specs", "layout", "drawing", "page_keys")
PACKAGE = "rest_checks.render"


def test_render_modules_import_one_way_and_never_the_package() -> None:
    graph = import_graph()
    modules = {name for name in graph if name.startswith(PACKAGE + ".")}
    assert modules == {f"{PACKAGE}.{name}" for name in ORDER}, "a module left out of ORDER"
    for position, name in enumerate(ORDER):
        inside = {m for m in graph[f"{PACKAGE}.{name}"] if m.startswith(PACKAGE)}
        allowed = {f"{PACKAGE}.{earlier}" for earlier in ORDER[:position]}
        assert inside <= allowed, f"{name} imports {sorted(inside - allowed)}"
