"""The log of calls the emulator served, so a test can assert the exact calls an operation made."""
from __future__ import annotations

import itertools
import threading
from typing import Any


class CallLog:
    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append({"seq": next(self._seq), **entry})

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if e["seq"] > since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
