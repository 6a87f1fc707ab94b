"""The current time, as the cloud Rolegate talks to sees it.

Against the real cloud this is the machine clock. When ``ROLEGATE_ENDPOINT``
points at the emulator, the time is read from the emulator's clock
(``GET /_emulator/clock``), so a test that moves the emulator's clock forward
moves grant expiry and credential refresh with it, without sleeping.

If the emulator cannot be asked, :class:`CloudUnavailable` is raised rather
than falling back to the machine clock: a silently different clock would make
expiry decisions that the emulator then contradicts.

Against the emulator every :func:`now` is a loopback request. Work that judges
many things by the time within one short run (a query checking each target's
cached role session) uses an :class:`Anchored` clock instead: one reading,
advanced by the monotonic clock.
"""
from __future__ import annotations

import functools
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from shared import config
from shared.errors import CloudUnavailable

CLOCK_PATH = "/_emulator/clock"
TIMEOUT_SECONDS = 2.0  # a loopback call; longer only delays reporting a dead emulator


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    endpoint = config.endpoint()
    if endpoint is None:
        return datetime.now(timezone.utc)
    return _emulator_now(endpoint)


@functools.lru_cache(maxsize=1)
def _opener() -> Any:
    """Built on first use, so the real-cloud path never imports urllib.request.

    An empty ProxyHandler: a proxy set in the environment must not see loopback calls.
    """
    import urllib.request

    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _emulator_now(endpoint: str) -> datetime:
    try:
        with _opener().open(f"http://{endpoint}{CLOCK_PATH}", timeout=TIMEOUT_SECONDS) as resp:
            epoch = float(json.loads(resp.read())["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as exc:  # URLError is an OSError
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
