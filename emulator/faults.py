"""Injected latency, errors and throttling, per API action.

An error may fire before the action (nothing changed) or after it (a lost
response); a throttle keeps one bucket, or one per calling account. Matching
rules: docs/design/emulator.md.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import CloudError

KINDS = ("latency", "error", "throttle")


@dataclass
class FaultRule:
    kind: str
    action: str = "*"
    delay_ms: float = 0.0
    code: str = "InternalError"
    status: int = 500
    message: str = "The request processing has failed due to some unknown error."
    after: int = 0
    times: int | None = 1
    rate: float | None = None
    phase: str = "before"
    per_second: float = 0.0
    per_account: bool = False
    seen: int = 0
    fired: int = 0
    _tokens: float = field(default=0.0, repr=False)
    _last: float = field(default=0.0, repr=False)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FaultRule":
        kind = d.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        allowed = {"action", "delay_ms", "code", "status", "message", "after", "times", "rate", "phase", "per_second",
                   "per_account"}
        unknown = set(d) - allowed - {"kind"}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        rule = cls(kind=kind, **{k: d[k] for k in allowed if k in d})
        if rule.phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        if kind == "throttle" and rule.per_second <= 0:
            raise ValueError("throttle needs per_second > 0")
        if not isinstance(rule.per_account, bool):
            raise ValueError("per_account must be true or false")
        rule._tokens = rule.per_second
        rule._last = time.monotonic()
        return rule

    def matches(self, product: str, action: str) -> bool:
        if self.action == "*":
            return True
        if ":" in self.action:
            return self.action.lower() == f"{product}:{action}".lower()
        return self.action == action

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def throttled(retry_after_ms: int = 1000) -> CloudError:
    return CloudError("Throttling.User", "Request was denied due to user flow control.", 400,
                      retry_after=retry_after_ms)


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(7)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        rule = FaultRule.from_dict(spec)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def delay_seconds(self, product: str, action: str) -> float:
        with self._lock:
            return sum(r.delay_ms for r in self._rules if r.kind == "latency" and r.matches(product, action)) / 1000

    def check_throttle(self, product: str, action: str, account_id: str = "") -> None:
        """Token bucket per rule: bursts up to ``per_second``, refilled at that rate.

        With ``per_account`` the rule keeps one bucket per calling account
        (``account_id``; unsigned calls share the bucket of ``""``).
        """
        with self._lock:
            now = time.monotonic()
            for r in self._rules:
                if r.kind != "throttle" or not r.matches(product, action):
                    continue
                if r.per_account:
                    tokens, last = r._buckets.get(account_id, (r.per_second, now))
                else:
                    tokens, last = r._tokens, r._last
                tokens = min(r.per_second, tokens + (now - last) * r.per_second)
                admitted = tokens >= 1
                if admitted:
                    tokens -= 1
                if r.per_account:
                    r._buckets[account_id] = (tokens, now)
                else:
                    r._tokens, r._last = tokens, now
                if not admitted:
                    r.fired += 1
                    raise throttled(int(1000 / r.per_second) + 1)

    def error_for(self, product: str, action: str, phase: str) -> CloudError | None:
        with self._lock:
            for r in self._rules:
                if r.kind != "error" or r.phase != phase or not r.matches(product, action):
                    continue
                r.seen += 1
                if r.seen <= r.after:
                    continue
                if r.times is not None and r.fired >= r.times:
                    continue
                if r.rate is not None and self._random.random() >= r.rate:
                    continue
                r.fired += 1
                if r.code.startswith("Throttling"):
                    return CloudError(r.code, r.message, r.status, retry_after=1000)
                return CloudError(r.code, r.message, r.status)
        return None
