"""The current time, as the cloud Rolegate talks to sees it.

Against the real cloud this is the machine clock. When ``ROLEGATE_ENDPOINT``
points at the emulator, the time is read from the emulator's clock
(``GET /_emulator/clock``), so a test that moves the emulator's clock forward
moves grant expiry and credential refresh with it, without sleeping.

If the emulator cannot be asked, :class:`CloudUnavailable` is raised rather
than falling back to the machine clock: a silently different clock would make
expiry decisions that the emulator then contradicts.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from typing import Any

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
