"""The house's shape: every import points to the same or a lower layer, and nothing imports in a circle.

Units are the package's folders and its top-level modules; docs/architecture.md draws the layers.
Imports inside functions and under TYPE_CHECKING count: a circle is a circle however it is hidden.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "listserv"
LAYERS = (  # top first
    ("shell", {"__main__", "cli", "service", "supervise", "migrations"}),
    ("worker", {"worker", "features", "web"}),
    (
        "capabilities",
        {
            "archive",
            "digest",
            "membership",
            "moderation",
            "received",
            "outbound",
            "discussions",
            "dkim",
            "dmarc",
            "bounces",
            "engagement",
            "library",
            "archive",
        },
    ),
    ("intake", {"inbound"}),
    ("context", {"cli_context", "work"}),
    ("store", {"store"}),
    ("core", {"mail", "render", "settings", "errors", "clock", "tokens", "secret", "dns", "__init__"}),
)
LAYER_OF = {unit: index for index, (_, units) in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py") if "versions" not in path.parts}


def imports_of(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The listserv modules a file imports ('from a import b' is a.b when that is a module)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                yield target if target in known else base


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imports_of(path, known) if m in known and m != name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_every_unit_has_a_layer():
    assert {unit_of(name) for name in modules()} - set(LAYER_OF) == set()


def test_no_import_points_up_a_layer():
    upward = sorted(f"{source} -> {target}" for source, targets in graph().items() for target in targets
                    if LAYER_OF[unit_of(target)] < LAYER_OF[unit_of(source)])  # fmt: skip
    assert upward == []


def test_no_module_imports_in_a_circle():
    assert cycles(graph()) == []


def test_no_folder_imports_in_a_circle():
    units: dict[str, set[str]] = {}
    for source, targets in graph().items():
        units.setdefault(unit_of(source), set()).update(unit_of(t) for t in targets if unit_of(t) != unit_of(source))
    assert cycles(units) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [({"a": {"b"}, "b": {"a"}}, [["a", "b"]]), ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
     ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]])],
)  # fmt: skip
def test_the_circle_check_itself_finds_circles(edges, expected):
    assert cycles(edges) == expected


def test_no_module_outside_the_migrations_is_over_600_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > 600}
    assert long == {}
