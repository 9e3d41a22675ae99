"""The house's rules, read off the code's imports and attribute reads: imports flow one way
between packages and, inside ``engine/``, from each module only to the modules below it; no
module takes another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("events", "journal", "engine", "adapters")

ENGINE_ORDER = (
    "errors",
    "spec_lines",
    "spec",
    "filtering",
    "plan",
    "merge",
    "ports",
    "machine",
    "lifecycle",
    "aggregate",
    "claims",
    "replay",
    "heads",
    "contacts",
    "steplog",
    "audit",
    "metrics",
    "leasing",
    "steps",
    "pipeline",
    "activation",
    "recovery",
    "handle",
    "queries",
    "engine",
    "supervisor",
)
"""engine/'s modules, lowest first: each imports only modules listed before it."""


def modules(package: str) -> dict[str, ast.Module]:
    """Every module of ``package`` by dotted name, parsed."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text(), str(path))
    return out


def imported(tree: ast.Module) -> set[str]:
    """Every absolute module name ``tree`` imports (type-checking imports included)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_engine_modules_import_only_modules_below_them() -> None:
    found = modules("engine")
    listed = {f"engine.{m}" for m in ENGINE_ORDER}
    assert set(found) - {"engine"} == listed, "a module of engine/ missing from ENGINE_ORDER"
    rank = {f"engine.{m}": n for n, m in enumerate(ENGINE_ORDER)}
    wrong = []
    for name, tree in found.items():
        if name == "engine":
            continue
        for target in imported(tree) & set(rank):
            if rank[target] >= rank[name]:
                wrong.append(f"{name} imports {target}")
    assert not wrong


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package: str) -> None:
    found = modules(package)
    edges = {
        name: {t for t in imported(tree) if t in found and t not in (name, package)}
        for name, tree in found.items()
        if name != package
    }
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, "import cycle: " + " -> ".join((*path, node))
        if node in done:
            return
        for target in sorted(edges.get(node, ())):
            visit(target, (*path, node))
        done.add(node)

    for name in sorted(edges):
        visit(name, ())


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package: str) -> None:
    level = {p: n for n, p in enumerate(PACKAGES)}
    wrong = [
        f"{name} imports {target}"
        for name, tree in modules(package).items()
        for target in imported(tree)
        if target.split(".")[0] in level and level[target.split(".")[0]] > level[package]
    ]
    assert not wrong


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_takes_another_modules_private_names(package: str) -> None:
    """Neither ``from m import _name`` nor ``thing._name`` on anything but ``self``/``cls``
    (a module's own private helpers and attributes are its own business)."""
    wrong = []
    for name, tree in modules(package).items():
        own = (
            {
                n.name
                for n in ast.walk(tree)
                if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
            }
            | {
                t.id if isinstance(t, ast.Name) else t.attr
                for n in ast.walk(tree)
                if isinstance(n, ast.Assign | ast.AnnAssign)
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if isinstance(t, ast.Name | ast.Attribute)
            }
            | set(NAMEDTUPLE_API)
        )
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                root = node.module.split(".")[0]
                for alias in node.names:
                    if root in PACKAGES and _private(alias.name):
                        wrong.append(f"{name}:{node.lineno} imports {node.module}.{alias.name}")
            if isinstance(node, ast.Attribute) and _private(node.attr):
                if node.attr in own or node.attr.lstrip("_") in own:
                    continue  # a name this module defines (its own class's slots, say)
                base = node.value
                if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                    continue
                wrong.append(f"{name}:{node.lineno} reads .{node.attr} of another object")
    assert not wrong


NAMEDTUPLE_API = ("_make", "_replace", "_asdict", "_fields")
"""Public despite the underscore: a NamedTuple's own API."""


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")
