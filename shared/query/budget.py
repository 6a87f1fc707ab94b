"""The time one query target may still use, and the call timeouts cut to fit it.

A target's listing must end when the request's reply goes out: a call that
starts after that, or hangs past it, only holds a worker. The budget is
checked before each page and each retry, and each call's connect and read
timeouts are the configured ones cut to the time left (never below
``MIN_CALL_TIMEOUT_MS``).
"""
from __future__ import annotations

from typing import Any, Callable

from shared import clients
from shared.deadline import Deadline
from shared.errors import DeadlineExceeded

MIN_CALL_TIMEOUT_MS = 100


class TimeBudget:
    """The time one target may still use: a deadline check and per-call timeouts derived from it."""

    def __init__(self, deadline: Deadline, deadline_seconds: float) -> None:
        self.deadline = deadline
        self.deadline_seconds = deadline_seconds

    def expired(self, before: str) -> DeadlineExceeded:
        """The error of a target the deadline stopped ``before`` something."""
        return DeadlineExceeded(f"the query's deadline ({self.deadline_seconds:g} s) was reached before {before}")

    def check(self, doing: str) -> None:
        """Raise ``DeadlineExceeded`` when the request's time is up, naming what was about to start."""
        if self.deadline.passed():
            raise self.expired(doing)

    def guard(self, method: Callable[..., Any], action: str) -> Callable[..., Any]:
        """``method`` refusing to start once the time is up, so a retry never begins after the deadline."""
        def attempt(*args: Any) -> Any:
            self.check(f"another {action} call")
            return method(*args)
        return attempt

    def timeouts_ms(self) -> tuple[int, int]:
        """(connect, read) timeouts: the configured ones, cut to the time left."""
        connect, read = clients.connect_timeout_ms(), clients.read_timeout_ms()
        remaining = self.deadline.remaining()
        if remaining is None:
            return connect, read
        left = max(MIN_CALL_TIMEOUT_MS, int(remaining * 1000))
        return min(connect, left), min(read, left)


__all__ = ["MIN_CALL_TIMEOUT_MS", "TimeBudget"]
