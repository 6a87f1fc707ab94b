"""Structured logging: one JSON object per line on stdout, secrets redacted by key name in the writer.

The line's keys and the redaction rule: docs/design/logs.md.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

REDACTED = "[REDACTED]"
SECRET_KEY_PARTS = ("secret", "token", "password", "signature", "authorization", "access_key_secret")
LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

_bound: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("rolegate_log_fields", default={})
_write_lock = threading.Lock()


def is_secret_key(key: object) -> bool:
    return _secret_name(key if type(key) is str else str(key))


@functools.lru_cache(maxsize=4096)  # log field names are few and repeat on every line
def _secret_name(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


_PLAIN = frozenset({str, int, float, bool, type(None)})  # most fields: passed through before any other test
_HEAD = frozenset({"time", "level", "event"})  # every line's own keys, which no field overrides


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-named entry replaced, at any depth."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Mapping):
        return {k: REDACTED if is_secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(v) for v in value]
    return value


@contextlib.contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged inside the block (this thread/task only)."""
    token = _bound.set({**_bound.get(), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


def bound_fields() -> dict[str, Any]:
    """The fields currently bound; for handing context to a worker thread."""
    return dict(_bound.get())


def _threshold() -> int:
    return LEVELS.get(os.environ.get("ROLEGATE_LOG_LEVEL", "info").strip().lower(), LEVELS["info"])


# One encoder for every line: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":")).encode


def log_event(event: str, level: str = "info", **fields: Any) -> None:
    """Write one event line; given fields override bound ones of the same name."""
    rank = LEVELS.get(level)
    if rank is None:
        raise ValueError(f"unknown log level {level!r}")
    if rank < _threshold():
        return
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"
    record = {"time": now, "level": level, "event": event}
    for source in (_bound.get(), fields):
        for key, value in source.items():
            if key not in _HEAD:
                record[key] = REDACTED if is_secret_key(key) else value if type(value) in _PLAIN else redact(value)
    line = _encode(record)
    with _write_lock:
        # Looked up per call, so whatever stdout is now (FC's pipe, pytest's capture) gets the line.
        # backslashreplace: a lone surrogate from request data must not make the write itself fail.
        sys.stdout.write(line.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
        sys.stdout.flush()
