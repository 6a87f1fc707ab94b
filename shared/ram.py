"""The one seam between Rolegate and RAM: typed calls in, plain data out, no SDK model above it.

"Already there" and "already gone" answers become return values here: for a
converging operation they are outcomes, not failures. :class:`PlannedRam`
reads from RAM but records writes: running an operation against it is its plan.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .calls import call, is_code
from .lazy import load
from .rpc import call_rpc

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


def _tags_of(model_tags: Any) -> Tags:
    items = getattr(model_tags, "tag", None) or []
    return [{"Key": t.tag_key, "Value": t.tag_value} for t in items]


class RamGateway:
    """RAM operations of one account, through an official RAM client."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._m = load("alibabacloud_ram20150501.models")  # at first use: only functions that use RAM pay for it

    def _call_unless(self, answers: tuple[str, ...], method: Any, request: Any, action: str, target: str, *,
                      safe_to_retry: bool = True) -> Any:
        """:func:`~shared.calls.call`, with ``answers`` turned into None (see :func:`_unless`)."""
        return _unless(answers, lambda: call(method, request, action=action, target=target,
                                             safe_to_retry=safe_to_retry))

    # ------------------------------------------------------------- roles
    def get_role(self, name: str) -> RoleInfo | None:
        body = self._call_unless(("EntityNotExist.Role",), self._client.get_role,
                                 self._m.GetRoleRequest(role_name=name), "GetRole", name)
        if body is None:
            return None
        r = body.role
        return RoleInfo(r.role_name, r.arn, r.role_id, r.description or "", r.max_session_duration or 3600,
                        r.assume_role_policy_document or "")

    def list_roles(self, tag_filter: Tags | None = None) -> Iterator[RoleInfo]:
        """Every role (matching all ``tag_filter`` pairs), page after page, with its tags."""
        marker = None
        tags = [self._m.ListRolesRequestTag(key=t["Key"], value=t["Value"]) for t in tag_filter or []]
        while True:
            request = self._m.ListRolesRequest(marker=marker, max_items=LIST_PAGE, tag=tags or None)
            body = call(self._client.list_roles, request, action="ListRoles", target="*", safe_to_retry=True)
            for r in (body.roles.role if body.roles else None) or []:
                yield RoleInfo(r.role_name, r.arn, r.role_id, r.description or "", r.max_session_duration or 3600,
                               tags=_tags_of(r.tags))
            if not body.is_truncated:
                return
            marker = body.marker

    def role_tags(self, name: str) -> Tags:
        tags: Tags = []
        token = None
        while True:
            request = self._m.ListTagResourcesRequest(resource_type="role", resource_names=[name],
                                                      page_size=TAG_PAGE, next_token=token)
            body = call(self._client.list_tag_resources, request, action="ListTagResources", target=name,
                        safe_to_retry=True)
            tags += [{"Key": t.tag_key, "Value": t.tag_value} for t in body.tag_resources or []]
            token = body.next_token
            if not token:
                return tags

    def create_role(self, name: str, trust_policy: str, description: str | None, max_session_duration: int,
                    tags: Tags, *, safe_to_retry: bool = True) -> bool:
        """Create the role; False when a role of that name already exists (the caller decides whose)."""
        request = self._m.CreateRoleRequest(
            role_name=name, assume_role_policy_document=trust_policy, description=description,
            max_session_duration=max_session_duration,
            tag=[self._m.CreateRoleRequestTag(key=t["Key"], value=t["Value"]) for t in tags])
        return self._call_unless(("EntityAlreadyExists.Role",), self._client.create_role, request, "CreateRole", name,
                                 safe_to_retry=safe_to_retry) is not None

    def update_role(self, name: str, trust_policy: str | None = None, max_session_duration: int | None = None) -> None:
        request = self._m.UpdateRoleRequest(role_name=name, new_assume_role_policy_document=trust_policy,
                                            new_max_session_duration=max_session_duration)
        call(self._client.update_role, request, action="UpdateRole", target=name, safe_to_retry=True)

    def delete_role(self, name: str) -> bool:
        return self._call_unless(("EntityNotExist.Role",), self._client.delete_role,
                                 self._m.DeleteRoleRequest(role_name=name), "DeleteRole", name) is not None

    def tag_role(self, name: str, tags: Tags) -> None:
        request = self._m.TagResourcesRequest(
            resource_type="role", resource_names=[name],
            tag=[self._m.TagResourcesRequestTag(key=t["Key"], value=t["Value"]) for t in tags])
        call(self._client.tag_resources, request, action="TagResources", target=name, safe_to_retry=True)

    def untag_role(self, name: str, keys: list[str]) -> None:
        request = self._m.UntagResourcesRequest(resource_type="role", resource_names=[name], tag_keys=keys)
        call(self._client.untag_resources, request, action="UntagResources", target=name, safe_to_retry=True)

    # ---------------------------------------------------------- policies
    def get_policy(self, name: str, kind: str) -> PolicyInfo | None:
        body = self._call_unless(("EntityNotExist.Policy",), self._client.get_policy,
                                 self._m.GetPolicyRequest(policy_name=name, policy_type=kind), "GetPolicy", name)
        if body is None:
            return None
        version = body.default_policy_version
        return PolicyInfo(name, kind, (version.policy_document if version else None) or "",
                          (version.version_id if version else None) or "")

    def create_policy(self, name: str, document: str, description: str, tags: Tags) -> bool:
        """Create a custom policy; False when one of that name already exists."""
        request = self._m.CreatePolicyRequest(
            policy_name=name, policy_document=document, description=description,
            tag=[self._m.CreatePolicyRequestTag(key=t["Key"], value=t["Value"]) for t in tags] or None)
        return self._call_unless(("EntityAlreadyExists.Policy",), self._client.create_policy, request, "CreatePolicy",
                                 name) is not None

    def list_policies(self, kind: str, tag_filter: Tags | None = None) -> Iterator[ListedPolicy]:
        """Every policy of ``kind`` (matching all ``tag_filter`` pairs), page after page, with its tags."""
        marker = None
        tags = [self._m.ListPoliciesRequestTag(key=t["Key"], value=t["Value"]) for t in tag_filter or []]
        while True:
            request = self._m.ListPoliciesRequest(policy_type=kind, marker=marker, max_items=LIST_PAGE,
                                                  tag=tags or None)
            body = call(self._client.list_policies, request, action="ListPolicies", target="*", safe_to_retry=True)
            for p in (body.policies.policy if body.policies else None) or []:
                yield ListedPolicy(p.policy_name, p.policy_type or kind, p.create_date or "", p.attachment_count,
                                   _tags_of(p.tags))
            if not body.is_truncated:
                return
            marker = body.marker

    def policy_versions(self, name: str) -> list[tuple[str, bool, str]]:
        """(version id, is default, document) of a custom policy."""
        body = call(self._client.list_policy_versions,
                    self._m.ListPolicyVersionsRequest(policy_name=name, policy_type="Custom"),
                    action="ListPolicyVersions", target=name, safe_to_retry=True)
        versions = (body.policy_versions.policy_version if body.policy_versions else None) or []
        return [(v.version_id, bool(v.is_default_version), v.policy_document or "") for v in versions]

    def set_default_policy_version(self, name: str, version_id: str) -> None:
        call(self._client.set_default_policy_version,
             self._m.SetDefaultPolicyVersionRequest(policy_name=name, version_id=version_id),
             action="SetDefaultPolicyVersion", target=name, safe_to_retry=True)

    def delete_policy(self, name: str) -> bool:
        """Delete a custom policy and its non-default versions; False when it is already gone."""
        request = self._m.DeletePolicyRequest(policy_name=name)
        try:
            call(self._client.delete_policy, request, action="DeletePolicy", target=name, safe_to_retry=True)
        except Exception as exc:
            if is_code(exc, "EntityNotExist.Policy"):
                return False
            if not is_code(exc, "DeleteConflict.Policy.Version"):
                raise
            for version_id, is_default, _ in self.policy_versions(name):
                if not is_default:
                    call(self._client.delete_policy_version,
                         self._m.DeletePolicyVersionRequest(policy_name=name, version_id=version_id),
                         action="DeletePolicyVersion", target=name, safe_to_retry=True)
            return self.delete_policy(name)
        return True

    # ------------------------------------------------------- attachments
    def policies_for_role(self, role: str) -> list[tuple[str, str]]:
        """(kind, name) of every policy attached to ``role``; empty when the role is gone."""
        return self._policies_for(self._client.list_policies_for_role,
                                  self._m.ListPoliciesForRoleRequest(role_name=role),
                                  "ListPoliciesForRole", role, "EntityNotExist.Role")

    def attach(self, role: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        request = self._m.AttachPolicyToRoleRequest(role_name=role, policy_type=kind, policy_name=name,
                                                    resource_group_id=resource_group_id)
        return self._call_unless(("EntityAlreadyExists.Role.Policy",), self._client.attach_policy_to_role, request,
                                 "AttachPolicyToRole", f"{role}:{name}") is not None

    def detach(self, role: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        """Detach; ``resource_group_id`` names an attachment scoped to a resource group."""
        request = self._m.DetachPolicyFromRoleRequest(role_name=role, policy_type=kind, policy_name=name,
                                                      resource_group_id=resource_group_id)
        return self._detach_from(self._client.detach_policy_from_role, request, "DetachPolicyFromRole",
                                 f"{role}:{name}", "Role")

    # ------------------------------------------------- users and groups
    # Remediation takes a high-risk policy back from whoever was given it; a
    # role, user, group or policy that is already gone is an outcome, not a failure.
    def _policies_for(self, method: Any, request: Any, action: str, target: str, gone: str) -> list[tuple[str, str]]:
        body = self._call_unless((gone,), method, request, action, target)
        if body is None:
            return []
        items = (body.policies.policy if body.policies else None) or []
        return [(p.policy_type, p.policy_name) for p in items]

    def policies_for_user(self, user: str) -> list[tuple[str, str]]:
        """(kind, name) of every policy attached to ``user``; empty when the user is gone."""
        return self._policies_for(self._client.list_policies_for_user,
                                  self._m.ListPoliciesForUserRequest(user_name=user),
                                  "ListPoliciesForUser", user, "EntityNotExist.User")

    def policies_for_group(self, group: str) -> list[tuple[str, str]]:
        """(kind, name) of every policy attached to ``group``; empty when the group is gone."""
        return self._policies_for(self._client.list_policies_for_group,
                                  self._m.ListPoliciesForGroupRequest(group_name=group),
                                  "ListPoliciesForGroup", group, "EntityNotExist.Group")

    def _detach_from(self, method: Any, request: Any, action: str, target: str, entity: str) -> bool:
        gone = (f"EntityNotExist.{entity}.Policy", f"EntityNotExist.{entity}", "EntityNotExist.Policy")
        return self._call_unless(gone, method, request, action, target) is not None

    def detach_from_user(self, user: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        request = self._m.DetachPolicyFromUserRequest(user_name=user, policy_type=kind, policy_name=name,
                                                      resource_group_id=resource_group_id)
        return self._detach_from(self._client.detach_policy_from_user, request, "DetachPolicyFromUser",
                                 f"{user}:{name}", "User")

    def detach_from_group(self, group: str, kind: str, name: str, resource_group_id: str | None = None) -> bool:
        request = self._m.DetachPolicyFromGroupRequest(group_name=group, policy_type=kind, policy_name=name,
                                                       resource_group_id=resource_group_id)
        return self._detach_from(self._client.detach_policy_from_group, request, "DetachPolicyFromGroup",
                                 f"{group}:{name}", "Group")

    def remove_user_from_group(self, user: str, group: str) -> bool:
        """Take ``user`` out of ``group``; False when the user is not in it (or either is gone)."""
        request = self._m.RemoveUserFromGroupRequest(user_name=user, group_name=group)
        gone = ("EntityNotExist.User.Group", "EntityNotExist.User", "EntityNotExist.Group")
        return self._call_unless(gone, self._client.remove_user_from_group, request, "RemoveUserFromGroup",
                                 f"{group}:{user}") is not None

    def entities_for_policy(self, name: str, kind: str) -> dict[str, list[str]]:
        """Names of the roles, users and groups holding a policy; all empty when the policy is gone."""
        body = self._call_unless(("EntityNotExist.Policy",), self._client.list_entities_for_policy,
                                 self._m.ListEntitiesForPolicyRequest(policy_name=name, policy_type=kind),
                                 "ListEntitiesForPolicy", name)
        if body is None:
            return {"role": [], "user": [], "group": []}
        return {
            "role": [r.role_name for r in (body.roles.role if body.roles else None) or []],
            "user": [u.user_name for u in (body.users.user if body.users else None) or []],
            "group": [g.group_name for g in (body.groups.group if body.groups else None) or []],
        }


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
