"""The catalogue of escalation and blinding paths the judgment looks for.

A path is a set of actions, the resources they are dangerous on, its finding
and its source. The target syntax (``{field}``, ``{name}``, ``{free}``):
docs/design/policy-judgment.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from shared.policies.findings import (
    ACTIONTRAIL_ACTIONS,
    ASSUME_ANY_ROLE,
    ATTACH_POLICY,
    AUDIT_BLINDING,
    CREATE_ACCESS_KEY,
    CREATE_IDENTITY,
    CROSS_ACCOUNT,
    ECS_ACTIONS,
    FC_ACTIONS,
    KMS_ACTIONS,
    PASS_ANY_ROLE,
    RAM_ACTIONS,
    REPLACE_POLICY_CONTENT,
    RESOURCE_MANAGER_ACTIONS,
    RUN_FUNCTION_CODE,
    RUN_INSTANCE_COMMANDS,
    STS_ASSUME_ROLE,
    TAG_RAM_RESOURCES,
    UPDATE_ROLE,
    USE_SECRETS,
    FindingKind,
)
from shared.policies.glob import Pattern, target

IMS_ACTIONS = "https://www.alibabacloud.com/help/en/resource-access-management/latest/ims"
RAM_UPDATE_LOGIN_PROFILE = "https://www.alibabacloud.com/help/doc-detail/28688.htm"
RESOURCE_DIRECTORY_OPERATIONS = "https://www.alibabacloud.com/help/en/resource-management/list-of-operations-by-function-1"
EVENTBRIDGE_ACTIONS = "https://www.alibabacloud.com/help/en/eventbridge/developer-reference/api-eventbridge-2020-04-01-ram"
KMS_SECRET_USER = "https://www.alibabacloud.com/help/en/ram/developer-reference/aliyunkmssecretuseraccess"
EVENTBRIDGE_SERVICE_LINKED_ROLES = "https://help.aliyun.com/document_detail/2588709.html"
ECS_INSTANCE_ROLE_POLICY = "https://www.alibabacloud.com/help/en/ram/developer-reference/aliyuncsmanagednlcrolepolicy"

# Resources that make a path dangerous: any of the kind, or (roles) any name not pinned.
ANY_ROLE = "acs:ram:{field}:{field}:role/{free}{name}"
UNPINNED_ROLE = "acs:ram:{field}:{field}:role/{name}{free}{name}"
ANY_USER = "acs:ram:{field}:{field}:user/{free}{name}"
ANY_GROUP = "acs:ram:{field}:{field}:group/{free}{name}"
ANY_POLICY = "acs:ram:{field}:{field}:policy/{free}{name}"
# Resources of a kind, pinned names included: a partner owns no RAM user, group, role or policy in the
# account (those a grant makes are Rolegate's own), so RAM writes that grant power are escalation on any.
SOME_ROLE = "acs:ram:{field}:{field}:role/{name}"
SOME_USER = "acs:ram:{field}:{field}:user/{name}"
SOME_GROUP = "acs:ram:{field}:{field}:group/{name}"
SOME_POLICY = "acs:ram:{field}:{field}:policy/{name}"
SOME_MFA_DEVICE = "acs:ram:{field}:{field}:mfa/{name}"
SOME_SAML_PROVIDER = "acs:ram:{field}:{field}:saml-provider/{name}"
SOME_OIDC_PROVIDER = "acs:ram:{field}:{field}:oidc-provider/{name}"
ANY_FUNCTION = "acs:fc:{field}:{field}:functions/{free}{name}"
ANY_FC2_SERVICE = "acs:fc:{field}:{field}:services/{free}{field}"
ANY_INSTANCE = "acs:ecs:{field}:{field}:instance/{free}{name}"
ANY_SECRET = "acs:kms:{field}:{field}:secret/{free}{name}"
ANY_KEY = "acs:kms:{field}:{field}:key/{free}{name}"
ANY_EVENTBRIDGE_RESOURCE = "acs:eventbridge:{field}:{field}:{free}{field}"
ANY_EVENT_BUS = "acs:eventbridge:{field}:{field}:eventbus/{free}{field}"
ANY_EVENT_RULE = "acs:eventbridge:{field}:{field}:eventbus/{name}/rule/{free}{name}"  # ARN form not found documented
ANYTHING = "*"  # services authorized per operation only (ActionTrail, Resource Directory)
EVERY_RESOURCE = "acs:{free}{field}:{field}:{field}:{free}{field}"


@dataclass(frozen=True)
class Path:
    """One way to escalate or blind: these actions, on resources meeting these targets."""

    rule: FindingKind
    actions: tuple[str, ...]
    targets: tuple[str, ...]
    source: str

    @property
    def compiled_targets(self) -> tuple[Pattern, ...]:
        return _targets(self.targets)


@lru_cache(maxsize=None)
def _targets(texts: tuple[str, ...]) -> tuple[Pattern, ...]:
    return tuple(target(t) for t in texts)


def _ram(*names: str) -> tuple[str, ...]:
    return tuple(f"{service}:{name}" for name in names for service in ("ram", "ims"))


PATHS: tuple[Path, ...] = (
    # identity creation and takeover
    Path(CREATE_ACCESS_KEY, _ram("CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile", "UpdateLoginProfile",
                                "CreateVirtualMFADevice", "BindMFADevice", "UnbindMFADevice",
                                "DeleteVirtualMFADevice"),
         (SOME_USER, SOME_MFA_DEVICE), RAM_UPDATE_LOGIN_PROFILE),
    Path(CREATE_ACCESS_KEY, _ram("SetSecurityPreference"), (ANYTHING,), IMS_ACTIONS),
    Path(CREATE_IDENTITY, _ram("CreateUser", "CreateGroup", "AddUserToGroup", "CreateSAMLProvider",
                              "UpdateSAMLProvider", "CreateOIDCProvider", "UpdateOIDCProvider",
                              "AddClientIdToOIDCProvider", "AddFingerprintToOIDCProvider"),
         (SOME_USER, SOME_GROUP, SOME_SAML_PROVIDER, SOME_OIDC_PROVIDER), RAM_ACTIONS),
    # policy and role mutation
    Path(ATTACH_POLICY, _ram("AttachPolicyToUser", "AttachPolicyToGroup", "AttachPolicyToRole",
                            "DetachPolicyFromUser", "DetachPolicyFromGroup", "DetachPolicyFromRole"),
         (SOME_ROLE, SOME_USER, SOME_GROUP, SOME_POLICY), RAM_ACTIONS),
    Path(ATTACH_POLICY, _ram("AttachPolicy", "DetachPolicy"), (SOME_ROLE, SOME_USER, SOME_GROUP, SOME_POLICY),
         RESOURCE_MANAGER_ACTIONS),
    Path(REPLACE_POLICY_CONTENT, _ram("CreatePolicyVersion", "SetDefaultPolicyVersion"), (SOME_POLICY,),
         RAM_ACTIONS),
    Path(UPDATE_ROLE, _ram("CreateRole", "UpdateRole", "DeleteRole"), (SOME_ROLE,), RAM_ACTIONS),
    Path(TAG_RAM_RESOURCES, _ram("TagResources", "UntagResources"), (ANY_ROLE, ANY_USER, ANY_POLICY), RAM_ACTIONS),
    # handing roles to compute and reaching other roles
    Path(PASS_ANY_ROLE, _ram("PassRole"), (UNPINNED_ROLE,), RAM_ACTIONS),
    Path(ASSUME_ANY_ROLE, ("sts:assumerole",), (UNPINNED_ROLE,), STS_ASSUME_ROLE),
    # code and commands under another identity
    Path(RUN_FUNCTION_CODE, ("fc:CreateFunction", "fc:UpdateFunction", "fc:InvokeFunction", "fc:CreateTrigger",
                             "fc:UpdateTrigger", "fc:CreateService", "fc:UpdateService"),
         (ANY_FUNCTION, ANY_FC2_SERVICE), FC_ACTIONS),
    Path(RUN_INSTANCE_COMMANDS, ("ecs:RunCommand", "ecs:InvokeCommand", "ecs:SendFile", "ecs:StartTerminalSession",
                                 "ecs:AttachInstanceRamRole"), (ANY_INSTANCE,), ECS_ACTIONS),
    Path(RUN_INSTANCE_COMMANDS, ("ecs:ModifyInstanceAttribute", "ecs:ReplaceSystemDisk", "ecs:AttachKeyPair"),
         (ANY_INSTANCE,), ECS_INSTANCE_ROLE_POLICY),
    Path(RUN_INSTANCE_COMMANDS, ("ecs-workbench:LoginInstance",), (ANYTHING,), ECS_ACTIONS),
    # cross-account reach
    Path(CROSS_ACCOUNT, tuple(f"resourcemanager:{name}" for name in (
        "EnableResourceDirectory", "DestroyResourceDirectory", "CreateFolder", "UpdateFolder", "DeleteFolder",
        "MoveAccount", "InviteAccountToResourceDirectory", "AcceptHandshake", "CancelHandshake", "DeclineHandshake",
        "CreateResourceAccount", "CreateCloudAccount", "RemoveCloudAccount", "DeleteAccount", "UpdateAccount",
        "AttachControlPolicy", "DetachControlPolicy", "CreateControlPolicy", "UpdateControlPolicy",
        "DeleteControlPolicy", "EnableControlPolicy", "DisableControlPolicy", "RegisterDelegatedAdministrator",
        "DeregisterDelegatedAdministrator", "SetMemberDeletionPermission")),
         (ANYTHING,), RESOURCE_DIRECTORY_OPERATIONS),
    Path(CROSS_ACCOUNT, tuple(f"resourcemanager:{name}" for name in (
        "CreateResourceGroup", "DeleteResourceGroup", "UpdateResourceGroup", "MoveResources", "AttachPolicy",
        "DetachPolicy", "CreatePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion", "CreateRole",
        "UpdateRole", "DeleteRole", "CreateServiceLinkedRole")) + _ram(
        "CreateResourceGroup", "DeleteResourceGroup", "UpdateResourceGroup"),
         (ANYTHING,), RESOURCE_MANAGER_ACTIONS),
    # audit blinding
    Path(AUDIT_BLINDING, ("actiontrail:StopLogging", "actiontrail:DeleteTrail", "actiontrail:UpdateTrail"),
         (ANYTHING,), ACTIONTRAIL_ACTIONS),
    Path(AUDIT_BLINDING, ("eventbridge:DeleteRule", "eventbridge:DisableRule", "eventbridge:UpdateRule",
                          "eventbridge:PutTargets", "eventbridge:DeleteTargets", "eventbridge:DeleteEventBus"),
         (ANY_EVENTBRIDGE_RESOURCE, ANY_EVENT_BUS, ANY_EVENT_RULE), EVENTBRIDGE_ACTIONS),
    # the service-linked roles that carry ActionTrail's events through EventBridge to remediation
    # (AliyunServiceRoleForEventBridgeSourceActionTrail, AliyunServiceRoleForEventBridgeSendToFC): whether a
    # deletion in use is refused is not documented for them, so any deletion counts
    Path(AUDIT_BLINDING, _ram("DeleteServiceLinkedRole"), (ANYTHING,), EVENTBRIDGE_SERVICE_LINKED_ROLES),
    # secrets and keys (Rolegate's record key is a KMS secret)
    Path(USE_SECRETS, ("kms:GetSecretValue", "kms:PutSecretValue", "kms:UpdateSecret", "kms:DeleteSecret",
                       "kms:RestoreSecret", "kms:UpdateSecretVersionStage", "kms:RotateSecret", "kms:SetSecretPolicy",
                       "kms:UpdateSecretRotationPolicy"), (ANY_SECRET,), KMS_SECRET_USER),
    Path(USE_SECRETS, ("kms:Decrypt", "kms:AsymmetricDecrypt", "kms:ExportDataKey", "kms:ReEncrypt",
                       "kms:SetKeyPolicy"), (ANY_KEY,), KMS_ACTIONS),
)

# Action names the paths list, case-folded, in catalogue order.
PATH_ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(a.casefold() for p in PATHS for a in p.actions))

# Verbs that only read: an action pattern whose fixed name starts with one cannot change anything.
READ_VERBS: tuple[str, ...] = ("get", "list", "describe", "query", "check", "lookup", "search", "batchget",
                               "batchquery", "batchdescribe")
# Reads whose names start with another verb (from the read-only system policies that list them).
READ_ACTIONS: frozenset[str] = frozenset(a.casefold() for a in (
    "ram:GenerateCredentialReport", "eventbridge:EventCenterCheckEnabledOnDefaultBus",
    "eventbridge:EventCenterQueryRun", "eventbridge:EventCenterQueryResult",
))


__all__ = ["ANYTHING", "EVERY_RESOURCE", "PATHS", "PATH_ACTIONS", "Path", "READ_ACTIONS", "READ_VERBS"]
