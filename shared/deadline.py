"""When an invocation must stop starting work.

FC's Python runtime gives no "remaining time", so the deadline is the start
plus the function's timeout (``context.function.timeout``, else
``FC_FUNCTION_TIMEOUT``/``FC_TIMEOUT``) minus a margin for work in flight and
the report. No known timeout, no deadline (a local run).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from shared import config

TIMEOUT_ENV = ("FC_FUNCTION_TIMEOUT", "FC_TIMEOUT")


def function_timeout(context: Any) -> float | None:
    """The function's timeout in seconds, from the context or the FC environment."""
    value = getattr(getattr(context, "function", None), "timeout", None)
    candidates = [value] + [config.env_str(name) for name in TIMEOUT_ENV]
    for candidate in candidates:
        try:
            seconds = float(candidate) if candidate is not None else 0.0
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return seconds
    return None


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock after which no new work is started; ``at=None`` never passes."""

    at: float | None = None
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def for_invocation(cls, context: Any, started: float, margin_seconds: float,
                       clock: Callable[[], float] = time.monotonic) -> "Deadline":
        """``started`` (a ``clock`` reading at entry) + timeout - margin, the margin at most half the timeout.

        Capping the margin keeps a short-timeout function making progress
        instead of stopping before it starts.
        """
        timeout = function_timeout(context)
        if timeout is None:
            return cls(None, clock)
        return cls(started + timeout - min(margin_seconds, timeout / 2), clock)

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - self.clock()

    def passed(self) -> bool:
        return self.at is not None and self.clock() >= self.at


__all__ = ["Deadline", "function_timeout"]
