"""Pacing RAM calls so a sweep runs near the account's rate limit without tripping it.

RAM throttles per account, and a throttled call costs a retry sleep. The pacer
spaces calls evenly at ``rate`` per second (no bursts: a refilled server-side
bucket is not assumed) and adapts that rate AIMD-style:

* every throttling answer cuts the rate to ``decrease`` (0.9) times the lower of
  the current rate and what the cloud actually admitted over the last second,
  at most once per round: a throttle of a call sent before the last cut says
  nothing new and is ignored, so one burst of rejections is one cut;
* every admitted call raises the rate by ``increase`` (0.05) calls/s, i.e. by
  5% of itself per second of saturated sending, back up to the ceiling.

With a known ceiling (``ROLEGATE_SWEEP_MAX_CALLS_PER_SECOND``) the pacer starts
at it and never exceeds it. Without one it starts unpaced (concurrency is the
only bound) and the first throttle sets the rate from what was admitted. The
sawtooth this produces stays between 0.9 and 1 times the enforced limit (a
gentle cut suits a limit that does not move during a sweep), so a sweep keeps
well over 85% of it -- about 95-99% against a 50 calls/s token bucket -- and
retries, which pass through the pacer too, are rarely throttled again.

:class:`PacedClient` puts a pacer in front of an SDK client without the code
above it knowing: every SDK method call -- each retry attempt included --
waits for its slot and reports throttling back.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable

from shared.calls import is_throttling  # the same test shared.calls retries on

WINDOW_SECONDS = 1.0


class Pacer:
    """Even spacing at an adaptive rate; shared by all workers calling one account."""

    def __init__(self, ceiling: float = 0.0, *, floor: float = 1.0, decrease: float = 0.9, increase: float = 0.05,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.ceiling = ceiling if ceiling > 0 else None
        self.floor = min(floor, self.ceiling) if self.ceiling else floor
        self.rate: float | None = self.ceiling
        self._decrease = decrease
        self._increase = increase
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
                self.rate = min(self.rate + self._increase, self.ceiling or float("inf"))

    def throttled(self, slot: float) -> None:
        with self._lock:
            self.throttles += 1
            if slot < self._last_cut:
                return
            now = self._clock()
            self._trim(now)
            base = self.rate
            measured = len(self._admitted) / WINDOW_SECONDS
            window_full = self._first is not None and now - self._first >= WINDOW_SECONDS
            if base is None or (window_full and measured > 0):
                base = min(base or float("inf"), max(measured, self.floor))
            self.rate = max(self.floor, base * self._decrease)
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
