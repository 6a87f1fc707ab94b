"""One sweep invocation over the hub and its members, and its one-line summary.

The hub's own account is swept, then every member of :mod:`shared.members`,
each through its manager role (``Members.factory_for``). Every record is
proven with the hub's record key, bound to the account it was found in: a
member's own KMS secret is never read, so an administrator of a member cannot
sign a record the sweep would believe.

Accounts are swept side by side (:mod:`shared.sweep.lanes`: at first
``ROLEGATE_SWEEP_PARALLEL_ACCOUNTS`` at a time, wider when the deadline needs
it), each with its own pacer (RAM limits are per account), its own
blast-radius guard and its own part of the report; a member that cannot be
reached (its manager role missing or broken) or listed is recorded and the
others are swept. The revocation cap is one budget for the run, so with
several accounts "most overdue first" holds within each account, not across
them; so is the cap on orphaned policies deleted. The summary is logged as
one ``sweep_summary`` line and returned. When any account was blocked by the
guard or could not be swept, or the members could not be listed,
:class:`SweepFailed` is raised after that, so Function Compute records the
invocation as failed and alerting sees it; per-grant failures do not fail the
invocation, since the next run retries them and they are in the summary. An
account the deadline left unstarted counts as not swept. A dry run applies
the guard too and fails the same way: it rehearses exactly what a real run
would do.
"""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from typing import Any, Callable

from shared import clock
from shared.clients import ClientFactory, own_factory
from shared.credentials import Credentials
from shared.deadline import Deadline
from shared.errors import RolegateError, as_rolegate_error, http_status_for
from shared.grants.lifecycle import GrantStore
from shared.grants.proof import Keyring
from shared.kms import keyring_for
from shared.logs import bind, bound_fields, log_event
from shared.members import Members, members_for
from shared.notify import Notifier
from shared.sts import caller_identity, owner_account_id, runtime_account_id
from shared.sweep.account import AccountReport, AccountSweep, Budget
from shared.sweep.lanes import in_flight_per_account, sweep_in_lanes
from shared.sweep.options import options_from_event
from shared.sweep.pacing import PacedClient, Pacer
from shared.sweep.settings import SweepSettings

COUNTS = ("examined", "expired", "revoked", "already_gone", "left_for_next_run", "expiring_soon", "orphans_deleted")
DRY_RUN_COUNTS = ("would_revoke", "orphans_would_delete")
LISTS = ("failed", "unreadable_records", "disarmed", "orphans_skipped")
DRY_RUN_LISTS = ("planned",)
SESSION_NAME = "rolegate-revoke"  # how a member's ActionTrail names the sweep's manager-role sessions


class SweepFailed(RolegateError):
    """The sweep did not do its job in some account (guard tripped, account unreachable); ``summary`` says which."""

    default_code = "SweepFailed"
    logged = True  # its summary line says what failed

    def __init__(self, message: str, summary: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.summary = summary


class _OutOfTime(Exception):
    """No time left to start the next account."""


class Sweep:
    """Everything one invocation needs; :meth:`run` does the work."""

    def __init__(self, settings: SweepSettings, base: ClientFactory, own_account: str, deadline: Deadline,
                 members: Members, *, notifier: Notifier | None = None,
                 now: Callable[[], datetime] = clock.now) -> None:
        self.settings = settings
        self.base = base
        self.own_account = own_account
        self.deadline = deadline
        self.members = members
        self.notifier = notifier or Notifier.from_env()
        self.now = now

    def _factory_for(self, account_id: str) -> ClientFactory:
        return self.base if account_id == self.own_account else self.members.factory_for(account_id)

    def _sweep_account(self, account_id: str, keyring: Keyring, budget: Budget, orphan_budget: Budget,
                       width: int) -> AccountReport:
        pacer = Pacer(self.settings.max_calls_per_second)
        settings = dataclasses.replace(self.settings,
                                       concurrency=in_flight_per_account(self.settings.concurrency, width))
        sweep: AccountSweep | None = None
        try:
            if self.deadline.passed():
                raise _OutOfTime()
            client = PacedClient(self._factory_for(account_id).ram(), pacer)
            # The hub's key, bound to the account the record is read in: a member's own secrets play no part.
            store = GrantStore(client, account_id, keyring, now=self.now)
            sweep = AccountSweep(store, settings, self.deadline, budget, self.notifier, orphan_budget=orphan_budget)
            report = sweep.run(self.now())
        except _OutOfTime:
            report = AccountReport(account_id, self.settings.dry_run,
                                   error={"code": "DeadlineExceeded", "message": "not started: out of time"})
        except Exception as exc:  # one account's failure never stops the others
            report = sweep.report if sweep is not None else AccountReport(account_id, self.settings.dry_run)
            error = as_rolegate_error(exc)
            report.error = error.to_dict()
            log_event("sweep_account_failed", "error", error=report.error)
        report.pacing = pacer.snapshot()
        return report

    def _accounts(self) -> tuple[list[str], dict[str, Any] | None]:
        """The hub, then every member; and why the members could not be listed, if they could not."""
        try:
            members = self.members.accounts()
        except Exception as exc:  # the hub is still swept
            error = as_rolegate_error(exc).to_dict()
            log_event("sweep_members_unlisted", "error", error=error)
            return [self.own_account], error
        return [self.own_account, *(a for a in dict.fromkeys(members) if a != self.own_account)], None

    def run(self) -> dict[str, Any]:
        """Sweep every account; return the summary, or raise :class:`SweepFailed` after logging it."""
        started = time.monotonic()
        accounts, unlisted = self._accounts()
        keyring = keyring_for(self.base)
        budget = Budget(self.settings.max_revocations)
        orphan_budget = Budget(self.settings.max_orphan_deletions)
        fields = bound_fields()

        def sweep_one(account_id: str, width: int) -> AccountReport:
            with bind(**fields, account_id=account_id):
                return self._sweep_account(account_id, keyring, budget, orphan_budget, width)

        reports, width = sweep_in_lanes(accounts, sweep_one, self.settings.parallel_accounts, self.deadline)
        summary = self._summary(reports, width, unlisted, round((time.monotonic() - started) * 1000))
        failed = [r.account_id for r in reports if not r.ok]
        log_event("sweep_summary", "info" if not failed and unlisted is None else "error", **summary)
        if failed or unlisted is not None:
            blocked = [r.account_id for r in reports if r.blocked is not None]
            message = ("The blast-radius guard stopped the sweep in " + ", ".join(blocked) if blocked
                       else "The sweep could not complete in " + ", ".join(failed) if failed
                       else "The members could not be listed")
            raise SweepFailed(message + "; see the summary.", summary,
                              code="SweepBlocked" if blocked else "SweepIncomplete",
                              details={"accounts": failed})
        return summary

    def _summary(self, reports: list[AccountReport], width: int, unlisted: dict[str, Any] | None,
                 duration_ms: int) -> dict[str, Any]:
        s = self.settings
        options = {"grace_seconds": s.grace_seconds, "max_revocations": s.max_revocations,
                   "warn_within_seconds": s.warn_within_seconds, "max_share": s.max_share}
        if len(reports) == 1 and unlisted is None:
            return {**reports[0].to_dict(), "options": options, "duration_ms": duration_ms}
        parts = [r.to_dict() for r in reports]
        summary: dict[str, Any] = {"ok": all(r.ok for r in reports) and unlisted is None, "dry_run": s.dry_run}
        for key in COUNTS + (DRY_RUN_COUNTS if s.dry_run else ()):
            summary[key] = sum(p.get(key, 0) for p in parts)
        for key in LISTS + (DRY_RUN_LISTS if s.dry_run else ()):
            summary[key] = [{"account_id": p["account_id"], **item} for p in parts for item in p[key]]
        if unlisted is not None:
            summary["members_error"] = unlisted
        summary.update({"accounts": parts, "parallel_accounts": width, "options": options,
                        "duration_ms": duration_ms})
        return summary


def run_sweep(settings: SweepSettings, deadline: Deadline, *, context: Any = None,
              credentials: Credentials | None = None) -> dict[str, Any]:
    """The invocation's sweep with the function's own credentials (``credentials`` for tests)."""
    base = own_factory(context, credentials)
    # The account it runs in, as the runtime says; else the credentials' own, from STS.
    own = owner_account_id(runtime_account_id(context), ask=lambda: caller_identity(base).account_id,
                           field="FC_ACCOUNT_ID")
    # Process-wide, so a warm instance keeps its member sessions (and the directory's listing) between runs.
    sweep = Sweep(settings, base, own, deadline, members_for(own, base, session_name=SESSION_NAME))
    log_event("sweep_started", account_id=own, dry_run=settings.dry_run)
    return sweep.run()


def handle_event(event: Any, context: Any) -> dict[str, Any]:
    """The revoke function: the options of the timer event, the settings, the sweep; its summary is the reply.

    Invalid options (``InvalidInput``) are answered ``{"ok": false, "error"}``
    and revoke nothing; anything answered 500 or above (a broken deployment, a
    guard that tripped, an account not swept) fails the invocation
    (:func:`fails_invocation`), so Function Compute records it.
    """
    started = time.monotonic()
    options = options_from_event(event)
    settings = SweepSettings.from_env().with_options(options)
    deadline = Deadline.for_invocation(context, started, settings.safety_margin_seconds)
    return run_sweep(settings, deadline, context=context)


def fails_invocation(error: RolegateError) -> bool:
    """Whether the revoke function raises ``error`` rather than answering it: a server-side failure."""
    return http_status_for(error) >= 500


__all__ = ["Sweep", "SweepFailed", "fails_invocation", "handle_event", "run_sweep"]
