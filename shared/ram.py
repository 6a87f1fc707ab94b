"""The one seam between Rolegate and RAM: typed calls in, plain data out, no SDK model above it.

"Already there" and "already gone" answers become return values here: for a
converging operation they are outcomes, not failures. :class:`PlannedRam`
reads from RAM but records writes: running an operation against it is its plan.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .calls import is_code
from .jsontext import compact
from .rpc import call_rpc, wrapped_items

VERSION = "2015-05-01"
Tags = list[dict[str, str]]
LIST_PAGE = 1000  # ListRoles and ListPolicies allow up to 1000 items a page: fewest calls for a full sweep
TAG_PAGE = 100
# DeletePolicy's answers for a policy someone still holds (a version conflict is not one: delete_policy resolves it).
POLICY_IN_USE = ("DeleteConflict.Policy.Role", "DeleteConflict.Policy.User", "DeleteConflict.Policy.Group")


@dataclass(frozen=True)
class RoleInfo:
    name: str
    arn: str
    role_id: str
    description: str
    max_session_duration: int
    trust_policy: str = ""
    tags: Tags | None = None


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    kind: str
    document: str
    default_version: str


@dataclass(frozen=True)
class ListedPolicy:
    """A policy as a listing shows it: no document, but its age, its tags and how many entities hold it."""

    name: str
    kind: str
    create_date: str
    attachment_count: int | None  # None: the listing did not say
    tags: Tags


@dataclass
class PlannedCall:
    action: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, **self.params}


def _unless(answers: tuple[str, ...], attempt: Callable[[], Any]) -> Any:
    """``attempt()``'s body, or None when the cloud answers one of ``answers`` ("already there", "already
    gone"): for a converging operation those are outcomes, not failures. A call that succeeds has a body."""
    try:
        return attempt()
    except Exception as exc:
        if is_code(exc, *answers):
            return None
        raise


def _tag_pairs(rows: Any) -> Tags:
    """RAM's ``{"TagKey", "TagValue"}`` rows (the dicts among ``rows``, when it is a list) as tags."""
    return [{"Key": t.get("TagKey"), "Value": t.get("TagValue")}
            for t in (rows if isinstance(rows, list) else []) if isinstance(t, dict)]


def _tags_of(row: dict[str, Any]) -> Tags:
    return _tag_pairs(wrapped_items(row, "Tags", "Tag"))


def _role_info(r: dict[str, Any], trust_policy: str = "", tags: Tags | None = None) -> RoleInfo:
    return RoleInfo(r.get("RoleName") or "", r.get("Arn") or "", r.get("RoleId") or "", r.get("Description") or "",
                    int(r.get("MaxSessionDuration") or 3600), trust_policy, tags)


class RamGateway:
    """RAM operations of one account, through the SDK core's generic client on RAM's endpoint.

    Each request is the one RAM's SDK (``alibabacloud_ram20150501``) builds:
    its query parameters in name order, every list a JSON string
    (tests/core/test_ram_requests.py compares the two on the wire). The SDK's
    request and response models are not loaded: about 30 ms of every cold
    start and 2.5 MiB of every package (docs/design/cold-start.md).
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def _call(self, action: str, target: str, *, safe_to_retry: bool = True, **params: Any) -> dict[str, Any]:
        # A list as the SDK core's array_to_string_with_specified_style(..., "json") spells it.
        query = {name: compact(value) if isinstance(value, list) else value for name, value in params.items()}
        return call_rpc(self._client, VERSION, action, query, target=target, safe_to_retry=safe_to_retry)

    def _call_unless(self, answers: tuple[str, ...], action: str, target: str, *, safe_to_retry: bool = True,
                     **params: Any) -> dict[str, Any] | None:
        """:meth:`_call`, with ``answers`` turned into None (see :func:`_unless`)."""
        return _unless(answers, lambda: self._call(action, target, safe_to_retry=safe_to_retry, **params))

    # ------------------------------------------------------------- roles
    def get_role(self, name: str) -> RoleInfo | None:
        body = self._call_unless(("EntityNotExist.Role",), "GetRole", name, RoleName=name)
        if body is None:
            return None
        role = body.get("Role") or {}
        return _role_info(role, role.get("AssumeRolePolicyDocument") or "")

    def list_roles(self, tag_filter: Tags | None = None) -> Iterator[RoleInfo]:
        """Every role (matching all ``tag_filter`` pairs), page after page, with its tags."""
        marker = None
        while True:
            body = self._call("ListRoles", "*", Marker=marker, MaxItems=LIST_PAGE, Tag=tag_filter or None)
            for r in wrapped_items(body, "Roles", "Role"):
                yield _role_info(r, tags=_tags_of(r))
            if not body.get("IsTruncated"):
                return
            marker = body.get("Marker")

    def role_tags(self, name: str) -> Tags:
        tags: Tags = []
        token = None
        while True:
            body = self._call("ListTagResources", name, ResourceType="role", ResourceNames=[name], PageSize=TAG_PAGE,
                              NextToken=token)
            tags += _tag_pairs(body.get("TagResources"))
            token = body.get("NextToken")
            if not token:
                return tags

    def create_role(self, name: str, trust_policy: str, description: str | None, max_session_duration: int,
                    tags: Tags, *, safe_to_retry: bool = True) -> bool:
        """Create the role; False when a role of that name already exists (the caller decides whose)."""
        return self._call_unless(("EntityAlreadyExists.Role",), "CreateRole", name, safe_to_retry=safe_to_retry,
                                 RoleName=name, AssumeRolePolicyDocument=trust_policy, Description=description,
                                 MaxSessionDuration=max_session_duration, Tag=tags) is not None

    def update_role(self, name: str, trust_policy: str | None = None, max_session_duration: int | None = None) -> None:
        self._call("UpdateRole", name, RoleName=name, NewAssumeRolePolicyDocument=trust_policy,
                   NewMaxSessionDuration=max_session_duration)

    def delete_role(self, name: str) -> bool:
        return self._call_unless(("EntityNotExist.Role",), "DeleteRole", name, RoleName=name) is not None

    def tag_role(self, name: str, tags: Tags) -> None:
        self._call("TagResources", name, ResourceType="role", ResourceNames=[name], Tag=tags)

    def untag_role(self, name: str, keys: list[str]) -> None:
        self._call("UntagResources", name, ResourceType="role", ResourceNames=[name], TagKeys=keys)

    # ---------------------------------------------------------- policies
    def get_policy(self, name: str, kind: str) -> PolicyInfo | None:
        body = self._call_unless(("EntityNotExist.Policy",), "GetPolicy", name, PolicyName=name, PolicyType=kind)
        if body is None:
            return None
        version = body.get("DefaultPolicyVersion") or {}
        return PolicyInfo(name, kind, version.get("PolicyDocument") or "", version.get("VersionId") or "")

    def create_policy(self, name: str, document: str, description: str, tags: Tags) -> bool:
        """Create a custom policy; False when one of that name already exists."""
        return self._call_unless(("EntityAlreadyExists.Policy",), "CreatePolicy", name, PolicyName=name,
                                 PolicyDocument=document, Description=description, Tag=tags or None) is not None

    def list_policies(self, kind: str, tag_filter: Tags | None = None) -> Iterator[ListedPolicy]:
        """Every policy of ``kind`` (matching all ``tag_filter`` pairs), page after page, with its tags."""
        marker = None
        while True:
            body = self._call("ListPolicies", "*", PolicyType=kind, Marker=marker, MaxItems=LIST_PAGE,
                              Tag=tag_filter or None)
            for p in wrapped_items(body, "Policies", "Policy"):
                count = p.get("AttachmentCount")
                yield ListedPolicy(p.get("PolicyName") or "", p.get("PolicyType") or kind, p.get("CreateDate") or "",
                                   count if isinstance(count, int) else None, _tags_of(p))
            if not body.get("IsTruncated"):
                return
            marker = body.get("Marker")

    def policy_versions(self, name: str) -> list[tuple[str, bool, str]]:
        """(version id, is default, document) of a custom policy."""
        body = self._call("ListPolicyVersions", name, PolicyName=name, PolicyType="Custom")
        return [(v.get("VersionId") or "", bool(v.get("IsDefaultVersion")), v.get("PolicyDocument") or "")
                for v in wrapped_items(body, "PolicyVersions", "PolicyVersion")]

    def create_policy_version(self, name: str, document: str) -> None:
        """A new version of a custom policy, made its default."""
        self._call("CreatePolicyVersion", name, safe_to_retry=False, PolicyName=name, PolicyDocument=document,
                   SetAsDefault=True)

    def delete_policy_version(self, name: str, version_id: str) -> None:
        self._call("DeletePolicyVersion", name, PolicyName=name, VersionId=version_id)

    def set_default_policy_version(self, name: str, version_id: str) -> None:
        self._call("SetDefaultPolicyVersion", name, PolicyName=name, VersionId=version_id)

    def delete_policy(self, name: str) -> bool:
        """Delete a custom policy and its non-default versions; False when it is already gone."""
        try:
            self._call("DeletePolicy", name, PolicyName=name)
        except Exception as exc:
            if is_code(exc, "EntityNotExist.Policy"):
                return False
            if not is_code(exc, "DeleteConflict.Policy.Version"):
                raise
            for version_id, is_default, _ in self.policy_versions(name):
                if not is_default:
                    self.delete_policy_version(name, version_id)
            return self.delete_policy(name)
        return True

    # ------------------------------------------------------- attachments
    def _policies_for(self, action: str, target: str, gone: str, **params: str) -> list[tuple[str, str]]:
        body = self._call_unless((gone,), action, target, **params)
        return [(p.get("PolicyType") or "", p.get("PolicyName") or "")
                for p in wrapped_items(body or {}, "Policies", "Policy")]

    def policies_for_role(self, role: str) -> list[tuple[str, str]]:
        """(kind, name) of every policy attached to ``role``; empty when the role is gone."""
        return self._policies_for("ListPoliciesForRole", role, "EntityNotExist.Role", RoleName=role)

    def attach(self, role: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        return self._call_unless(("EntityAlreadyExists.Role.Policy",), "AttachPolicyToRole", f"{role}:{name}",
                                 RoleName=role, PolicyType=kind, PolicyName=name,
                                 ResourceGroupId=resource_group_id) is not None

    def detach(self, role: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        """Detach; ``resource_group_id`` names an attachment scoped to a resource group."""
        return self._detach_from("DetachPolicyFromRole", f"{role}:{name}", "Role", RoleName=role, PolicyType=kind,
                                 PolicyName=name, ResourceGroupId=resource_group_id)

    # ------------------------------------------------- users and groups
    # Remediation takes a high-risk policy back from whoever was given it; a
    # role, user, group or policy that is already gone is an outcome, not a failure.
    def policies_for_user(self, user: str) -> list[tuple[str, str]]:
        """(kind, name) of every policy attached to ``user``; empty when the user is gone."""
        return self._policies_for("ListPoliciesForUser", user, "EntityNotExist.User", UserName=user)

    def policies_for_group(self, group: str) -> list[tuple[str, str]]:
        """(kind, name) of every policy attached to ``group``; empty when the group is gone."""
        return self._policies_for("ListPoliciesForGroup", group, "EntityNotExist.Group", GroupName=group)

    def _detach_from(self, action: str, target: str, entity: str, **params: Any) -> bool:
        gone = (f"EntityNotExist.{entity}.Policy", f"EntityNotExist.{entity}", "EntityNotExist.Policy")
        return self._call_unless(gone, action, target, **params) is not None

    def detach_from_user(self, user: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        return self._detach_from("DetachPolicyFromUser", f"{user}:{name}", "User", UserName=user, PolicyType=kind,
                                 PolicyName=name, ResourceGroupId=resource_group_id)

    def detach_from_group(self, group: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        return self._detach_from("DetachPolicyFromGroup", f"{group}:{name}", "Group", GroupName=group,
                                 PolicyType=kind, PolicyName=name, ResourceGroupId=resource_group_id)

    def remove_user_from_group(self, user: str, group: str) -> bool:
        """Take ``user`` out of ``group``; False when the user is not in it (or either is gone)."""
        gone = ("EntityNotExist.User.Group", "EntityNotExist.User", "EntityNotExist.Group")
        return self._call_unless(gone, "RemoveUserFromGroup", f"{group}:{user}", UserName=user,
                                 GroupName=group) is not None

    def entities_for_policy(self, name: str, kind: str) -> dict[str, list[str]]:
        """Names of the roles, users and groups holding a policy; all empty when the policy is gone."""
        body = self._call_unless(("EntityNotExist.Policy",), "ListEntitiesForPolicy", name, PolicyName=name,
                                 PolicyType=kind) or {}
        return {"role": [r.get("RoleName") or "" for r in wrapped_items(body, "Roles", "Role")],
                "user": [u.get("UserName") or "" for u in wrapped_items(body, "Users", "User")],
                "group": [g.get("GroupName") or "" for g in wrapped_items(body, "Groups", "Group")]}


class PlannedRam(RamGateway):
    """Reads go to RAM; writes are recorded in ``planned`` and reported as done."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.planned: list[PlannedCall] = []

    def _plan(self, action: str, **params: Any) -> bool:
        self.planned.append(PlannedCall(action, {k: v for k, v in params.items() if v is not None}))
        return True

    def create_role(self, name: str, trust_policy: str, description: str | None, max_session_duration: int,
                    tags: Tags, *, safe_to_retry: bool = True) -> bool:
        if self.get_role(name) is not None:
            return False
        return self._plan("CreateRole", RoleName=name, AssumeRolePolicyDocument=json.loads(trust_policy),
                          Description=description, MaxSessionDuration=max_session_duration, Tag=tags)

    def update_role(self, name: str, trust_policy: str | None = None, max_session_duration: int | None = None) -> None:
        self._plan("UpdateRole", RoleName=name,
                   NewAssumeRolePolicyDocument=json.loads(trust_policy) if trust_policy else None,
                   NewMaxSessionDuration=max_session_duration)

    def delete_role(self, name: str) -> bool:
        return self._plan("DeleteRole", RoleName=name)

    def tag_role(self, name: str, tags: Tags) -> None:
        self._plan("TagResources", ResourceType="role", ResourceNames=[name], Tag=tags)

    def untag_role(self, name: str, keys: list[str]) -> None:
        self._plan("UntagResources", ResourceType="role", ResourceNames=[name], TagKeys=keys)

    def create_policy(self, name: str, document: str, description: str, tags: Tags) -> bool:
        if self.get_policy(name, "Custom") is not None:
            return False
        return self._plan("CreatePolicy", PolicyName=name, PolicyDocument=json.loads(document),
                          Description=description, Tag=tags or None)

    def set_default_policy_version(self, name: str, version_id: str) -> None:
        self._plan("SetDefaultPolicyVersion", PolicyName=name, VersionId=version_id)

    def delete_policy(self, name: str) -> bool:
        return self._plan("DeletePolicy", PolicyName=name)

    def attach(self, role: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        return self._plan("AttachPolicyToRole", RoleName=role, PolicyType=kind, PolicyName=name,
                          ResourceGroupId=resource_group_id)

    def detach(self, role: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        return self._plan("DetachPolicyFromRole", RoleName=role, PolicyType=kind, PolicyName=name,
                          ResourceGroupId=resource_group_id)

    def detach_from_user(self, user: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        return self._plan("DetachPolicyFromUser", UserName=user, PolicyType=kind, PolicyName=name,
                          ResourceGroupId=resource_group_id)

    def remove_user_from_group(self, user: str, group: str) -> bool:
        return self._plan("RemoveUserFromGroup", UserName=user, GroupName=group)

    def detach_from_group(self, group: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        return self._plan("DetachPolicyFromGroup", GroupName=group, PolicyType=kind, PolicyName=name,
                          ResourceGroupId=resource_group_id)


# ------------------------------------------------------------ identity providers
IMS_VERSION = "2019-08-15"
# Answers for a provider that does not exist: GetOIDCProvider's, and GetSAMLProvider's (as the alicloud
# Terraform provider reads them); any other EntityNotExist code is taken the same way.
PROVIDER_GONE = ("EntityNotExist.OIDCProvider", "EntityNotExist.SAMLProviderError", "EntityNotExist.SAMLProvider")


@dataclass(frozen=True)
class OidcProviderInfo:
    name: str
    arn: str
    issuer_url: str
    client_ids: tuple[str, ...]
    fingerprints: tuple[str, ...]


@dataclass(frozen=True)
class SamlProviderInfo:
    name: str
    arn: str


def _split(value: Any) -> tuple[str, ...]:
    """RAM's comma-separated lists (ClientIds, Fingerprints) as a tuple."""
    return tuple(v.strip() for v in str(value or "").split(",") if v.strip())


class IdentityProviders:
    """The SAML and OIDC identity providers of one account.

    RAM serves them through its identity management API (Ims, version
    2019-08-15, endpoint ims.aliyuncs.com): GetOIDCProvider, GetSAMLProvider,
    CreateOIDCProvider, CreateSAMLProvider. The RAM SDK of version 2015-05-01
    has no such operations, so they are called through the SDK core's generic
    client (``call_api``), which signs and sends them like every other call.
    """

    def __init__(self, client: Any) -> None:
        self._client = client  # alibabacloud_tea_openapi.client.Client on the Ims endpoint

    def _call(self, action: str, query: dict[str, Any], target: str, *, safe_to_retry: bool) -> dict[str, Any]:
        return call_rpc(self._client, IMS_VERSION, action, query, target=target, safe_to_retry=safe_to_retry)

    def get_oidc_provider(self, name: str) -> OidcProviderInfo | None:
        body = _unless(PROVIDER_GONE, lambda: self._call("GetOIDCProvider", {"OIDCProviderName": name}, name,
                                                         safe_to_retry=True))
        if body is None:
            return None
        return _oidc_info(body.get("OIDCProvider") or {})

    def get_saml_provider(self, name: str) -> SamlProviderInfo | None:
        body = _unless(PROVIDER_GONE, lambda: self._call("GetSAMLProvider", {"SAMLProviderName": name}, name,
                                                         safe_to_retry=True))
        if body is None:
            return None
        provider = body.get("SAMLProvider") or {}
        return SamlProviderInfo(str(provider.get("SAMLProviderName") or name), str(provider.get("Arn") or ""))

    def create_oidc_provider(self, name: str, issuer_url: str, client_ids: list[str], fingerprints: list[str],
                             description: str | None = None) -> OidcProviderInfo:
        body = self._call("CreateOIDCProvider", {
            "OIDCProviderName": name, "IssuerUrl": issuer_url, "ClientIds": ",".join(client_ids),
            "Fingerprints": ",".join(fingerprints), "Description": description}, name, safe_to_retry=False)
        return _oidc_info(body.get("OIDCProvider") or {})

    def create_saml_provider(self, name: str, encoded_metadata: str, description: str | None = None) -> SamlProviderInfo:
        body = self._call("CreateSAMLProvider", {
            "SAMLProviderName": name, "EncodedSAMLMetadataDocument": encoded_metadata, "Description": description},
            name, safe_to_retry=False)
        provider = body.get("SAMLProvider") or {}
        return SamlProviderInfo(str(provider.get("SAMLProviderName") or name), str(provider.get("Arn") or ""))


def _oidc_info(provider: dict[str, Any]) -> OidcProviderInfo:
    return OidcProviderInfo(str(provider.get("OIDCProviderName") or ""), str(provider.get("Arn") or ""),
                            str(provider.get("IssuerUrl") or ""), _split(provider.get("ClientIds")),
                            _split(provider.get("Fingerprints")))


__all__ = ["IMS_VERSION", "POLICY_IN_USE", "IdentityProviders", "ListedPolicy", "OidcProviderInfo", "PlannedCall",
           "PlannedRam", "PolicyInfo", "RamGateway", "RoleInfo", "SamlProviderInfo", "Tags"]
