"""Imports point downward only: parsers → analysis → owners → render → live → poolscope → cli.

Every import statement counts, including those inside functions: a lazy import that goes
back up is still a cycle in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Layer of a module, by the longest matching prefix; lower numbers sit lower.
LAYERS: dict[str, int] = {
    "parsers": 0,
    "analyzer": 1,  # the package root and analyzer.units: shared leaves
    "analyzer.units": 1,
    "analyzer.analysis": 2,
    "analyzer.owners": 3,
    "analyzer.render": 4,
    "analyzer.live": 5,
    "poolscope": 6,
    "analyzer.cli": 7,
}


def layer_of(module: str) -> tuple[str, int] | None:
    best = None
    for prefix, level in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, level)
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            # `from analyzer import live` names a module too
            out.extend((node.lineno, f"{mod}.{alias.name}") for alias in node.names)
    return out


SOURCES = sorted(p for pkg in ("parsers", "analyzer", "poolscope") for p in (ROOT / pkg).rglob("*.py"))


def test_every_package_module_has_a_layer() -> None:
    assert SOURCES
    missing = [module_name(p) for p in SOURCES if layer_of(module_name(p)) is None]
    assert missing == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_downward(path: Path) -> None:
    own = layer_of(module_name(path))
    assert own is not None
    upward = []
    for line, target in imported_modules(path):
        found = layer_of(target)
        if found is None or found[0] == own[0]:
            continue
        if found[1] > own[1]:
            upward.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({found[0]} sits above {own[0]})")
    assert upward == []


def test_layer_order_is_the_documented_flow() -> None:
    order = sorted(LAYERS, key=LAYERS.__getitem__)
    assert order.index("analyzer.analysis") < order.index("analyzer.owners") < order.index("analyzer.render")
    assert order.index("analyzer.render") < order.index("analyzer.live") < order.index("analyzer.cli")
