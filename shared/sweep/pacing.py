"""Pacing RAM calls so a sweep runs near the account's rate limit without tripping it.

RAM throttles per account, and a throttled call costs a retry sleep. The pacer
spaces calls evenly at ``rate`` per second (no bursts: a refilled server-side
bucket is not assumed) and adapts that rate AIMD-style:

* every throttling answer cuts the rate to ``decrease`` (0.9) times a base, at
  most once per round: a throttle of a call sent before the last cut says
  nothing new and is ignored, so one burst of rejections is one cut. The base
  is the lower of the current rate and what the cloud actually admitted over
  the last second -- but only when that second says something about the
  limit: the pacer has been sending for a full second and at least half its
  rate got through. Otherwise (the first second, a sweep slowed by latency
  rather than by its pace, a bucket someone else drained) the count of
  admitted calls is only a lower bound, and the base is the current rate;
* every admitted call raises the rate by ``increase`` (0.05) calls/s, i.e. by
  5% of itself per second of saturated sending, back up to the ceiling.

With a known ceiling (``ROLEGATE_SWEEP_MAX_CALLS_PER_SECOND``) the pacer starts
at it and never exceeds it. Without one it starts unpaced (concurrency is the
only bound) and probes: the first throttle starts pacing at 0.9 times what got
through in the last second, or times ``initial`` (10 calls/s) when less got
through -- a throttle on a sweep's very first calls says the bucket was empty,
not how fast it refills, and pacing at one call a second and creeping back by
0.05 would make a six-call sweep take seconds. While probing, every admitted
call raises the rate by ``regain`` (0.7, about doubling it per second of
sending) instead, until a throttle whose last second says where the limit is
ends the probe; from there the slow climb applies. The sawtooth this produces
stays between 0.9 and 1 times the enforced limit (a gentle cut suits a limit
that does not move during a sweep), so a sweep keeps well over 85% of it --
about 95-99% against a 50 calls/s token bucket -- and retries, which pass
through the pacer too, are rarely throttled again.

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
# Share of its rate the pacer must have got through over the last window for that window to show the limit.
SATURATED = 0.5


class Pacer:
    """Even spacing at an adaptive rate; shared by all workers calling one account."""

    def __init__(self, ceiling: float = 0.0, *, floor: float = 1.0, decrease: float = 0.9, increase: float = 0.05,
                 initial: float = 10.0, regain: float = 0.7, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.ceiling = ceiling if ceiling > 0 else None
        self.floor = min(floor, self.ceiling) if self.ceiling else floor
        self.rate: float | None = self.ceiling
        self._decrease = decrease
        self._increase = increase
        self._initial = initial
        self._regain = regain
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
                step = self._regain if self._probing else self._increase
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
                base = max(measured, self._initial)
            elif window_full and measured >= SATURATED * self.rate:  # this second shows the limit
                base = min(self.rate, measured)
                self._probing = False
            else:
                base = self.rate
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
