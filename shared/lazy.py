"""Loading code at first use: package re-exports, and the large libraries a call needs.

A package ``__init__`` that imported every module it re-exports would make
importing one small module of the package load all the others; a function's
cold start would then pay for code it never runs.

Large libraries (the SDKs, jsonschema) are imported by the first call that
needs them, through :func:`load`. Importing one allocates a few hundred
thousand objects that live as long as the process (modules, classes,
functions), and CPython's cyclic garbage collector, triggered by allocation
counts, traverses them again and again while the import runs and on every full
collection after it, freeing nothing. :func:`load` pauses collection while it
imports and then freezes what is alive (``gc.freeze``: later collections skip
it). Measured on a cold sweep (``bench/cold_start.py``), the collector's time
fell from 45-60 ms to 8-10 ms of a ~600 ms first invocation. Freezing happens
once per library and process; an object frozen with it is still freed by
reference counting, only a cyclic one would outlive its use, and what is alive
at that moment is the process's code and the invocation in flight.
"""
from __future__ import annotations

import gc
import importlib
import sys
import threading
from types import ModuleType
from typing import Any, Callable, Mapping

_loading = 0  # imports in progress through load(), on any thread
_loading_lock = threading.Lock()
_collector_was_enabled = True


def load(module: str) -> ModuleType:
    """``importlib.import_module(module)``, with garbage collection paused when it is not loaded yet."""
    if module in sys.modules:  # loaded, or being loaded by another thread: import_module waits for that one
        return importlib.import_module(module)
    global _loading, _collector_was_enabled
    with _loading_lock:
        if _loading == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _loading += 1
    try:
        return importlib.import_module(module)
    finally:
        with _loading_lock:
            _loading -= 1
            if _loading == 0:
                gc.freeze()
                if _collector_was_enabled:
                    gc.enable()


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
