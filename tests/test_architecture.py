"""The shape of the house: layers import downwards only, modules never import each other, none grows too big.

Read from the source with ``ast`` (every ``import`` statement, those inside functions included: a lazy import up a
layer is still an arrow the wrong way), so the test needs no package installed beyond the project itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

PACKAGES = ("monitor", "scrapers", "db")
MAX_MODULE_LINES = 600   # a module longer than this holds several jobs: split it

# Bottom to top. Names on one line are independent siblings: neither may import the other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("monitor.core",),                                                     # data model, text rules, encodings
    ("monitor.fetch", "monitor.identity", "monitor.prepare", "scrapers"),  # fetching, identity rules, prepare, kinds
    ("db",),                                                               # the store, schema, export, Datasette
    ("monitor.config",),                                                   # config.yaml -> settings
    ("monitor.spider", "monitor.seeding", "monitor.notify"),               # the application: crawl, seed, notify
    ("monitor.pipeline",),                                                 # the run of one source
    ("monitor.service",),                                                  # the scheduler and Datasette beside it
    ("monitor.cli",),                                                      # commands
    ("run_monitor",),                                                      # the entry point
)


def _module_files() -> dict[str, Path]:
    files = {"run_monitor": PROJECT_DIR / "run_monitor.py"}
    for package in PACKAGES:
        for path in sorted((PROJECT_DIR / package).rglob("*.py")):
            parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


MODULES = _module_files()


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to (a submodule, else its package), or None outside the project."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    """The project modules ``module`` imports, anywhere in its source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in map(_resolve, targets) if t and t != module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _layer_of(module: str) -> tuple[int, str] | None:
    """(layer index, the layer entry the module belongs to), by the longest matching prefix."""
    best = None
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best[1])):
                best = (index, name)
    return best


def test_every_module_has_a_layer():
    placed = {"monitor", "scrapers", "db"}   # the packages' own __init__ (docstrings, the kind registry's loader)
    unplaced = sorted(m for m in MODULES if _layer_of(m) is None and m not in placed)
    assert unplaced == [], "add these modules to LAYERS"


def layer_violations(module: str, targets: set[str]) -> list[str]:
    """The imports of ``module`` that point up the layers, or sideways to an independent sibling."""
    here = _layer_of(module)
    if here is None:
        return []
    wrong = []
    for target in sorted(targets):
        there = _layer_of(target)
        if there is None:
            if target in PACKAGES and module.startswith(target + "."):
                continue   # a package's own __init__ (scrapers' registry loader) from inside it
            wrong.append(f"{target} (no layer)")
        elif there[0] > here[0]:
            wrong.append(f"{target} (layer {there[0]} above {here[0]})")
        elif there[0] == here[0] and there[1] != here[1]:
            wrong.append(f"{target} (a sibling in layer {here[0]}: siblings stay independent)")
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module: the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    assert layer_violations(module, GRAPH[module]) == []


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_the_checks_catch_what_they_are_for():
    """An upward import, a sibling import and a cycle are each reported (so the tests above can fail)."""
    assert layer_violations("monitor.core.fold", {"db.store"}) == ["db.store (layer 2 above 0)"]
    assert layer_violations("scrapers.rss", {"monitor.fetch.fetcher"}) == [
        "monitor.fetch.fetcher (a sibling in layer 1: siblings stay independent)"]
    assert layer_violations("monitor.pipeline", {"monitor.spider", "db.store", "monitor.core.model"}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "monitor.core.fold" in GRAPH["monitor.prepare.topics"]    # the graph is read from the real sources


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_the_size_limit(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{MODULES[module]} has {lines} lines: split it by job"
