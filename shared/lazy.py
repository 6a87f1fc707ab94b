"""Package re-exports that load their module on first access.

A package ``__init__`` that imported every module it re-exports would make
importing one small module of the package load all the others; a function's
cold start would then pay for code it never runs.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


Exports = Mapping[str, tuple[str, ...]]


def lazy_exports(package: str, exports: Exports) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, which re-exports ``{module: names}``."""
    module_of = {name: module for module, names in exports.items() for name in names}
    namespace = sys.modules[package].__dict__
    names = sorted(module_of)

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return names, __getattr__, __dir__
