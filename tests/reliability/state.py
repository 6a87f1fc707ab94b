"""Full snapshots of an account's RAM state, read through the API with the account's root key, and their audit.

A snapshot holds every role (description, trust policy, session length, tags,
attached policies and, when asked for a region, the ECS instances carrying it),
every user's and group's attached policies, and every custom policy (description, tags,
every version's document, the default version). Two snapshots are compared with
:func:`comparable`, which keeps everything except the values a repeat of the
same operation legitimately changes: the creation second inside a grant's
record, the record's write time, nonce and proof, and the second a quarantine
was stamped (the other tags, the expiry included, are compared as stored).
Records are read only when their proof verifies with the account's record key.

:func:`audit` says what in a snapshot is not accounted for: a managed role
whose record is not proven or disagrees with its attachments, a custom
policy of a grant that is gone or does not list it, a grant's custom policy
that is missing or whose document is not the recorded one.
"""
from __future__ import annotations

import json
from typing import Any

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as ram_models

from shared.grants.model import PolicyRef
from shared.grants.naming import MANAGED_PREFIX
from shared.grants.tags import MANAGED_TAG, TagDecodeError, grant_from_tags, GRANT_ID_KEY, PROOF_KEY, RECORD_KEY_PREFIX
from shared.grants.proof import Keyring
from shared.policies.document import PolicyDocumentError, parse_policy, policy_hash
from shared.remediation.quarantine import QUARANTINED_AT_KEY
from tests.emulator.helpers import ecs_client, ram_client

GRANT_POLICY_PREFIX = MANAGED_PREFIX + "g-"  # every grant's custom policies: rolegate-<grant id>-p<n>
Snapshot = dict[str, dict[str, dict[str, Any]]]


def _tags(model_tags: Any) -> dict[str, str]:
    return {t.tag_key: t.tag_value for t in (getattr(model_tags, "tag", None) or [])}


def _role(ram: Any, name: str, tags: dict[str, str]) -> dict[str, Any]:
    role = ram.get_role(ram_models.GetRoleRequest(role_name=name)).body.role
    attached = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name=name)).body.policies
    return {
        "description": role.description or "",
        "trust_policy": json.loads(role.assume_role_policy_document),
        "max_session_duration": role.max_session_duration,
        "tags": tags,
        "attached": sorted((p.policy_type, p.policy_name) for p in (attached.policy or [])),
    }


def _instances_of(ecs: Any, region: str, role: str) -> list[str]:
    request = ecs_models.DescribeInstanceRamRoleRequest(region_id=region, ram_role_name=role, page_size=50)
    sets = ecs.describe_instance_ram_role(request).body.instance_ram_role_sets
    return sorted(s.instance_id for s in (sets.instance_ram_role_set if sets else None) or [])


def _attached(listing: Any) -> dict[str, Any]:
    return {"attached": sorted((p.policy_type, p.policy_name) for p in (listing.policy if listing else None) or [])}


def _principals(ram: Any, kind: str) -> dict[str, dict[str, Any]]:
    """Every RAM user or group (``kind``) of the account, page after page, with the policies attached to it."""
    plural, title = f"{kind}s", kind.capitalize()
    found: dict[str, dict[str, Any]] = {}
    marker = None
    while True:
        listing = getattr(ram_models, f"List{title}sRequest")(marker=marker, max_items=1000)
        body = getattr(ram, f"list_{plural}")(listing).body
        for entry in (getattr(getattr(body, plural), kind) if getattr(body, plural) else None) or []:
            name = getattr(entry, f"{kind}_name")
            request = getattr(ram_models, f"ListPoliciesFor{title}Request")(**{f"{kind}_name": name})
            found[name] = _attached(getattr(ram, f"list_policies_for_{kind}")(request).body.policies)
        if not body.is_truncated:
            return found
        marker = body.marker


def _policy(ram: Any, name: str, description: str, tags: dict[str, str]) -> dict[str, Any]:
    listed = ram.list_policy_versions(
        ram_models.ListPolicyVersionsRequest(policy_name=name, policy_type="Custom")).body.policy_versions
    versions = {v.version_id: (json.loads(v.policy_document), bool(v.is_default_version))
                for v in (listed.policy_version or [])}
    return {
        "description": description,
        "tags": tags,
        "default_version": next((vid for vid, (_, default) in versions.items() if default), None),
        "versions": {vid: doc for vid, (doc, _) in sorted(versions.items())},
    }


def snapshot(emulator: Any, root: dict[str, Any], ecs_region: str | None = None) -> Snapshot:
    """Every role, user and custom policy of the account ``root`` belongs to, as the RAM API shows them.

    Read-only calls made with the root key; take it with no fault rules
    active, since rules match every caller. With ``ecs_region`` each role also
    lists the instances of that region carrying it.
    """
    ram = ram_client(emulator, root)
    ecs = ecs_client(emulator, root) if ecs_region else None
    roles: dict[str, dict[str, Any]] = {}
    marker = None
    while True:
        body = ram.list_roles(ram_models.ListRolesRequest(marker=marker, max_items=1000)).body
        for listed in (body.roles.role if body.roles else None) or []:
            roles[listed.role_name] = _role(ram, listed.role_name, _tags(listed.tags))
            if ecs is not None and ecs_region is not None:
                roles[listed.role_name]["instances"] = _instances_of(ecs, ecs_region, listed.role_name)
        if not body.is_truncated:
            break
        marker = body.marker
    policies: dict[str, dict[str, Any]] = {}
    marker = None
    while True:
        body = ram.list_policies(ram_models.ListPoliciesRequest(policy_type="Custom", marker=marker,
                                                                max_items=1000)).body
        for listed in (body.policies.policy if body.policies else None) or []:
            policies[listed.policy_name] = _policy(ram, listed.policy_name, listed.description or "",
                                                   _tags(listed.tags))
        if not body.is_truncated:
            break
        marker = body.marker
    return {"roles": roles, "users": _principals(ram, "user"), "groups": _principals(ram, "group"), "policies": policies}


def is_write(call: dict[str, Any]) -> bool:
    """Whether an entry of the emulator's call log is a call that may change something (not Get/List/Describe)."""
    return not call["action"].startswith(("Get", "List", "Describe"))


def is_managed(tags: dict[str, str]) -> bool:
    """Whether snapshot tags carry the managed marker."""
    return tags.get(MANAGED_TAG["Key"]) == MANAGED_TAG["Value"]


def _decoded(name: str, role: dict[str, Any], owner_account_id: str, keyring: Keyring) -> Any:
    return grant_from_tags([{"Key": k, "Value": v} for k, v in role["tags"].items()], name, owner_account_id,
                           keyring=keyring, role_description=role["description"])


def comparable(snap: Snapshot, owner_account_id: str, keyring: Keyring) -> Snapshot:
    """``snap`` with each proven grant record replaced by the grant it holds, minus its creation time,
    and the time of a quarantine masked (a repeat of the same quarantine stamps its own second).

    Version ids are kept: a custom policy re-created from scratch starts at v1
    again, so a converged repeat shows the same ids. Unproven records stay
    as raw tags, so they never compare equal to a healthy grant.
    """
    roles: dict[str, dict[str, Any]] = {}
    for name, role in snap["roles"].items():
        out = dict(role)
        if QUARANTINED_AT_KEY in role["tags"]:
            out["tags"] = {**role["tags"], QUARANTINED_AT_KEY: "<time>"}
        if is_managed(role["tags"]):
            try:
                grant = _decoded(name, role, owner_account_id, keyring)
            except TagDecodeError:
                pass
            else:
                record = grant.to_public_dict()
                record.pop("created_at")
                out["tags"] = {k: v for k, v in out["tags"].items()
                               if not k.startswith(RECORD_KEY_PREFIX) and k != PROOF_KEY}
                out["record"] = record
        roles[name] = out
    return {**snap, "roles": roles}


def same_state(a: Snapshot, b: Snapshot, owner_account_id: str, keyring: Keyring) -> bool:
    return comparable(a, owner_account_id, keyring) == comparable(b, owner_account_id, keyring)


def difference(a: Snapshot, b: Snapshot, owner_account_id: str, keyring: Keyring) -> dict[str, Any]:
    """What differs between two snapshots (for assertion messages)."""
    ca, cb = comparable(a, owner_account_id, keyring), comparable(b, owner_account_id, keyring)
    out: dict[str, Any] = {}
    for kind in ("roles", "users", "groups", "policies"):
        for name in sorted(set(ca[kind]) | set(cb[kind])):
            if ca[kind].get(name) != cb[kind].get(name):
                left, right = ca[kind].get(name), cb[kind].get(name)
                if left is None or right is None:
                    out[f"{kind}/{name}"] = "only in first" if right is None else "only in second"
                else:
                    out[f"{kind}/{name}"] = {k: (left.get(k), right.get(k)) for k in set(left) | set(right)
                                             if left.get(k) != right.get(k)}
    return out


def managed_role_names(snap: Snapshot) -> set[str]:
    return {name for name, role in snap["roles"].items() if is_managed(role["tags"])}


def unmanaged(snap: Snapshot) -> Snapshot:
    """The part of ``snap`` Rolegate must never touch: roles without the managed marker."""
    return {"roles": {n: r for n, r in snap["roles"].items() if not is_managed(r["tags"])},
            "users": snap["users"],
            "groups": snap["groups"],
            "policies": {n: p for n, p in snap["policies"].items()
                         if not (is_managed(p["tags"]) or n.startswith(GRANT_POLICY_PREFIX))}}


def _document_hash(policy: dict[str, Any]) -> str | None:
    document = policy["versions"].get(policy["default_version"])
    try:
        return policy_hash(parse_policy(json.dumps(document)))
    except (PolicyDocumentError, ValueError, TypeError):  # an unreadable document matches no recorded hash
        return None


def audit(snap: Snapshot, owner_account_id: str, keyring: Keyring) -> list[str]:
    """Every piece of managed state that is not part of a complete, proven grant (empty: all accounted for).

    A tombstone (a grant revoked early, kept until replays are stale) holds no policy at all.
    """
    problems: list[str] = []
    live: dict[str, set[str]] = {}  # grant id -> names of its custom policies
    for name in sorted(managed_role_names(snap)):
        role = snap["roles"][name]
        try:
            grant = _decoded(name, role, owner_account_id, keyring)
        except TagDecodeError as exc:
            problems.append(f"role {name}: unproven record ({exc})")
            continue
        held = () if grant.is_tombstone else grant.policies
        wanted = sorted((p.kind, p.name) for p in held)
        if role["attached"] != wanted:
            problems.append(f"role {name}: attached {role['attached']} but the record says {wanted}")
        customs = [p for p in held if p.kind == PolicyRef.CUSTOM]
        live[grant.grant_id] = {p.name for p in customs}
        for policy in customs:
            stored = snap["policies"].get(policy.name)
            if stored is None:
                problems.append(f"role {name}: custom policy {policy.name} is missing")
            elif _document_hash(stored) != policy.document_hash:
                problems.append(f"role {name}: custom policy {policy.name} is not the recorded document")
    for name, policy in sorted(snap["policies"].items()):
        grant_id = policy["tags"].get(GRANT_ID_KEY)
        ours = is_managed(policy["tags"]) or name.startswith(GRANT_POLICY_PREFIX)
        if ours and (grant_id not in live or name not in live[grant_id]):
            problems.append(f"custom policy {name}: no live grant lists it (grant {grant_id})")
    return problems

