"""Sweeping one owner account: list the grants, pick the expired ones, guard, revoke.

Which grants are expired is read by :func:`~shared.grants.tags.expiry_from_tags`:
the earlier of the readable ``rolegate:expires-at`` tag and the expiry in the
record, so a readable tag pushed later by hand (anyone with ``ram:TagResources``
can) does not keep a grant alive past its recorded end. A role whose expiry
cannot be read at all is skipped and reported: the sweep cannot know whether
it is due. A role whose expiry is readable but whose grant is not (a hand edit,
readable tags disagreeing with the record, or a record format this version
does not know) is handled by its expiry like any other -- revoking does not
need the record, it finds the grant's custom policies by name prefix -- and is
listed under ``unreadable_records`` so someone looks at it.

Revocations run on a bounded thread pool, most overdue first. Each one is
independent: a failure is recorded and the others go on. Revoking converges
(already-detached, already-deleted, already-gone are successes), so a grant
that failed for a transient reason (throttling outlasting the call's own
retries, a 5xx, a timeout) gets one more try once the first pass is done, when
the account's other work no longer competes for its rate limit; only what
fails again is reported. A grant left half-revoked after that is finished by
the next run, which lists it again because its role is deleted last.

After the revocations, grant custom policies whose role is gone are collected
(``shared.sweep.orphans``), against the grants this run listed -- unless the
guard blocked the account, since that says the listing cannot be trusted.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.grants.lifecycle import GrantStore
from shared.grants.model import to_iso_z
from shared.grants.tags import GRANT_ID_KEY, PARTNER_KEY, TagDecodeError, expiry_from_tags, grant_id_from_tags
from shared.logs import bind, bound_fields, log_event
from shared.notify import Notifier
from shared.ram import RoleInfo, Tags
from shared.deadline import Deadline
from shared.errors import RolegateError
from shared.sweep.failures import failure_entry
from shared.sweep.orphans import collect_orphans
from shared.sweep.settings import SweepSettings


class Budget:
    """A run's cap on revocations (or orphan deletions) started, shared by all accounts and workers (0 = no cap)."""

    def __init__(self, limit: int) -> None:
        self._left = limit if limit > 0 else None
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left is None:
                return True
            if self._left <= 0:
                return False
            self._left -= 1
            return True


@dataclass(frozen=True)
class Due:
    """A managed role and what its readable tags say."""

    role: RoleInfo
    tags: Tags
    expires_at: datetime
    grant_id: str | None
    partner: str | None

    def describe(self, now: datetime) -> dict[str, Any]:
        return {"role": self.role.name, "grant_id": self.grant_id, "partner": self.partner,
                "expires_at": to_iso_z(self.expires_at),
                "seconds_left": int((self.expires_at - now).total_seconds())}


@dataclass
class AccountReport:
    """What one account's sweep found and did; ``to_dict`` is its part of the summary."""

    account_id: str
    dry_run: bool
    examined: int = 0
    expired: int = 0
    revoked: int = 0
    would_revoke: int = 0
    already_gone: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    unreadable_records: list[dict[str, Any]] = field(default_factory=list)
    left_for_next_run: int = 0
    expiring_soon: int = 0
    orphans_deleted: int = 0
    orphans_would_delete: int = 0
    orphans_skipped: list[dict[str, Any]] = field(default_factory=list)
    blocked: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    pacing: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether the account was swept as asked (per-grant failures are retried by the next run)."""
        return self.blocked is None and self.error is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account_id": self.account_id, "ok": self.ok, "dry_run": self.dry_run, "examined": self.examined,
            "expired": self.expired, "revoked": self.revoked, "already_gone": self.already_gone,
            "failed": self.failed, "skipped": self.skipped, "unreadable_records": self.unreadable_records,
            "left_for_next_run": self.left_for_next_run, "expiring_soon": self.expiring_soon,
            "orphans_deleted": self.orphans_deleted, "orphans_skipped": self.orphans_skipped,
        }
        if self.dry_run:
            out["would_revoke"] = self.would_revoke
            out["orphans_would_delete"] = self.orphans_would_delete
        for key in ("blocked", "error", "pacing"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def guard_verdict(expired: int, total: int, settings: SweepSettings) -> dict[str, Any] | None:
    """Why revoking ``expired`` of ``total`` grants is too much at once, or None when it is not."""
    if expired <= settings.guard_floor or expired <= settings.max_share * total:
        return None
    return {
        "reason": (f"{expired} of {total} grants are expired, more than the allowed share {settings.max_share:g}; "
                   "nothing was revoked. If this is expected, run again with a higher max_share in the payload "
                   "or ROLEGATE_SWEEP_MAX_SHARE."),
        "expired": expired, "grants": total, "max_share": settings.max_share, "floor": settings.guard_floor,
    }


class AccountSweep:
    """One account's sweep with its own store (and so its own paced client).

    ``orphan_budget`` is the run's cap on orphan deletions (by default one of
    this account's own, from the settings).
    """

    def __init__(self, store: GrantStore, settings: SweepSettings, deadline: Deadline, budget: Budget,
                 notifier: Notifier, *, orphan_budget: Budget | None = None) -> None:
        self.store = store
        self.settings = settings
        self.deadline = deadline
        self.budget = budget
        self.orphan_budget = orphan_budget or Budget(settings.max_orphan_deletions)
        self.notifier = notifier
        self.report = AccountReport(store.owner_account_id, settings.dry_run)
        self.live_grant_ids: set[str] = set()

    def run(self, now: datetime) -> AccountReport:
        expired, soon = self._survey(now)
        self._warn(soon, now)
        self.report.expired = len(expired)
        verdict = guard_verdict(len(expired), self.report.examined, self.settings)
        if verdict is not None:
            self.report.blocked = verdict
            self.report.left_for_next_run = len(expired)
            log_event("sweep_blocked", "error", **verdict)
            self.notifier.send("sweep_blocked", {"account_id": self.report.account_id, **verdict})
            return self.report
        self._revoke_all(sorted(expired, key=lambda due: due.expires_at), now)
        self._collect_orphans(now)
        return self.report

    # ------------------------------------------------------------ survey
    def _survey(self, now: datetime) -> tuple[list[Due], list[Due]]:
        cutoff = now - timedelta(seconds=self.settings.grace_seconds)
        horizon = now + timedelta(seconds=self.settings.warn_within_seconds)
        expired: list[Due] = []
        soon: list[Due] = []
        for managed in self.store.list():
            self.report.examined += 1
            tags = managed.role.tags or []
            for grant_id in (grant_id_from_tags(tags), managed.grant.grant_id if managed.grant else None):
                if grant_id:  # whatever its state, a listed grant keeps its custom policies
                    self.live_grant_ids.add(grant_id)
            try:
                expires_at = expiry_from_tags(tags)
            except TagDecodeError as exc:
                self._skip(managed.role.name, exc.reason)
                continue
            if expires_at is None:  # the listing already filters on the marker; never act without it
                self._skip(managed.role.name, "the role does not carry the managed marker")
                continue
            readable = dict((t.get("Key"), t.get("Value")) for t in tags)
            due = Due(managed.role, tags, expires_at, readable.get(GRANT_ID_KEY), readable.get(PARTNER_KEY))
            if managed.grant is None:
                self.report.unreadable_records.append({"role": due.role.name, "reason": managed.error})
                log_event("grant_record_unreadable", "warning", role=due.role.name, grant_id=due.grant_id,
                          reason=managed.error)
            if expires_at <= cutoff:
                expired.append(due)
            elif now < expires_at <= horizon:
                soon.append(due)
        return expired, soon

    def _skip(self, role: str, reason: str) -> None:
        self.report.skipped.append({"role": role, "reason": reason})
        log_event("grant_skipped", "warning", role=role, reason=reason)

    def _warn(self, soon: list[Due], now: datetime) -> None:
        self.report.expiring_soon = len(soon)
        if not soon:
            return
        described = [due.describe(now) for due in sorted(soon, key=lambda due: due.expires_at)]
        for item in described:
            log_event("expiring_soon", **item)
        self.notifier.send("expiring_soon", {"account_id": self.report.account_id, "grants": described})

    # ------------------------------------------------------------ revoke
    def _revoke_all(self, expired: list[Due], now: datetime) -> None:
        if not expired:
            return
        fields = bound_fields()
        lock = threading.Lock()
        again: list[tuple[Due, Exception]] = []

        def first_try(due: Due) -> None:
            if self.deadline.passed() or not self.budget.take():
                with lock:
                    self.report.left_for_next_run += 1
                return
            with bind(**fields, role=due.role.name, grant_id=due.grant_id):
                deferred = self._revoke_one(due, now, lock, last_try=False)
            if deferred is not None:
                with lock:
                    again.append((due, deferred))

        def second_try(item: tuple[Due, Exception]) -> None:
            due, first_failure = item
            with bind(**fields, role=due.role.name, grant_id=due.grant_id):
                if self.deadline.passed():
                    self._record_failure(due, first_failure, lock)
                else:
                    self._revoke_one(due, now, lock, last_try=True)

        with ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(expired)),
                                thread_name_prefix="revoke") as pool:
            list(pool.map(first_try, expired))
            list(pool.map(second_try, sorted(again, key=lambda item: item[0].expires_at)))

    def _revoke_one(self, due: Due, now: datetime, lock: threading.Lock, *, last_try: bool) -> Exception | None:
        """Revoke one grant; returns the failure when it was transient and the grant gets another try."""
        overdue = int((now - due.expires_at).total_seconds())
        try:
            result = self.store.revoke(due.role.name, due.tags, dry_run=self.settings.dry_run)
        except Exception as exc:  # one grant's failure never stops the others
            if not last_try and isinstance(exc, RolegateError) and exc.retryable:
                log_event("grant_revoke_deferred", "warning", error=exc.to_dict(),
                          reason="transient failure; tried again after the other grants")
                return exc
            self._record_failure(due, exc, lock)
            return None
        with lock:
            if self.settings.dry_run:
                self.report.would_revoke += 1
            else:
                self.report.revoked += 1
                self.report.already_gone += int(result.already_gone)
        if self.settings.dry_run:
            log_event("grant_revoke_planned", partner=due.partner, expires_at=to_iso_z(due.expires_at),
                      overdue_seconds=overdue, planned=result.planned)
        else:
            log_event("grant_revoked", partner=due.partner, expires_at=to_iso_z(due.expires_at),
                      overdue_seconds=overdue, detached=result.detached, deleted_policies=result.deleted_policies,
                      role_deleted=result.role_deleted, already_gone=result.already_gone)
        return None

    def _record_failure(self, due: Due, exc: Exception, lock: threading.Lock) -> None:
        entry, error = failure_entry(exc, role=due.role.name, grant_id=due.grant_id)
        with lock:
            self.report.failed.append(entry)
        log_event("grant_revoke_failed", "error", error=error.to_dict())

    # ------------------------------------------------------------ orphans
    def _collect_orphans(self, now: datetime) -> None:
        if self.deadline.passed():
            log_event("orphans_not_collected", "warning", reason="out of time; left for the next run")
            return
        cutoff = now - timedelta(seconds=self.settings.orphan_grace_seconds)
        outcome = collect_orphans(self.store, self.live_grant_ids, cutoff, dry_run=self.settings.dry_run,
                                  deadline=self.deadline, take=self.orphan_budget.take)
        self.report.orphans_deleted = outcome.deleted
        self.report.orphans_would_delete = outcome.would_delete
        self.report.orphans_skipped = outcome.skipped
        self.report.failed.extend(outcome.failed)


__all__ = ["AccountReport", "AccountSweep", "Budget", "Due", "guard_verdict"]
