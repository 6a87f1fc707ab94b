"""How many accounts one sweep works on at once, widened when the deadline needs it.

The first account (the hub's own) is swept alone: it loads what every lane
needs (the SDK, the record key, a pooled connection) once, where lanes started
together would each load it at the same moment, which costs a cold start more
CPU than the accounts' own calls. Then ``ROLEGATE_SWEEP_PARALLEL_ACCOUNTS``
accounts are swept side by side. Each time one finishes, the accounts still
waiting are costed at the longest time any account took so far; when, at the
current width, they would not all be finished before the invocation's
deadline, the width grows to the narrowest that would, up to
:data:`MAX_LANES`. RAM limits each account separately, so a wider sweep keeps
every account at its own limit; it only costs connections and memory, which
is why it starts narrow. It never narrows again within a run. Why the numbers
are what they are: docs/design/sweep.md.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from shared.deadline import Deadline

MAX_LANES = 16
POOLED_CONNECTIONS = 40  # the SDK's connection pool per endpoint (Tea core: 10 pools x 4)
T = TypeVar("T")


def width_needed(waiting: int, durations: Sequence[float], remaining: float | None) -> int:
    """The fewest lanes that finish ``waiting`` accounts in ``remaining`` seconds, each as long as the longest so far.

    The longest, not the mean: an account that failed at once or held nothing
    to revoke (the hub itself, often) says little about the next, and an
    estimate on the short side runs into the deadline. 0 when nothing says
    more are needed: no deadline, nothing waiting, nothing finished yet to
    cost an account by, or no time left for a whole account (widening then
    only starts accounts the deadline will stop).
    """
    if remaining is None or not waiting or not durations:
        return 0
    longest = max(durations)
    if longest <= 0:
        return 0
    waves = math.floor(remaining / longest)
    return math.ceil(waiting / waves) if waves >= 1 else 0


def in_flight_per_account(concurrency: int, width: int) -> int:
    """Calls one account may have in flight when ``width`` accounts are swept: all of them stay on pooled connections."""
    return max(1, min(concurrency, POOLED_CONNECTIONS // max(1, width)))


def sweep_in_lanes(accounts: Sequence[str], work: Callable[[str, int], T], width: int, deadline: Deadline,
                   *, most: int = MAX_LANES, clock: Callable[[], float] = time.monotonic) -> tuple[list[T], int]:
    """``work(account, width)`` for every account, the first alone, then ``width`` at a time or wider.

    Returns the results in the accounts' order and the widest the sweep went.

    ``work`` never raises (each account's failure is part of its result).
    """
    results: dict[int, T] = {}
    waiting = deque(enumerate(accounts))
    running: dict[Future[T], tuple[int, float]] = {}
    durations: list[float] = []
    most = max(most, width)
    with ThreadPoolExecutor(max_workers=max(1, min(len(accounts), most)), thread_name_prefix="account") as pool:
        while waiting or running:
            lanes = width if durations else 1  # the first account alone
            while waiting and len(running) < lanes:
                index, account = waiting.popleft()
                running[pool.submit(work, account, lanes)] = (index, clock())
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, started = running.pop(future)
                results[index] = future.result()
                durations.append(clock() - started)
            width = max(width, min(most, width_needed(len(waiting), durations, deadline.remaining())))
    return [results[i] for i in range(len(accounts))], min(width, len(accounts))


__all__ = ["MAX_LANES", "POOLED_CONNECTIONS", "in_flight_per_account", "sweep_in_lanes", "width_needed"]
