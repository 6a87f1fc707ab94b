"""Importing a large library (an SDK, jsonschema) at the first call that needs it, with garbage collection paused.

Why the pause and the freeze, and what they save a cold start: docs/design/cold-start.md.
"""
from __future__ import annotations

import gc
import importlib
import sys
import threading
from types import ModuleType

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
