"""Settings of the expiry sweep: the environment's, overridden per run by the timer payload.

Every variable is described in docs/configuration.md; why the guard and the
caps are set as they are is in docs/design/sweep.md.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from shared import config
from shared.errors import ConfigError

MAX_CONCURRENCY = 32
MAX_PARALLEL_ACCOUNTS = 8


@dataclass(frozen=True)
class SweepSettings:
    dry_run: bool = False
    grace_seconds: int = 0
    max_revocations: int = 0
    warn_within_seconds: int = 0
    max_share: float = 0.5
    guard_floor: int = 5
    concurrency: int = 8
    max_calls_per_second: float = 0.0
    safety_margin_seconds: float = 10.0
    orphan_grace_seconds: int = 900
    max_orphan_deletions: int = 20
    parallel_accounts: int = 4

    @classmethod
    def from_env(cls) -> "SweepSettings":
        """The settings docs/configuration.md describes; ``ConfigError`` names a malformed variable."""
        return cls(
            dry_run=config.env_bool("ROLEGATE_SWEEP_DRY_RUN", cls.dry_run),
            grace_seconds=config.env_int("ROLEGATE_SWEEP_GRACE_SECONDS", cls.grace_seconds, minimum=0),
            max_revocations=config.env_int("ROLEGATE_SWEEP_MAX_REVOCATIONS", cls.max_revocations, minimum=0),
            warn_within_seconds=config.env_int("ROLEGATE_SWEEP_WARN_WITHIN_SECONDS", cls.warn_within_seconds,
                                               minimum=0),
            max_share=_env_fraction("ROLEGATE_SWEEP_MAX_SHARE", cls.max_share),
            guard_floor=config.env_int("ROLEGATE_SWEEP_GUARD_FLOOR", cls.guard_floor, minimum=0),
            concurrency=config.env_int("ROLEGATE_SWEEP_CONCURRENCY", cls.concurrency, minimum=1,
                                       maximum=MAX_CONCURRENCY),
            max_calls_per_second=_env_number("ROLEGATE_SWEEP_MAX_CALLS_PER_SECOND", cls.max_calls_per_second),
            safety_margin_seconds=_env_number("ROLEGATE_SWEEP_SAFETY_MARGIN_SECONDS", cls.safety_margin_seconds),
            orphan_grace_seconds=config.env_int("ROLEGATE_SWEEP_ORPHAN_GRACE_SECONDS", cls.orphan_grace_seconds,
                                                minimum=0),
            max_orphan_deletions=config.env_int("ROLEGATE_SWEEP_MAX_ORPHAN_DELETIONS", cls.max_orphan_deletions,
                                                minimum=0),
            parallel_accounts=config.env_int("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", cls.parallel_accounts, minimum=1,
                                             maximum=MAX_PARALLEL_ACCOUNTS),
        )

    def with_options(self, options: dict[str, Any]) -> "SweepSettings":
        """These settings with a run's payload options (already validated) applied."""
        return dataclasses.replace(self, **options)


def _env_number(name: str, default: float) -> float:
    raw = config.env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"Environment variable {name} must be a number >= 0.", field=name)
    return value


def _env_fraction(name: str, default: float) -> float:
    value = _env_number(name, default)
    if not 0 < value <= 1:
        raise ConfigError(f"Environment variable {name} must be in (0, 1].", field=name)
    return value


__all__ = ["SweepSettings"]
