"""The shape of the code: lower layers never reach up. No module of ``gateway`` imports, even
inside a function, a module that imports it back; the storage layer does not know the domains
whose commit handlers every session needs, and refuses sessions until an entry point registered
them. The exchange use cases stay modules small enough to read top-down."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parents[1] / "gateway"


def module_name(path: Path) -> str:
    parts = path.relative_to(GATEWAY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class Imports(ast.NodeVisitor):
    """Every module of ``known`` one module imports, at any depth, bar TYPE_CHECKING blocks."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" not in ast.unparse(node.test):
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names if alias.name in self.known)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module is None or node.level:
            return
        names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        self.found.update(name for name in names if name in self.known)


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in GATEWAY.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in paths.items():
        imports = Imports(set(paths))
        imports.visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = imports.found - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_the_gateway_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the scan sees the package

    assert cycles(graph) == []


def test_the_shared_dependencies_know_no_domain_that_owns_its_own() -> None:
    # Each domain injects its services through its own deps module (gateway/<domain>/deps.py).
    reached = import_graph()["gateway.deps"]

    assert {m for m in reached if m.split(".")[1] in {"exchanges", "signals", "policy"}} == set()


def test_the_exchange_use_cases_stay_small_enough_to_read_top_down() -> None:
    sizes = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in (GATEWAY / "exchanges").glob("*.py")
    }
    assert len(sizes) > 10  # the scan sees the use cases

    assert {name: lines for name, lines in sizes.items() if lines > 400} == {}


def test_the_scan_finds_a_cycle_where_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("registered", [False, True])
def test_sessions_wait_for_an_entry_point_to_register_the_commit_handlers(
    registered: bool,
) -> None:
    # In a fresh interpreter: the storage layer alone makes no session that would commit
    # actions without their webhook and notice rows.
    program = (
        "from gateway.db import make_engine, make_sessionmaker\n"
        + (
            "from gateway.wiring import register_commit_handlers\nregister_commit_handlers()\n"
            if registered
            else ""
        )
        + "make_sessionmaker(make_engine('sqlite://'))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)

    assert (done.returncode == 0) == registered, done.stderr
    assert registered or "register_commit_handlers" in done.stderr
