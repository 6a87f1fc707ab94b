"""Which product SDKs a function's code can call: a static walk of the modules its handler can reach.

The walk starts at ``functions/<fn>/index.py`` and follows every import, at
any depth in a module (so lazy imports inside functions count), and every
string naming a ``shared`` module (lazy re-exports, ``shared.lazy.load``).
A module's SDKs are the product SDK modules it imports or names, and the
products whose client it asks a ``ClientFactory`` for (``.ram()``,
``.ecs(region)``...); which SDK each factory method builds is read from
``shared/clients.py`` itself, so a new product there is picked up here (any
attribute of that name counts, called or not, whatever its object).
The walk over-approximates (a module imported on one path counts for all), so
a package built from it can only be too large, never miss an SDK.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from rolegate.package import PRODUCT_SDK, REPO

SHARED_MODULE = re.compile(r"^shared(\.[a-z_][a-z0-9_]*)*$")
FACTORY = REPO / "shared" / "clients.py"


def _module_file(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, package: str) -> list[str]:
    """Module names an import statement may load (``from a import b`` may load ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return []


@lru_cache(maxsize=None)
def factory_products() -> dict[str, str]:
    """``ClientFactory`` method name -> the product SDK it builds (from the ``load("<sdk>.client")`` it makes)."""
    tree = ast.parse(FACTORY.read_text(encoding="utf-8"))
    factory = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ClientFactory")
    products = {}
    for method in factory.body:
        if isinstance(method, ast.FunctionDef):
            for node in ast.walk(method):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    top = node.value.split(".")[0]
                    if PRODUCT_SDK.match(top):
                        products[method.name] = top
    return products


def _sdks_and_modules(path: Path) -> tuple[set[str], set[str]]:
    """(product SDKs ``path`` uses, modules it may load)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    modules: set[str] = set()
    sdks: set[str] = set()
    for node in ast.walk(tree):
        names = _imported(node, package)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and path != FACTORY:
            names = [node.value]
        for name in names:
            if SHARED_MODULE.match(name) or name.startswith("functions."):
                modules.add(name)
            elif PRODUCT_SDK.match(name.split(".")[0]):
                sdks.add(name.split(".")[0])
        if isinstance(node, ast.Attribute):  # called or passed on: either way that client may be built
            product = factory_products().get(node.attr)
            if product is not None:
                sdks.add(product)
    return sdks, modules


def product_sdks(function: str) -> set[str]:
    """Every product SDK the code reachable from ``functions/<function>/index.py`` may use."""
    start = REPO / "functions" / function / "index.py"
    seen: set[Path] = set()
    todo = [start]
    found: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        sdks, modules = _sdks_and_modules(path)
        found |= sdks
        for name in modules:
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # a module's packages run their __init__ first
                module = _module_file(".".join(parts[:depth]))
                if module is not None and module not in seen:
                    todo.append(module)
    return found
