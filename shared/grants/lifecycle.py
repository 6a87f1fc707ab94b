"""The grant lifecycle on RAM: create, read, list, extend, revoke, restore.

Every operation converges: run it again after any failure and it finishes the
job or finds it already done. The role is created first and carries the whole
record in its tags, so from the first successful call on, everything the grant
owns can be found and undone from the role alone; it is deleted last for the
same reason. A role without the managed marker is never touched.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

from .. import clock, config
from ..calls import is_code
from ..errors import CloudUnavailable, Conflict, Gone, NotFound, Refused, RolegateError, Unprocessable
from ..policies.document import canonical_json, parse_policy, policy_hash
from ..policies.trust import admits_nobody, nobody_trust, trust_policy
from ..ram import POLICY_IN_USE, IdentityProviders, ListedPolicy, PlannedRam, RamGateway, RoleInfo, Tags
from ..site import Site
from .model import Grant, PolicyRef
from .naming import custom_policy_grant_id, custom_policy_prefix, is_grant_role_name
from .proof import Keyring
from .tags import (GRANT_ID_KEY, MANAGED_TAG, TAG_PREFIX, TagDecodeError, TagLimitError, grant_from_tags,
                   grant_id_from_tags, grant_to_tags, is_managed, legacy_grant_from_tags, proof_of, record_change)


def derive_grant_id(owner_account_id: str, key: str) -> str:
    """A grant id that is a pure function of the request's identity.

    The same idempotency key (or the same grant content) always maps to the
    same id, hence the same role name: a retried or concurrent create lands on
    the role the first one made instead of making a second.
    """
    digest = hashlib.sha256(f"{owner_account_id}\n{key}".encode()).digest()
    return "g-" + base64.b32encode(digest[:10]).decode().lower()[:12]  # 12 characters need only 10 bytes


@dataclass
class CreateResult:
    grant: Grant
    created: bool  # False: an identical grant already existed (a retry), nothing new was made
    planned: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RevokeResult:
    role_name: str
    grant_id: str | None
    detached: list[str] = field(default_factory=list)
    deleted_policies: list[str] = field(default_factory=list)
    kept_policies: list[str] = field(default_factory=list)  # grant policies someone else holds: left, reported
    role_deleted: bool = False
    tombstoned: bool = False
    already_gone: bool = False
    planned: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "planned" or v}


@dataclass
class RestoreResult:
    role_name: str
    grant_id: str
    drift: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    unrecoverable: list[str] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "planned" or v}


@dataclass(frozen=True)
class ManagedRole:
    """A role from a managed-grant listing: its grant, or why the grant could not be read."""

    role: RoleInfo
    grant: Grant | None
    error: str | None = None


def _custom_policy_tags(grant: Grant) -> Tags:
    return [dict(MANAGED_TAG), {"Key": GRANT_ID_KEY, "Value": grant.grant_id}]


def _scoped(grant: Grant) -> list[PolicyRef]:
    """The grant's policies attached within a resource group: RAM's listings never show these."""
    return [p for p in grant.policies if p.resource_group_id is not None]


def _same_document(text: str, document_hash: str | None) -> bool:
    try:
        return policy_hash(parse_policy(text)) == document_hash
    except Exception:  # an unreadable document is simply not ours
        return False


class GrantStore:
    """Grants of one owner account, kept as RAM roles whose records ``keyring`` proves.

    Plan mode swaps in :class:`PlannedRam` so the same code path yields the plan.
    ``site`` (default: ``ROLEGATE_SITE``) decides what the trust policies it
    writes and expects say where the sites differ (a SAML grant's recipient).
    """

    def __init__(self, ram_client: Any, owner_account_id: str, keyring: Keyring, *,
                 now: Callable[[], datetime] = clock.now, site: Site | None = None,
                 idp_client: Any = None, writer: str | None = None) -> None:
        """``writer`` names who signs, when not one of Rolegate's functions (an operator: ``user/<name>``)."""
        self._client = ram_client
        self.owner_account_id = owner_account_id
        self.keyring = keyring
        self.writer = writer
        self._now = now
        self._ram = RamGateway(ram_client)
        self.site = site if site is not None else config.site()
        # The owner account's identity providers (RAM's Ims API), for checking federated grants.
        self.identity_providers = IdentityProviders(idp_client) if idp_client is not None else None

    def _gateway(self, dry_run: bool) -> RamGateway:
        return PlannedRam(self._client) if dry_run else self._ram

    @staticmethod
    def _planned(ram: RamGateway) -> list[dict[str, Any]]:
        return [c.to_dict() for c in ram.planned] if isinstance(ram, PlannedRam) else []

    # ------------------------------------------------------------ reading
    def decode(self, role: RoleInfo, tags: Tags) -> Grant:
        """The grant a role's proven record holds (``TagDecodeError``/``RecordUnauthenticated`` otherwise)."""
        return grant_from_tags(tags, role.name, self.owner_account_id, keyring=self.keyring,
                               role_description=role.description)

    def list(self, *, whole_namespace: bool = False) -> Iterator[ManagedRole]:
        """Every role carrying the managed marker, with its proven grant (or why there is none).

        ``whole_namespace`` lists every role of the account instead of filtering
        on the marker, and keeps those in Rolegate's namespace too: a grant whose
        marker someone removed is still found (the sweep's view; one ListRoles
        page per 1,000 roles of the account rather than per 1,000 grants).
        """
        for role in self._ram.list_roles(None if whole_namespace else [MANAGED_TAG]):
            tags = role.tags or []
            if not is_managed(tags) and not (whole_namespace and is_grant_role_name(role.name)):
                continue
            try:
                yield ManagedRole(role, self.decode(role, tags))
            except TagDecodeError as exc:
                yield ManagedRole(role, None, str(exc))

    def find(self, grant_id: str) -> ManagedRole:
        """The grant with this id (one ListRoles call, filtered on the grant-id tag).

        Each role listed is checked again here: that RAM lists only roles
        carrying every tag filtered on is not verified (RAM-LISTROLES-TAG-FILTER),
        and a role of another grant must never be taken for this one.
        """
        found: ManagedRole | None = None
        for role in self._ram.list_roles([MANAGED_TAG, {"Key": GRANT_ID_KEY, "Value": grant_id}]):
            tags = role.tags or []
            if grant_id_from_tags(tags) != grant_id:  # None unless the role carries the managed marker too
                continue
            try:
                grant = self.decode(role, tags)
            except TagDecodeError as exc:
                found = found or ManagedRole(role, None, str(exc))
                continue
            if grant.grant_id == grant_id:  # the readable tag is a hint; the proven record decides
                return ManagedRole(role, grant)
        if found is not None:
            return found
        raise NotFound(f"grant {grant_id} does not exist", field="grant_id")

    def grant_policies(self) -> Iterator[tuple[str, ListedPolicy]]:
        """Every custom policy both named and tagged as some grant's, with that grant's id.

        The server filters on the managed marker (one ListPolicies call per
        1,000 such policies); the name and the grant-id tag must then agree,
        so a policy merely named like a grant's, or merely tagged like one, is
        never taken for one.
        """
        for policy in self._ram.list_policies(PolicyRef.CUSTOM, [MANAGED_TAG]):
            grant_id = custom_policy_grant_id(policy.name)
            if grant_id is not None and grant_id_from_tags(policy.tags) == grant_id:
                yield grant_id, policy

    def read_role(self, role_name: str) -> tuple[RoleInfo, Tags]:
        role = self._ram.get_role(role_name)
        if role is None:
            raise NotFound(f"role {role_name} does not exist", field="role_name")
        tags = self._ram.role_tags(role.name)
        if not is_managed(tags):
            raise Refused(f"role {role_name} is not managed by Rolegate; it is left alone", field="role_name")
        return role, tags

    # ------------------------------------------------------------- create
    def create(self, grant: Grant, *, dry_run: bool = False) -> CreateResult:
        """Create the grant's role, custom policies and attachments; on failure undo only what this call made.

        ``created`` is True only when this call's own CreateRole made the role
        (told apart from a twin's by the record's proof, which covers a nonce
        of this write). A record too large for the role's tags is refused
        (``GrantTooLarge``) before any call. A role already holding this grant is completed, never
        rolled back: a grant an earlier request confirmed is never lost. A
        revoked grant's tombstone answers ``Gone``; any other role under the
        name is a conflict and is not touched.
        """
        ram = self._gateway(dry_run)
        try:  # the one place the record is built and sealed, before any call
            tags = grant_to_tags(grant, self.keyring, written_at=self._now(), writer=self.writer)
        except TagLimitError as exc:
            raise Unprocessable(f"the grant's record does not fit in the role's tags: {exc}", code="GrantTooLarge",
                                field="principal") from None
        trust = canonical_json(trust_policy(grant.principal, self.site))
        made: list[Callable[[], Any]] = []
        created_role = False
        try:
            created_role = self._create_role(ram, grant, trust, tags)
            if not created_role:
                grant, current_trust = self._existing_same_grant(grant)
                self._restore_trust(ram, grant, current_trust, trust)
            for policy in grant.policies:
                if policy.kind == PolicyRef.CUSTOM:
                    self._ensure_custom_policy(ram, grant, policy, made)
            attached = set() if created_role else set(ram.policies_for_role(grant.role_name))
            for policy in grant.policies:
                if policy.resource_group_id is None and (policy.kind, policy.name) in attached:
                    continue
                if ram.attach(grant.role_name, policy.kind, policy.name, policy.resource_group_id):
                    made.append(lambda p=policy: ram.detach(grant.role_name, p.kind, p.name, p.resource_group_id))
        except RolegateError as exc:
            exc.details.update(self._roll_back(ram, grant, tags, created_role, made))
            raise
        return CreateResult(grant, created_role, self._planned(ram))

    def _create_role(self, ram: RamGateway, grant: Grant, trust: str, tags: Tags) -> bool:
        """CreateRole, telling "this call made it" from "it was there" even when the answer was lost.

        After a transient failure the role is read back: it is this call's only
        if it carries this call's own proof.
        """
        args = (grant.role_name, trust, grant.description, grant.max_session_duration, tags)
        try:
            return ram.create_role(*args, safe_to_retry=False)
        except CloudUnavailable:
            pass
        if self._ram.get_role(grant.role_name) is not None:
            return proof_of(self._ram.role_tags(grant.role_name)) == proof_of(tags)
        return ram.create_role(*args)

    def _existing_same_grant(self, grant: Grant) -> tuple[Grant, str]:
        """The grant the role under ``grant``'s name already holds, if it is this one; and the role's trust."""
        role = self._ram.get_role(grant.role_name)
        tags = self._ram.role_tags(grant.role_name) if role else []
        if role is None or not is_managed(tags):
            raise Conflict(f"role {grant.role_name} already exists and is not a Rolegate grant",
                           field="role_name")
        try:
            existing = self.decode(role, tags)
        except TagDecodeError as exc:
            raise Conflict(f"role {grant.role_name} exists without a proven grant record: {exc}",
                           field="role_name") from exc
        if existing.grant_id != grant.grant_id:
            # The other grant's id is not named: the caller may be a client whose scope does not reach it.
            raise Conflict(f"role {grant.role_name} belongs to another grant", field="role_name")
        if existing.is_tombstone:
            raise Gone(f"grant {grant.grant_id} was revoked; a new grant needs a new request", field="grant_id")
        if (existing.principal, existing.policies) != (grant.principal, grant.policies):
            raise Conflict(f"grant {grant.grant_id} exists with a different principal or policy set",
                           field="grant_id")
        # The caller's documents are needed to create missing custom policies.
        docs = {p.name: p.document for p in grant.policies}
        return dataclasses.replace(existing, policies=tuple(
            PolicyRef(p.name, p.kind, p.resource_group_id, docs.get(p.name), p.document_hash)
            for p in existing.policies)), role.trust_policy

    def _restore_trust(self, ram: RamGateway, grant: Grant, current: str, trust: str) -> None:
        """The grant's trust back on its role, as the rest of it is completed, while the grant is in force.

        A rollback that met a write landing late (DeleteRole refused for a
        policy attached after it listed them) leaves the role admitting nobody;
        the retry that then answers "done" must leave a role the partner can
        assume. Past its expiry the grant is the sweep's: nothing is restored.
        """
        if grant.expires_at > self._now() and self._trust_differs(current, trust):
            ram.update_role(grant.role_name, trust)

    def _ensure_custom_policy(self, ram: RamGateway, grant: Grant, policy: PolicyRef,
                              made: list[Callable[[], Any]]) -> None:
        document = canonical_json(policy.document or {})
        description = f"Rolegate grant {grant.grant_id} for partner {grant.partner_account_id}"
        if ram.create_policy(policy.name, document, description, _custom_policy_tags(grant)):
            made.append(lambda: ram.delete_policy(policy.name))
            return
        current = self._ram.get_policy(policy.name, PolicyRef.CUSTOM)
        if current is None or not _same_document(current.document, policy.document_hash):
            raise Conflict(f"custom policy {policy.name} exists with a different document", field="policies")

    def _roll_back(self, ram: RamGateway, grant: Grant, tags: Tags, created_role: bool,
                   made: list[Callable[[], Any]]) -> dict[str, Any]:
        """Undo a failed create; what is reported goes into the error's ``details``.

        If this call made the role, the whole grant is torn down by revoke,
        which also finds pieces whose creation answer was lost -- unless a twin
        request has meanwhile completed it, and so may have confirmed it. If
        the role was already there (a retry or a twin), only what this call
        added is undone.
        """
        if created_role:
            if not isinstance(ram, PlannedRam) and self._completed_by_twin(grant):
                return {"rolled_back": False, "kept": "a concurrent request completed the grant and may have "
                                                      "confirmed it; a retry answers 200"}
            try:
                self.revoke(grant.role_name, tags, dry_run=isinstance(ram, PlannedRam))
                return {"rolled_back": True}
            except RolegateError as exc:
                return {"rolled_back": False, "rollback_error": exc.to_dict()}
        leftovers = 0
        for undo in reversed(made):
            try:
                undo()
            except RolegateError:
                leftovers += 1
        return {"rolled_back": leftovers == 0, "left_behind": leftovers}

    def _completed_by_twin(self, grant: Grant) -> bool:
        """Whether every policy RAM lists for the grant is attached now (a twin finished what this one could not)."""
        try:
            attached = set(self._ram.policies_for_role(grant.role_name))
        except RolegateError:
            return False
        return {(p.kind, p.name) for p in grant.policies if p.resource_group_id is None} <= attached

    # ------------------------------------------------------------- extend
    def extend(self, grant_id: str, expires_at: datetime, *, dry_run: bool = False) -> tuple[Grant, list[dict]]:
        """Move the expiry (later or earlier): one TagResources call, readable tag and signed record together."""
        found = self.find(grant_id)
        if found.grant is None:
            raise Refused(f"grant {grant_id} has no proven record: {found.error}", field="grant_id")
        if found.grant.is_tombstone:
            raise Gone(f"grant {grant_id} was revoked", field="grant_id")
        updated = found.grant.with_expiry(expires_at)
        try:
            tags = record_change(found.role.tags or [], found.role.name, self.owner_account_id, self.keyring,
                                 written_at=self._now(), expires_at=updated.expires_at, writer=self.writer)
        except TagLimitError as exc:
            raise Unprocessable(f"the grant's record with the new expiry does not fit in the role's tags: {exc}",
                                code="GrantTooLarge", field="expires_at") from None
        ram = self._gateway(dry_run)
        ram.tag_role(found.role.name, tags)
        return updated, self._planned(ram)

    # ------------------------------------------------------------- revoke
    def revoke(self, role_name: str, tags: Tags | None = None, *, dry_run: bool = False,
               tombstone: bool = False) -> RevokeResult:
        """Detach every policy, delete the grant's custom policies, then delete the role.

        A grant custom policy someone else holds (DeletePolicy answers one of
        ``POLICY_IN_USE``) is left and named in ``kept_policies``; the role is
        deleted all the same, and the sweep's orphan collection reports the
        policy while anything holds it.

        With ``tombstone`` (an early revocation) the role is kept instead, with
        a trust policy nobody satisfies and its record marked revoked, so a
        create replayed within the signature window finds it and answers 410;
        the sweep deletes it once the window has passed. ``tags`` may come
        from a listing (saves a call). A role already gone is success; one
        without a proven record is refused and left alone.
        """
        ram = self._gateway(dry_run)
        role: RoleInfo | None = None
        if tags is None:
            role = self._ram.get_role(role_name)
            if role is None:
                return RevokeResult(role_name, None, already_gone=True)
            tags = self._ram.role_tags(role_name)
        try:
            recorded = grant_from_tags(tags, role_name, self.owner_account_id, keyring=self.keyring)
        except TagDecodeError as exc:
            raise Refused(f"role {role_name} has no proven grant record ({exc.reason}); it is left alone",
                          field="role_name") from None
        result = RevokeResult(role_name, recorded.grant_id)
        prefix = custom_policy_prefix(recorded.grant_id)
        ours = [p.name for p in recorded.policies if p.kind == PolicyRef.CUSTOM]
        for kind, name in ram.policies_for_role(role_name):  # account-wide attachments, ours or not
            if ram.detach(role_name, kind, name):
                result.detached.append(name)
            if kind == PolicyRef.CUSTOM and name.startswith(prefix) and name not in ours:
                ours.append(name)
        for policy in _scoped(recorded):  # RAM lists no resource-group attachment: the record names them
            if ram.detach(role_name, policy.kind, policy.name, policy.resource_group_id):
                result.detached.append(policy.name)
        for name in ours:
            try:
                if ram.delete_policy(name):
                    result.deleted_policies.append(name)
            except RolegateError as exc:
                # Someone attached the grant's policy to another role, a user or a group. Deleting it would take
                # access from them, which only a person can judge (as for an orphan someone holds); failing here
                # would keep the grant's role, and its trust, forever. The role goes; the policy is reported.
                if not is_code(exc, *POLICY_IN_USE):
                    raise
                result.kept_policies.append(name)
        if tombstone and not recorded.is_tombstone:
            ram.update_role(role_name, canonical_json(nobody_trust(self.owner_account_id)))
            now = self._now()
            ram.tag_role(role_name, record_change(tags, role_name, self.owner_account_id, self.keyring,
                                                  written_at=now, revoked_at=now, writer=self.writer))
            result.tombstoned = True
        elif not tombstone:
            result.role_deleted = self._delete_role(ram, role_name)
        result.already_gone = not (result.role_deleted or result.tombstoned or result.detached)
        result.planned = self._planned(ram)
        return result

    def _delete_role(self, ram: RamGateway, role_name: str) -> bool:
        """DeleteRole; when a policy no listing shows still holds the role, the role is left admitting nobody.

        Every attachment RAM lists and every one the record names is detached
        by then, so ``DeleteConflict.Role.Policy`` means an attachment within a
        resource group someone else made (RAM-RG-LIST, RAM-RG-DELETE-CONFLICT).
        It would keep the role, and the partner's trust with it, alive past
        its revocation: the trust is replaced by one nobody satisfies and the
        revocation fails, to be finished once a person has detached it.
        """
        try:
            return ram.delete_role(role_name)
        except RolegateError as exc:
            if not is_code(exc, "DeleteConflict.Role.Policy"):
                raise
        ram.update_role(role_name, canonical_json(nobody_trust(self.owner_account_id)))
        raise Conflict(f"role {role_name} still holds a policy RAM does not list (attached within a resource group "
                       "its record does not name?); its trust now admits nobody. Find it with Resource "
                       "Management's ListPolicyAttachments and detach it; the next sweep deletes the role",
                       code="HiddenAttachment", field="role_name")

    def disarm(self, role_name: str, *, dry_run: bool = False) -> list[str]:
        """Fail closed on a grant role without a proven record: every policy detached, a trust nobody satisfies.

        Only for roles in Rolegate's namespace (``rolegate-``); nothing is
        deleted and the tags are left as evidence. Returns what was done.
        """
        if not is_grant_role_name(role_name):
            raise Refused(f"role {role_name} is outside Rolegate's namespace; it is left alone", field="role_name")
        ram = self._gateway(dry_run)
        role = self._ram.get_role(role_name)
        if role is None:
            return []
        done = [f"DetachPolicyFromRole {name}" for kind, name in ram.policies_for_role(role_name)
                if ram.detach(role_name, kind, name)]
        nobody = canonical_json(nobody_trust(self.owner_account_id))
        if self._trust_differs(role.trust_policy, nobody):
            ram.update_role(role_name, nobody)
            done.append("UpdateRole trust=nobody")
        return done

    def adopt(self, role: RoleInfo, tags: Tags, *, dry_run: bool = False) -> tuple[Grant, list[dict]]:
        """Sign a record written before records carried a proof, after the operator has seen it.

        The grant is read strictly from its old record (``legacy_grant_from_tags``),
        written back in the current format with a proof, and record chunks the
        new record no longer uses are removed.
        """
        grant = legacy_grant_from_tags(tags, role.name, self.owner_account_id, role_description=role.description)
        foreign = [t for t in tags if not t["Key"].startswith(TAG_PREFIX)]
        new = grant_to_tags(grant, self.keyring, written_at=self._now(), extra_tags=foreign, writer=self.writer)
        ours = [t for t in new if t["Key"].startswith(TAG_PREFIX)]
        stale = sorted({t["Key"] for t in tags if t["Key"].startswith(TAG_PREFIX)} - {t["Key"] for t in ours})
        ram = self._gateway(dry_run)
        ram.tag_role(role.name, ours)
        if stale:
            ram.untag_role(role.name, stale)
        return grant, self._planned(ram)

    def delete_orphan_policy(self, name: str) -> bool:
        """Delete a grant custom policy whose role is gone; False when it is already gone.

        Unlike in :meth:`revoke`, nothing is detached first: a policy still held
        by anyone makes RAM answer one of ``shared.ram.POLICY_IN_USE``, raised
        for the caller to leave the policy alone. There is no plan mode: a
        rehearsal simply does not call this.
        """
        return self._ram.delete_policy(name)

    # ------------------------------------------------------------ restore
    def restore(self, role_name: str, *, dry_run: bool = False, read: tuple[RoleInfo, Tags] | None = None,
                scoped: tuple[tuple[str, str, str], ...] = ()) -> RestoreResult:
        """Put the role back to what its record says: trust policy, session length, policy set.

        ``read`` is the role and its tags as the caller has just read them
        (remediation re-reads before deciding), which saves reading them again.
        ``scoped`` names (kind, policy, resource group) attachments someone may
        have made (an event said so): no listing shows an attachment scoped to
        a resource group, so each one the record does not hold is detached in
        its scope, the detach answering whether it was there.
        """
        ram = self._gateway(dry_run)
        role, tags = read if read is not None else self.read_role(role_name)
        try:
            grant = self.decode(role, tags)
        except TagDecodeError as exc:
            raise Refused(f"role {role_name} has no proven grant record ({exc.reason}); it is left alone",
                          field="role_name") from exc
        result = RestoreResult(role.name, grant.grant_id)
        if grant.is_tombstone:  # a tombstone's trust admits nobody; the form written before this one still counts
            expected_trust = canonical_json(nobody_trust(self.owner_account_id))
            trust_drift = not admits_nobody(role.trust_policy or "{}")
        else:
            expected_trust = canonical_json(trust_policy(grant.principal, self.site))
            trust_drift = self._trust_differs(role.trust_policy, expected_trust)
        session_drift = role.max_session_duration != grant.max_session_duration
        if trust_drift:
            result.drift.append("trust policy changed")
        if session_drift:
            result.drift.append(f"max session duration {role.max_session_duration} != {grant.max_session_duration}")
        if trust_drift or session_drift:
            ram.update_role(role.name, expected_trust if trust_drift else None,
                            grant.max_session_duration if session_drift else None)
            result.actions.append("UpdateRole")
        attached = set(ram.policies_for_role(role.name))  # account-wide attachments only
        wanted = {} if grant.is_tombstone else {(p.kind, p.name): p for p in grant.policies}
        account_wide = {key for key, p in wanted.items() if p.resource_group_id is None}
        for kind, name in sorted(attached - account_wide):
            result.drift.append(f"extra {kind} policy {name} attached")
            ram.detach(role.name, kind, name)
            result.actions.append(f"DetachPolicyFromRole {name}")
        recorded_scopes = {(p.kind, p.name.casefold(), p.resource_group_id) for p in wanted.values()
                           if p.resource_group_id is not None}
        for kind, name, group in scoped:
            if (kind, name.casefold(), group) in recorded_scopes:
                continue
            if ram.detach(role.name, kind, name, group):
                result.drift.append(f"extra {kind} policy {name} attached within {group}")
                result.actions.append(f"DetachPolicyFromRole {name} {group}")
        for (kind, name), policy in sorted(wanted.items()):
            if kind == PolicyRef.CUSTOM and not self._restore_custom(ram, policy, result):
                continue
            if policy.resource_group_id is not None:  # not listed by RAM: attached again, a no-op when present
                if isinstance(ram, PlannedRam):  # a plan cannot tell whether it is still there
                    continue
                if ram.attach(role.name, kind, name, policy.resource_group_id):
                    result.drift.append(f"{kind} policy {name} detached from {policy.resource_group_id}")
                    result.actions.append(f"AttachPolicyToRole {name} {policy.resource_group_id}")
            elif (kind, name) not in attached:
                result.drift.append(f"{kind} policy {name} detached")
                ram.attach(role.name, kind, name)
                result.actions.append(f"AttachPolicyToRole {name}")
        result.planned = self._planned(ram)
        return result

    @staticmethod
    def _trust_differs(actual: str, expected: str) -> bool:
        try:
            return canonical_json(json.loads(actual)) != expected
        except ValueError:
            return True

    def _restore_custom(self, ram: RamGateway, policy: PolicyRef, result: RestoreResult) -> bool:
        """Check a custom policy still says what it said at creation; True when it can be attached."""
        current = self._ram.get_policy(policy.name, PolicyRef.CUSTOM)
        if current is None:
            result.drift.append(f"custom policy {policy.name} deleted")
            result.unrecoverable.append(f"custom policy {policy.name} is gone; its document is not in the record")
            return False
        if _same_document(current.document, policy.document_hash):
            return True
        result.drift.append(f"custom policy {policy.name} document changed")
        for version_id, _, document in self._ram.policy_versions(policy.name):
            if _same_document(document, policy.document_hash):
                ram.set_default_policy_version(policy.name, version_id)
                result.actions.append(f"SetDefaultPolicyVersion {policy.name} {version_id}")
                return True
        result.unrecoverable.append(f"no version of {policy.name} matches the recorded document")
        ram.detach(result.role_name, PolicyRef.CUSTOM, policy.name, policy.resource_group_id)
        result.actions.append(f"DetachPolicyFromRole {policy.name}")
        return False


__all__ = ["CreateResult", "GrantStore", "ManagedRole", "RestoreResult", "RevokeResult",
           "derive_grant_id"]
