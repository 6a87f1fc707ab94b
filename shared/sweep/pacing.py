"""Pacing RAM calls so a sweep runs near an account's rate limit without tripping it.

A :class:`Pacer` spaces one account's calls evenly and adapts its rate to the
throttling answers; :class:`PacedClient` puts it in front of an SDK client. Why
it adapts, and how it finds a limit RAM does not publish: docs/design/sweep.md.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable

from shared.calls import is_throttling  # the same test shared.calls retries on

WINDOW_SECONDS = 1.0
# Share of its rate the pacer must have got through over the last window for that window to show the limit.
SATURATED = 0.5
DECREASE = 0.9  # a throttle cuts the rate to this share of its base
INCREASE = 0.05  # calls/s regained per admitted call once a throttle has shown the limit
REGAIN = 0.7  # calls/s regained per admitted call while still probing for the limit
INITIAL = 10.0  # calls/s a first throttle is measured against when less than that got through
FLOOR = 1.0  # calls/s the rate never drops below (nor the ceiling, when that is lower)


class Pacer:
    """Even spacing at an adaptive rate; shared by all workers calling one account."""

    def __init__(self, ceiling: float = 0.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.ceiling = ceiling if ceiling > 0 else None
        self.floor = min(FLOOR, self.ceiling) if self.ceiling else FLOOR
        self.rate: float | None = self.ceiling
        self._probing = self.ceiling is None  # the limit is not known yet
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self._last_cut = -float("inf")
        self._first: float | None = None
        self._admitted: collections.deque[float] = collections.deque()
        self.calls = 0
        self.throttles = 0
        self.cuts = 0

    def acquire(self) -> float:
        """Wait for the next slot; returns the slot's time (hand it back to :meth:`throttled`)."""
        with self._lock:
            now = self._clock()
            if self._first is None:
                self._first = now
            slot = now if self.rate is None else max(now, self._next)
            if self.rate is not None:
                self._next = slot + 1.0 / self.rate
            self.calls += 1
        if slot > now:
            self._sleep(slot - now)
        return slot

    def admitted(self) -> None:
        with self._lock:
            now = self._clock()
            self._admitted.append(now)
            self._trim(now)
            if self.rate is not None:
                step = REGAIN if self._probing else INCREASE
                self.rate = min(self.rate + step, self.ceiling or float("inf"))

    def throttled(self, slot: float) -> None:
        with self._lock:
            self.throttles += 1
            if slot < self._last_cut:
                return
            now = self._clock()
            self._trim(now)
            measured = len(self._admitted) / WINDOW_SECONDS
            window_full = self._first is not None and now - self._first >= WINDOW_SECONDS
            if self.rate is None:  # unpaced so far: what got through is at best a lower bound of the limit
                base = max(measured, INITIAL)
            elif window_full and measured >= SATURATED * self.rate:  # this second shows the limit
                base = min(self.rate, measured)
                self._probing = False
            else:
                base = self.rate
            self.rate = max(self.floor, base * DECREASE)
            self._last_cut = now
            self._next = max(self._next, now + 1.0 / self.rate)
            self.cuts += 1

    def _trim(self, now: float) -> None:
        while self._admitted and self._admitted[0] <= now - WINDOW_SECONDS:
            self._admitted.popleft()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": self.calls, "throttled": self.throttles, "slowdowns": self.cuts,
                    "rate": None if self.rate is None else round(self.rate, 1)}


class PacedClient:
    """An SDK client whose every method call goes through a :class:`Pacer`.

    One client is shared by all workers: the Tea client keeps no per-request
    state on the instance, and its HTTP session is pooled process-wide anyway
    (per endpoint), so per-thread clients would share the same connections.
    """

    def __init__(self, client: Any, pacer: Pacer) -> None:
        self._client = client
        self._pacer = pacer

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if name.startswith("_") or not callable(target):
            return target
        pacer = self._pacer

        def paced(*args: Any, **kwargs: Any) -> Any:
            slot = pacer.acquire()
            try:
                result = target(*args, **kwargs)
            except Exception as exc:
                if is_throttling(exc):
                    pacer.throttled(slot)
                else:  # an error answer was still admitted by the rate limit
                    pacer.admitted()
                raise
            pacer.admitted()
            return result

        return paced


__all__ = ["PacedClient", "Pacer"]
