"""How the expiry sweep behaves: environment defaults, overridden per run by the timer payload.

Environment (read by :meth:`SweepSettings.from_env` at each invocation):

``ROLEGATE_SWEEP_DRY_RUN`` (default false)
    Report what would be revoked and change nothing (a shadow deployment).
``ROLEGATE_SWEEP_GRACE_SECONDS`` (default 0)
    A grant is revoked once ``expires_at <= now - grace``; room for clock
    disagreement between whoever set the expiry and the sweep.
``ROLEGATE_SWEEP_MAX_REVOCATIONS`` (default 0 = no cap)
    Most revocations one run starts, over all accounts; the most overdue
    grants go first and the rest are reported as ``left_for_next_run``.
``ROLEGATE_SWEEP_WARN_WITHIN_SECONDS`` (default 0 = off)
    Grants expiring within this window get an ``expiring_soon`` log event and
    notification. Every run warns again, so size it against the schedule.
``ROLEGATE_SWEEP_MAX_SHARE`` (default 0.5, in (0, 1]; 1 disables the guard)
    Blast-radius guard: a run that finds more than this share of an account's
    grants expired (and more than ``ROLEGATE_SWEEP_GUARD_FLOOR`` of them)
    revokes nothing in that account and fails the invocation. Half the fleet
    expiring between two runs is far beyond normal churn for a sweep that runs
    every few minutes, and is what a wrong clock, a mass edit of expiry tags
    or a bug looks like; it still lets a batch of grants created together
    expire together when it is under half. The payload's ``max_share`` is the
    operator's override for a legitimate mass expiry.
``ROLEGATE_SWEEP_GUARD_FLOOR`` (default 5)
    The guard never trips for this many expired grants or fewer, so a fleet
    of three grants can still lose two.
``ROLEGATE_SWEEP_CONCURRENCY`` (default 8, 1-32)
    Revocations in flight at once. The SDK's connection pool holds 40
    connections per endpoint, so the cap keeps every worker on a pooled one.
``ROLEGATE_SWEEP_MAX_CALLS_PER_SECOND`` (default 0 = found by probing)
    Ceiling of RAM calls per second per account. The pacer never exceeds it,
    and slows down on every throttling answer (see ``shared.sweep.pacing``);
    without it the pacer starts unpaced and settles below the first limit the
    cloud enforces.
``ROLEGATE_SWEEP_SAFETY_MARGIN_SECONDS`` (default 10)
    Stop starting revocations this long before the function's timeout (at
    most half the timeout), leaving time for the ones in flight and the report.
``ROLEGATE_SWEEP_ORPHAN_GRACE_SECONDS`` (default 900)
    A grant custom policy whose grant has no role (an orphan, see
    ``shared.sweep.orphans``) is deleted only once it is this old by its
    ``CreateDate``: a create makes its role first and its policies next, so a
    younger one may belong to a create still at work. Keep it well above the
    time a create takes plus any clock difference with RAM.
``ROLEGATE_SWEEP_MAX_ORPHAN_DELETIONS`` (default 20; 0 = no cap)
    Most orphaned policies one run deletes, over all accounts, oldest first;
    the rest are reported as skipped and left for the next run. Orphans come
    from rare faults, so many at once more likely mean a listing gone wrong;
    a separate cap from ``ROLEGATE_SWEEP_MAX_REVOCATIONS`` keeps them from
    ever taking an expired grant's turn.
``ROLEGATE_SWEEP_ACCOUNTS`` (default: unset = the function's own account)
    Comma-separated owner account ids to sweep in one run, each on its own
    (its own guard, pacer and report; the revocation cap is shared). The function's own account may be
    listed; it is swept with the function's credentials.
``ROLEGATE_SWEEP_PARALLEL_ACCOUNTS`` (default 4, 1-8)
    Accounts swept at the same time. RAM limits each account separately, so
    parallel accounts finish sooner, and no account waits behind a large one.
    Keep it times ``ROLEGATE_SWEEP_CONCURRENCY`` within the 40 pooled
    connections.
``ROLEGATE_SWEEP_ROLE_NAME`` (default ``RolegateSweeper``)
    The role assumed in every other listed account (e.g. a Resource Directory
    member role trusting the function's role). ``deploy/policies/revoke.json``
    allows ``sts:AssumeRole`` on this name only; change both together.
``ROLEGATE_SWEEP_SESSION_NAME`` (default ``rolegate-revoke``)
    RoleSessionName of those sessions, as recorded in ActionTrail.

Notifications use ``shared.notify`` (``ROLEGATE_NOTIFY_*``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from shared import config
from shared.credentials import SESSION_NAME_RE
from shared.errors import ConfigError
from shared.grants.model import ROLE_NAME_RE
from shared.policies.principals import ACCOUNT_ID_RE

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
    accounts: tuple[str, ...] = ()
    parallel_accounts: int = 4
    role_name: str = "RolegateSweeper"
    session_name: str = "rolegate-revoke"

    @classmethod
    def from_env(cls) -> "SweepSettings":
        """The settings documented in the module docstring; ``ConfigError`` names a malformed variable."""
        accounts = tuple(dict.fromkeys(config.env_list("ROLEGATE_SWEEP_ACCOUNTS")))
        for account in accounts:
            if not ACCOUNT_ID_RE.match(account):
                raise ConfigError("ROLEGATE_SWEEP_ACCOUNTS must list 16-digit account ids.",
                                  field="ROLEGATE_SWEEP_ACCOUNTS")
        role_name = config.env_str("ROLEGATE_SWEEP_ROLE_NAME", cls.role_name) or cls.role_name
        if not ROLE_NAME_RE.match(role_name):
            raise ConfigError("ROLEGATE_SWEEP_ROLE_NAME must be a RAM role name.", field="ROLEGATE_SWEEP_ROLE_NAME")
        session_name = config.env_str("ROLEGATE_SWEEP_SESSION_NAME", cls.session_name) or cls.session_name
        if not SESSION_NAME_RE.match(session_name):
            raise ConfigError("ROLEGATE_SWEEP_SESSION_NAME must be 2-64 letters, digits or .@_-.",
                              field="ROLEGATE_SWEEP_SESSION_NAME")
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
            accounts=accounts,
            parallel_accounts=config.env_int("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", cls.parallel_accounts, minimum=1,
                                             maximum=MAX_PARALLEL_ACCOUNTS),
            role_name=role_name,
            session_name=session_name,
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
