"""The current time as the cloud Rolegate talks to sees it: the machine's, or the emulator's.

With the emulator, its clock is read once per invocation (:func:`invocation`)
and an unreachable emulator raises rather than falling back to the machine
clock. Why, and how: docs/design/clock.md.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from shared import config
from shared.errors import CloudUnavailable, ConfigError

CLOCK_PATH = "/_emulator/clock"
TIMEOUT_SECONDS = 2.0  # a loopback call; longer only delays reporting a dead emulator


# The emulator's offset, kept for the invocations in progress: (endpoint, seconds ahead of time.time()).
_state_lock = threading.Lock()
_running = 0  # invocations in progress in this process (an instance may serve several at once)
_generation = 0  # bumped by every invocation start: a reading begun before it is not kept
_offset: tuple[str, float] | None = None


class invocation:
    """Context manager around one handler invocation: the emulator's clock is read at most once inside it.

    Entering drops any offset kept so far, so every invocation takes its own
    reading (lazily: an invocation that never asks the time reads nothing).
    When the last invocation in progress ends, the offset is dropped too, and
    code running outside any invocation reads the emulator every time.
    """

    def __enter__(self) -> "invocation":
        global _running, _generation, _offset
        with _state_lock:
            _running += 1
            _generation += 1
            _offset = None
        return self

    def __exit__(self, *exc: object) -> None:
        global _running, _offset
        with _state_lock:
            _running -= 1
            if _running == 0:
                _offset = None


def emulator_endpoint() -> str | None:
    """The emulator whose clock is the time (``ROLEGATE_CLOCK``: ``emulator``, the default with an endpoint, or ``machine``)."""
    endpoint, source = config.endpoint(), config.env_str("ROLEGATE_CLOCK", "emulator")
    if source not in ("emulator", "machine"):
        raise ConfigError("Environment variable ROLEGATE_CLOCK must be emulator or machine.", field="ROLEGATE_CLOCK")
    return endpoint if source == "emulator" else None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    endpoint = emulator_endpoint()
    if endpoint is None:
        return datetime.now(timezone.utc)
    kept = _offset
    if kept is not None and kept[0] == endpoint:
        return datetime.fromtimestamp(time.time() + kept[1], timezone.utc)
    generation = _generation
    reading = _emulator_now(endpoint)
    _keep(endpoint, reading.timestamp() - time.time(), generation)
    return reading


def _keep(endpoint: str, offset: float, generation: int) -> None:
    """Keep ``offset`` for the invocations in progress, unless one started since the reading began."""
    global _offset
    with _state_lock:
        if _running and generation == _generation:
            _offset = (endpoint, offset)


def _emulator_now(endpoint: str) -> datetime:
    """One loopback GET with ``http.client`` (no proxy, no TLS context: the SDKs have imported it anyway)."""
    import http.client

    try:
        conn = http.client.HTTPConnection(endpoint, timeout=TIMEOUT_SECONDS)  # host:port, parsed by http.client
        try:
            conn.request("GET", CLOCK_PATH)
            resp = conn.getresponse()
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            epoch = float(json.loads(resp.read())["epoch"])
        finally:
            conn.close()
    except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException) as exc:
        raise CloudUnavailable(f"Could not read the clock of {endpoint}.", action="GetClock",
                               details={"error": type(exc).__name__}) from exc
    return datetime.fromtimestamp(epoch, timezone.utc)


class Anchored:
    """:func:`now` read once, on first use, then advanced by the monotonic clock.

    One loopback request for a whole fan-out instead of one per target, yet
    never stale by the time passed since: every call is the reading plus the
    monotonic time elapsed. What it does not see is the emulator's clock being
    moved after the reading, so it is made per invocation (a test moves the
    clock between invocations, and the next invocation's reading sees it).
    The reading is taken lazily -- work that never asks the time makes no
    request -- and one at a time; a failed reading is not kept, so the next
    call asks again and raises again if the clock is still unreachable.

    ``source`` is the clock read once (default :func:`now`).
    """

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._anchor: tuple[datetime, float] | None = None

    def __call__(self) -> datetime:
        with self._lock:
            if self._anchor is None:
                taken = time.monotonic()  # taken first: later calls may run ahead by the read, never behind
                self._anchor = ((self._source or now)(), taken)
            at, taken = self._anchor
        return at + timedelta(seconds=time.monotonic() - taken)
