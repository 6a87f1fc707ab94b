"""Sweeping one owner account: list the grants, pick the expired ones, guard, revoke.

Only grants whose record is proven (``shared.grants.proof``) are examined,
counted as expired by the blast-radius guard and revoked, at the record's
expiry; the readable tags play no part. The guard's share is taken of the
proven grants and the namespace's roles without a proven record together, so
garbling live records cannot shelter expired grants behind it. A marked role
without a proven record is reported at level critical and never revoked:
inside Rolegate's namespace it is disarmed (policies detached, trust to
nobody, nothing deleted) once the revocations are done, outside it is left
alone. Tombstones of grants revoked early are deleted once a replayed create
could no longer be accepted.

Revocations run on a bounded thread pool, most overdue first; each is
independent, converges, and a transient failure gets one more try after the
first pass. Afterwards grant custom policies whose role is gone are collected
(``shared.sweep.orphans``), unless the guard blocked the account.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.grants.lifecycle import GrantStore
from shared.grants.model import to_iso_z
from shared.grants.naming import grant_id_in_role_name, is_grant_role_name
from shared.grants.tags import grant_id_from_tags
from shared.logs import bind, bound_fields, log_event
from shared.notify import Notifier
from shared.ram import RoleInfo, Tags
from shared.deadline import Deadline
from shared.errors import RolegateError
from shared.sweep.failures import failure_entry
from shared.sweep.orphans import collect_orphans
from shared.sweep.settings import SweepSettings


# A grant revoked early stays as a tombstone while a replay of the signed request that created it could still
# be accepted: the webhook's signature window (300 s) plus a minute for clock skew between instances.
TOMBSTONE_SECONDS = 360


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
    """A grant due for revocation: its role and what its proven record says."""

    role: RoleInfo
    tags: Tags
    expires_at: datetime
    grant_id: str | None
    partner: str | None
    tombstone: bool = False  # revoked early, when it was notified; now only the role is deleted

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
    unreadable_records: list[dict[str, Any]] = field(default_factory=list)
    disarmed: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)  # dry run: each grant and the calls it would take
    tombstones_due: int = 0
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
            "failed": self.failed, "unreadable_records": self.unreadable_records,
            "disarmed": self.disarmed, "tombstones_due": self.tombstones_due,
            "left_for_next_run": self.left_for_next_run, "expiring_soon": self.expiring_soon,
            "orphans_deleted": self.orphans_deleted, "orphans_skipped": self.orphans_skipped,
        }
        if self.dry_run:
            out["would_revoke"] = self.would_revoke
            out["orphans_would_delete"] = self.orphans_would_delete
            out["planned"] = sorted(self.planned, key=lambda item: (item["expires_at"], item["role"]))
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
        # Roles of the namespace without a proven record, with their report entries: the guard counts them among
        # the grants, and they are disarmed once the revocations are done (see run).
        self.to_disarm: list[tuple[RoleInfo, str | None, dict[str, Any]]] = []

    def run(self, now: datetime) -> AccountReport:
        expired, soon, tombstones = self._survey(now)
        self._warn(soon, now)
        self.report.expired = len(expired)
        # A record anyone can garble takes its grant out of ``examined``: were the guard's share taken of the
        # proven grants alone, garbling live grants would let expired ones shelter behind the guard. Roles of
        # the namespace without a proven record still count among the grants (never among the expired ones).
        verdict = guard_verdict(len(expired), self.report.examined + len(self.to_disarm), self.settings)
        if verdict is not None:
            self.report.blocked = verdict
            self.report.left_for_next_run = len(expired)
            log_event("sweep_blocked", "error", **verdict)
            self.notifier.send("sweep_blocked", {"account_id": self.report.account_id, **verdict})
            self._disarm_all()
            return self.report
        # Revocations first: roles anyone may create in the namespace, each costing calls to disarm, must never
        # spend the run's time before an expired grant is revoked.
        self._revoke_all(sorted(expired, key=lambda due: due.expires_at) + tombstones, now)
        self._disarm_all()
        self._collect_orphans(now)
        return self.report

    # ------------------------------------------------------------ survey
    def _survey(self, now: datetime) -> tuple[list[Due], list[Due], list[Due]]:
        cutoff = now - timedelta(seconds=self.settings.grace_seconds)
        horizon = now + timedelta(seconds=self.settings.warn_within_seconds)
        buried = now - timedelta(seconds=TOMBSTONE_SECONDS)
        expired: list[Due] = []
        soon: list[Due] = []
        tombstones: list[Due] = []
        for managed in self.store.list(whole_namespace=True):
            tags = managed.role.tags or []
            hinted = grant_id_from_tags(tags)
            # Whatever its state, a listed role keeps the custom policies of the grant it may be: the one its
            # readable tag names, and the one its derived name ends with (tags can be removed, a name cannot).
            for linked in (hinted, grant_id_in_role_name(managed.role.name)):
                if linked:
                    self.live_grant_ids.add(linked)
            grant = managed.grant
            if grant is None:
                self._unproven(managed.role, hinted, managed.error or "no proven record")
                continue
            self.report.examined += 1
            self.live_grant_ids.add(grant.grant_id)
            due = Due(managed.role, tags, grant.expires_at, grant.grant_id, grant.partner_account_id)
            if grant.revoked_at is not None:
                if grant.revoked_at <= buried:
                    tombstones.append(replace(due, tombstone=True))
            elif grant.expires_at <= cutoff:
                expired.append(due)
            elif now < grant.expires_at <= horizon:
                soon.append(due)
        self.report.tombstones_due = len(tombstones)
        return expired, soon, tombstones

    def _unproven(self, role: RoleInfo, hinted: str | None, why: str) -> None:
        """A marked role whose record Rolegate cannot prove it wrote: reported; in the namespace, to be disarmed."""
        entry: dict[str, Any] = {"role": role.name, "reason": why}
        self.report.unreadable_records.append(entry)
        log_event("grant_record_unproven", "critical", role=role.name, grant_id=hinted, reason=why)
        if is_grant_role_name(role.name):
            self.to_disarm.append((role, hinted, entry))

    def _disarm_all(self) -> None:
        """Disarm the namespace's roles without a proven record, a few at a time, while the run has time."""
        if not self.to_disarm:
            return
        fields = bound_fields()
        lock = threading.Lock()

        def disarm(item: tuple[RoleInfo, str | None, dict[str, Any]]) -> None:
            role, hinted, entry = item
            if self.deadline.passed():
                return
            with bind(**fields, role=role.name, grant_id=hinted):
                try:
                    done = self.store.disarm(role.name, dry_run=self.settings.dry_run)
                except RolegateError as exc:
                    entry["disarm_error"] = exc.to_dict()
                    return
                if done:
                    with lock:
                        self.report.disarmed.append({"role": role.name, "actions": done})
                    log_event("grant_disarmed", "critical", actions=done, dry_run=self.settings.dry_run)

        with ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(self.to_disarm)),
                                thread_name_prefix="disarm") as pool:
            list(pool.map(disarm, self.to_disarm))
        self.report.disarmed.sort(key=lambda item: item["role"])

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
                self.report.planned.append({**due.describe(now), "calls": result.planned})
            else:
                self.report.revoked += 1
                self.report.already_gone += int(result.already_gone)
        if self.settings.dry_run:
            log_event("grant_revoke_planned", partner=due.partner, expires_at=to_iso_z(due.expires_at),
                      overdue_seconds=overdue, planned=result.planned)
        else:
            log_event("grant_revoked", "warning" if result.kept_policies else "info", partner=due.partner,
                      expires_at=to_iso_z(due.expires_at),
                      overdue_seconds=overdue, detached=result.detached, deleted_policies=result.deleted_policies,
                      kept_policies=result.kept_policies,
                      role_deleted=result.role_deleted, already_gone=result.already_gone)
            if not due.tombstone and not result.already_gone:
                self.notifier.send("revoked", {
                    "account_id": self.report.account_id, "grant_id": due.grant_id, "role": due.role.name,
                    "partner": due.partner, "expires_at": to_iso_z(due.expires_at), "reason": "expired",
                    "detached": result.detached, "deleted_policies": result.deleted_policies,
                    "kept_policies": result.kept_policies})
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
