"""Collecting orphaned grant custom policies: a grant's policy whose role is gone.

Revoke deletes a grant's custom policies before its role, and a failed create
rolls back what it made, yet three things leave a policy behind: a policy
someone else holds, which revoke leaves in place rather than keep the role; DeletePolicy
answering ``EntityNotExist.Policy`` for a policy that still exists (eventual
consistency), after which revoke deletes the role; and a CreatePolicy that
timed out and landed after the create's rollback. Nothing would ever find such
a policy again (the sweep lists roles), so after its revocations each account's
sweep lists the custom policies named *and* tagged as a grant's
(:meth:`~shared.grants.lifecycle.GrantStore.grant_policies`) and deletes one
only when all of these hold:

* its grant has no managed role in this run's listing: none whose proven
  record, readable grant-id tag or derived name (``rolegate-<partner>-<grant
  id>``) names it. A grant disarmed for a garbled record, its tags removed,
  keeps its policy as evidence. A grant revoked by this very run still counts
  as live: if its policy outlived the revocation, the next run collects it;
* it was created at least ``ROLEGATE_SWEEP_ORPHAN_GRACE_SECONDS`` before the
  run started (its ``CreateDate``, against ``shared.clock``). A create makes
  the role first and the policies next, so a policy younger than that may
  belong to a create still at work, whose role the listing missed or whose
  rollback has not run yet. A ``CreateDate`` that cannot be read is skipped
  and reported: its age is unknown;
* nothing holds it. Whoever holds it -- a role Rolegate does not manage, a
  user, a group -- would lose access if it were deleted, and only a person can
  tell whether that is right; so a listing showing attachments, or DeletePolicy
  answering one of ``shared.ram.POLICY_IN_USE``, leaves it alone and reports it
  under ``orphans_skipped``. Trying the delete rather than listing its holders
  first costs no call in the usual case, and DeletePolicy is the check that
  cannot go stale.

Oldest first, one at a time (orphans are rare; the calls go through the
account's pacer like every other). Each deletion takes one unit of the run's
orphan budget (``ROLEGATE_SWEEP_MAX_ORPHAN_DELETIONS``), kept apart from the
revocation cap so a backlog of orphans never delays an expired grant, and
small, because many orphans at once are more likely a listing gone wrong than
a run of unlucky creates. No deletion starts after the deadline. What the cap
or the deadline leaves is reported as skipped, for the next run. A dry run
reports ``orphans_would_delete`` and calls nothing but the listing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from shared.calls import is_code
from shared.deadline import Deadline
from shared.grants.lifecycle import GrantStore
from shared.grants.model import parse_iso_z, to_iso_z
from shared.logs import log_event
from shared.ram import POLICY_IN_USE, ListedPolicy
from shared.sweep.failures import failure_entry


@dataclass
class OrphanOutcome:
    """What one account's collection did; merged into its :class:`~shared.sweep.account.AccountReport`."""

    deleted: int = 0
    would_delete: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    grant_id: str
    policy: ListedPolicy
    created: datetime | None


def collect_orphans(store: GrantStore, live_grant_ids: set[str], cutoff: datetime, *, dry_run: bool,
                    deadline: Deadline, take: Callable[[], bool]) -> OrphanOutcome:
    """Delete the grant policies of ``store``'s account whose grant is not live and that were created by ``cutoff``.

    ``take`` draws one deletion from the run's cap (False: none left). A
    failure to list raises: the account was not fully swept.
    """
    outcome = OrphanOutcome()
    candidates = [_Candidate(grant_id, policy, _created(policy))
                  for grant_id, policy in store.grant_policies() if grant_id not in live_grant_ids]
    # Those of unknown age first (only reported), then oldest first.
    for candidate in sorted(candidates, key=lambda c: (c.created is not None, c.created or cutoff, c.policy.name)):
        policy, grant_id = candidate.policy, candidate.grant_id
        if candidate.created is None:
            _skip(outcome, candidate, f"its creation time cannot be read: {policy.create_date!r}")
        elif candidate.created > cutoff:
            log_event("orphan_policy_waiting", policy=policy.name, grant_id=grant_id,
                      created=to_iso_z(candidate.created))
        elif policy.attachment_count:
            _skip(outcome, candidate, f"in use: attached to {policy.attachment_count} "
                                      f"{'entity' if policy.attachment_count == 1 else 'entities'}")
        elif deadline.passed():
            _skip(outcome, candidate, "out of time; left for the next run")
        elif not take():
            _skip(outcome, candidate, "the run's cap on orphan deletions is reached; left for the next run")
        elif dry_run:
            outcome.would_delete += 1
            log_event("orphan_policy_delete_planned", policy=policy.name, grant_id=grant_id,
                      created=to_iso_z(candidate.created))
        else:
            _delete(store, candidate, candidate.created, outcome)
    return outcome


def _created(policy: ListedPolicy) -> datetime | None:
    try:
        return parse_iso_z(policy.create_date)
    except ValueError:
        return None


def _skip(outcome: OrphanOutcome, candidate: _Candidate, reason: str, **extra: Any) -> None:
    entry = {"policy": candidate.policy.name, "grant_id": candidate.grant_id, "reason": reason, **extra}
    outcome.skipped.append(entry)
    log_event("orphan_policy_skipped", "warning", **entry)


def _delete(store: GrantStore, candidate: _Candidate, created: datetime, outcome: OrphanOutcome) -> None:
    name, grant_id = candidate.policy.name, candidate.grant_id
    try:
        deleted = store.delete_orphan_policy(name)
    except Exception as exc:  # one policy's failure never stops the others
        if is_code(exc, *POLICY_IN_USE):
            _skip(outcome, candidate, "in use: DeletePolicy answered that something holds it",
                  code=getattr(exc, "cloud_code", None))
            return
        entry, error = failure_entry(exc, policy=name, grant_id=grant_id)
        outcome.failed.append(entry)
        log_event("orphan_policy_delete_failed", "error", policy=name, grant_id=grant_id, error=error.to_dict())
        return
    outcome.deleted += int(deleted)
    log_event("orphan_policy_deleted", policy=name, grant_id=grant_id, created=to_iso_z(created),
              already_gone=not deleted)


__all__ = ["OrphanOutcome", "collect_orphans"]
