"""The package layers of ``pipeline/``: imports run one way, with no cycles, and no module is too long.

Every module is read with ``ast``; imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "pipeline"

# Lower layers never import higher ones; a package may import its own modules and any lower layer.
LAYERS: dict[str, int] = {
    "errors": 0,
    "signature": 0,
    "locations": 0,
    "text": 1,
    "formats": 1,
    "models": 1,
    "engines": 2,
    "quality": 3,
    "translation": 4,
    "summaries": 4,
    "runs": 5,
    "evaluation": 6,
    "cli": 7,
    "__main__": 8,
}
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports_of(path: Path, name: str) -> set[str]:
    """Every ``pipeline`` module ``path`` imports, at any depth of the code."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pipeline"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if not base.startswith("pipeline"):
                continue
            for alias in node.names:  # `from pipeline import errors` imports the module pipeline.errors
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules() else base)
    return found


def layer(name: str) -> tuple[str, int] | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None
    return parts[1], LAYERS[parts[1]]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {i for i in imports_of(path, name) if i in known and i != name} for name, path in known.items()}


def test_every_package_has_a_layer() -> None:
    for name in modules():
        part = name.split(".")[1] if "." in name else None
        assert part is None or part in LAYERS, f"{name}: add its package to LAYERS (and to docs/architecture.md)"


def test_imports_never_go_up_or_sideways() -> None:
    wrong = []
    for name, targets in graph().items():
        own = layer(name)
        for target in targets:
            theirs = layer(target)
            if own is None or theirs is None or own[0] == theirs[0]:
                continue
            if theirs[1] >= own[1]:
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                group.append(item)
                if item == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules() -> None:
    # a package's __init__ re-exporting its own modules is not a cycle of behaviour; leave it out
    edges = {n: {t for t in ts if not n.startswith(t + ".")} for n, ts in graph().items()}
    assert find_cycles(edges) == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_is_short(name: str) -> None:
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by what it owns"


def test_every_package_says_what_it_owns() -> None:
    for init in ROOT.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80 and "import" in doc, f"{init}: say what the package owns and what it may import"
