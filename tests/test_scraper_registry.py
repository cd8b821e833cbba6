"""The scrapers package: every module is imported, each kind module registers its kind, no module imports a kind."""

from __future__ import annotations

from monitor.core.page import read_page
from scrapers import get_scraper
from tests.conftest import PROJECT_DIR


def test_every_module_in_scrapers_registers_its_kind():
    import pkgutil

    import scrapers
    from scrapers.registry import _REGISTRY

    on_disk = sorted(m.name for m in pkgutil.iter_modules(scrapers.__path__) if not m.name.startswith("_"))
    assert on_disk == scrapers.MODULES                        # nothing listed by hand, nothing left out
    registered_by = {(kind.scrape or kind.crawl).__module__ for kind in _REGISTRY.values()}
    for name in sorted(set(on_disk) - scrapers.SUPPORT_MODULES):
        assert f"scrapers.{name}" in registered_by, f"scrapers/{name}.py registers no kind"
    assert not {f"scrapers.{name}" for name in scrapers.SUPPORT_MODULES} & registered_by   # support is no kind
    assert {"html", "json", "related", "rss", "sitemap"} <= set(scrapers.registered_kinds())


def test_kinds_never_import_each_other():
    """A kind module imports support modules of the package (and lower layers), never another kind."""
    import ast
    import pkgutil

    import scrapers

    kinds = {m.name for m in pkgutil.iter_modules(scrapers.__path__) if not m.name.startswith("_")}
    kinds -= scrapers.SUPPORT_MODULES
    for name in sorted(kinds | scrapers.SUPPORT_MODULES):
        tree = ast.parse((PROJECT_DIR / "scrapers" / f"{name}.py").read_text(encoding="utf-8"))
        imported = set()     # the modules of the package this one imports: scrapers.X, from scrapers(.X) import ...
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        wrong = sorted(f"scrapers.{kind}" for kind in kinds if f"scrapers.{kind}" in imported)
        assert wrong == [], f"scrapers/{name}.py imports the kind module(s) {wrong}"


def test_a_new_module_in_the_package_registers_with_no_other_change(tmp_path, monkeypatch):
    import sys

    import scrapers
    from scrapers.registry import _REGISTRY

    (tmp_path / "example_kind.py").write_text(
        "from monitor.core.model import RawItem\nfrom scrapers.registry import register\n\n\n"
        "@register('example-kind')\ndef scrape(page, options):\n    return [RawItem(title='x')]\n",
        encoding="utf-8")
    monkeypatch.setattr(scrapers, "__path__", [*scrapers.__path__, str(tmp_path)])
    try:
        assert "example_kind" in scrapers._import_kind_modules()
        assert get_scraper("example-kind")(read_page("http://x/", b""), {})[0].title == "x"
    finally:
        _REGISTRY.pop("example-kind", None)
        sys.modules.pop("scrapers.example_kind", None)
