"""Everything the policy judgment can say, in one catalogue: each rule's id, severity and wording.

Ids are stable (callers, alert filters and lint exceptions name them): RG0xx
grammar, RG1xx risk, RG15x reach into Rolegate's own resources
(docs/design/policy-judgment.md).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from shared.policies.document import CONDITION_OPERATORS, MAX_POLICY_CHARS

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Finding:
    """One problem at one place.

    ``path`` is a JSON path such as ``$.Statement[0].Action[1]``; ``statement``
    is the path of the statement it belongs to (empty for the document as a
    whole); ``source`` is the documentation the rule rests on (empty for
    grammar).
    """

    id: str
    severity: Severity
    message: str
    path: str
    hint: str
    statement: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id, "severity": self.severity, "message": self.message,
            "path": self.path, "hint": self.hint, "statement": self.statement, "source": self.source,
        }


@dataclass(frozen=True)
class FindingKind:
    """Catalogue entry; ``template`` is formatted with the details a check supplies."""

    id: str
    severity: Severity
    title: str
    hint: str
    template: str
    source: str = ""

    def at(self, path: str, *, statement: str = "", source: str | None = None, **details: Any) -> Finding:
        return Finding(self.id, self.severity, self.template.format(**details), path, self.hint,
                       statement, self.source if source is None else source)


def severity_rank(severity: Severity) -> int:
    """Position in ``SEVERITIES``; higher is worse."""
    return SEVERITIES.index(severity)


def max_severity(findings: Iterable[Finding]) -> Severity | None:
    """The worst severity among ``findings``, or None when there are none."""
    worst = max((severity_rank(f.severity) for f in findings), default=None)
    return None if worst is None else SEVERITIES[worst]


# --- grammar -----------------------------------------------------------------

NOT_AN_OBJECT = FindingKind(
    "RG001", "high", "Document is not a JSON object",
    "Send one JSON object with Version and Statement (comments are not JSON).",
    "{reason}",
)
BAD_VERSION = FindingKind(
    "RG002", "high", "Version is not \"1\"",
    "Set \"Version\": \"1\" (a string); RAM knows no other policy version.",
    "Version must be the string \"1\", got {value}",
)
BAD_STATEMENT_BLOCK = FindingKind(
    "RG003", "high", "Statement missing or empty",
    "Give Statement as one statement object or a non-empty list of them.",
    "Statement must be an object or a non-empty array of objects, got {value}",
)
STATEMENT_NOT_OBJECT = FindingKind(
    "RG004", "high", "Statement entry is not an object",
    "Each entry of Statement is an object with Effect, Action and (in permission policies) Resource.",
    "a statement must be an object, got {kind}",
)
BAD_EFFECT = FindingKind(
    "RG005", "high", "Effect is not Allow or Deny",
    "Use \"Effect\": \"Allow\" or \"Effect\": \"Deny\" (case as shown).",
    "Effect must be \"Allow\" or \"Deny\", got {value}",
)
MISSING_ELEMENT = FindingKind(
    "RG006", "high", "Required element missing",
    "Add the element; a statement needs Effect, Action (or NotAction), and Resource "
    "(or NotResource) in permission policies or Principal in trust policies.",
    "statement has no {key}",
)
CONFLICTING_ELEMENTS = FindingKind(
    "RG007", "high", "Element and its Not- form both present",
    "Keep exactly one of the pair; together their meaning is ambiguous.",
    "statement has both {first} and {second}",
)
BAD_VALUE_LIST = FindingKind(
    "RG008", "high", "Value is not a string or a list of strings",
    "Write a string or a non-empty array of non-empty strings.",
    "{key} must be a non-empty string or a non-empty array of them, got {value}",
)
BAD_ACTION = FindingKind(
    "RG009", "high", "Action is not service:Action",
    "Write actions as <service>:<ActionName> (wildcards * and ? allowed), or \"*\".",
    "action {value} is not of the form service:Action",
)
BAD_RESOURCE = FindingKind(
    "RG010", "high", "Resource is not an ARN",
    "Write resources as \"*\" or acs:<service>:<region>:<account-id>:<relative-id>.",
    "resource {value} is neither \"*\" nor an acs:<service>:<region>:<account>:<id> ARN",
)
PRINCIPAL_NOT_OBJECT = FindingKind(
    "RG011", "high", "Principal is not an object",
    "Write Principal as an object keyed by RAM, Service or Federated.",
    "Principal must be an object keyed by RAM, Service or Federated, got {value}",
)
BAD_PRINCIPAL_VALUE = FindingKind(
    "RG012", "high", "Principal value malformed",
    "RAM: acs:ram::<uid>:root|user/<name>|role/<name>; Federated: "
    "acs:ram::<uid>:saml-provider/<name>|oidc-provider/<name>; Service: <name>.aliyuncs.com.",
    "{value} is not a valid {kind} principal",
)
PRINCIPAL_IN_PERMISSION_POLICY = FindingKind(
    "RG013", "high", "Principal in a permission policy",
    "Remove Principal; who holds a permission policy is decided by attaching it. "
    "Principals belong in the role's trust policy.",
    "permission policies take no Principal",
)
CONDITION_NOT_OBJECT = FindingKind(
    "RG014", "high", "Condition block malformed",
    "Write Condition as {\"<Operator>\": {\"<prefix:Key>\": <value or array>}}.",
    "{key} must be a non-empty object, got {value}",
)
UNKNOWN_OPERATOR = FindingKind(
    "RG015", "high", "Unknown condition operator",
    "Use one of: " + ", ".join(CONDITION_OPERATORS) + ".",
    "unknown condition operator {value}",
)
BAD_CONDITION_KEY = FindingKind(
    "RG016", "high", "Condition key malformed",
    "Condition keys look like prefix:Name, e.g. acs:SourceIp or sts:ExternalId.",
    "condition key {value} is not of the form prefix:Name",
)
BAD_CONDITION_VALUE = FindingKind(
    "RG017", "high", "Condition value malformed",
    "Give a string, number or boolean, or a non-empty array of them.",
    "condition {key} needs a string, number or boolean or a non-empty array of them, got {value}",
)
UNKNOWN_KEY = FindingKind(
    "RG018", "high", "Unknown key",
    "Remove or correct the key: RAM rejects keys it does not know, and a misspelt "
    "Condition would silently lose its restriction.",
    "unknown key {key} in {where}",
)
TOO_LARGE = FindingKind(
    "RG019", "high", "Policy document too large",
    f"Split the policy; RAM accepts custom policy documents of at most {MAX_POLICY_CHARS} characters.",
    "document is {size} characters, more than {limit}",
)
DUPLICATE_ENTRY = FindingKind(
    "RG020", "low", "Duplicate entry",
    "Remove the repeated value; it has no effect.",
    "{key} lists {value} more than once",
)

# --- trust risk --------------------------------------------------------------

WILDCARD_PRINCIPAL = FindingKind(
    "RG101", "critical", "Anyone may assume the role",
    "Name exactly one account, user, role, identity provider or service; never \"*\".",
    "principal {value} lets any identity assume the role",
)
ANY_ACCOUNT_PRINCIPAL = FindingKind(
    "RG102", "critical", "Principal spans accounts",
    "Put one literal 16-digit account id in the ARN; masked or wildcard ids match other accounts.",
    "principal {value} has a wildcard account id, so identities of other accounts match",
)
ROOT_WITHOUT_EXTERNAL_ID = FindingKind(
    "RG103", "high", "Account trusted without ExternalId",
    "Add \"Condition\": {\"StringEquals\": {\"sts:ExternalId\": \"<secret id>\"}} "
    "so only callers that know the agreed id can assume the role (confused deputy).",
    "trusts account root {value} without a StringEquals sts:ExternalId condition",
)
WILDCARD_NAME_PRINCIPAL = FindingKind(
    "RG104", "high", "Principal name is a wildcard",
    "Name one user, role or provider instead of a pattern.",
    "principal {value} uses a wildcard name and matches many identities",
)
TRUST_ACTION_NOT_ASSUME_ROLE = FindingKind(
    "RG105", "medium", "Trust statement allows more than sts:AssumeRole",
    "Trust statements need only \"Action\": \"sts:AssumeRole\".",
    "trust statement allows {value}; only sts:AssumeRole is meaningful here",
)
SAML_WITHOUT_RECIPIENT = FindingKind(
    "RG106", "medium", "SAML trust without recipient condition",
    "Add \"Condition\": {\"StringEquals\": {\"saml:recipient\": <the site's SAML endpoint>}}: "
    "https://signin.aliyun.com/saml-role/sso (China site) or https://signin.alibabacloud.com/saml-role/sso "
    "(international site).",
    "SAML provider {value} is trusted without a StringEquals saml:recipient condition",
)
OIDC_WITHOUT_AUDIENCE = FindingKind(
    "RG107", "high", "OIDC trust without issuer and audience",
    "Add StringEquals conditions on oidc:iss and oidc:aud so only your client's tokens fit.",
    "OIDC provider {value} is trusted without StringEquals {missing}",
)

# --- permission risk ---------------------------------------------------------
# Where the rules below come from (Alibaba Cloud's RAM references; the paths
# in ``paths.py`` name the page of each action they list).
POLICY_SYNTAX = "https://www.alibabacloud.com/help/doc-detail/93732.htm"
RAM_ACTIONS = "https://www.alibabacloud.com/help/en/ram/api-ram"
STS_ASSUME_ROLE = "https://www.alibabacloud.com/help/en/ram/api-assumerole"
FC_ACTIONS = "https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/developer-reference/api-fc-2023-03-30-ram"
ECS_ACTIONS = "https://www.alibabacloud.com/help/en/ecs/authentication-rules"
RESOURCE_MANAGER_ACTIONS = "https://www.alibabacloud.com/help/en/resource-management/developer-reference/ram-authorization"
ACTIONTRAIL_ACTIONS = "https://www.alibabacloud.com/help/doc-detail/103029.html"
KMS_ACTIONS = "https://www.alibabacloud.com/help/doc-detail/28953.html"

WILDCARD_ACTION = FindingKind(
    "RG110", "high", "Every action allowed",
    "List the actions the partner needs instead of \"*\".",
    "action {value} allows every action of every service", POLICY_SYNTAX,
)
SERVICE_WILDCARD = FindingKind(
    "RG111", "medium", "Every action of a service allowed",
    "List the service's actions the partner needs, or use patterns such as Get*/List*.",
    "action {value} allows every action of {service}", POLICY_SYNTAX,
)
ALLOW_NOT_ACTION = FindingKind(
    "RG112", "high", "Allow with NotAction",
    "Allow + NotAction grants every action not listed, including future ones; list actions instead.",
    "Allow with NotAction grants every action except the {count} listed", POLICY_SYNTAX,
)
ALLOW_NOT_RESOURCE = FindingKind(
    "RG113", "medium", "Allow with NotResource",
    "Allow + NotResource grants every resource not listed; list resources instead.",
    "Allow with NotResource grants every resource except those listed", POLICY_SYNTAX,
)
ADMIN_EQUIVALENT = FindingKind(
    "RG120", "critical", "Administrator equivalent",
    "Never grant every action on every resource; this is AdministratorAccess under another name.",
    "statement allows {what} on every resource", POLICY_SYNTAX,
)
RAM_FULL_ACCESS = FindingKind(
    "RG130", "critical", "All of RAM allowed",
    "RAM can create users, keys and policies and so grant anything; allow read actions only.",
    "action {value} allows every RAM action, which can grant any permission", RAM_ACTIONS,
)
PASS_ANY_ROLE = FindingKind(
    "RG131", "high", "PassRole on roles not pinned to one name",
    "Name each role ram:PassRole may hand to a service by its exact ARN; a wildcard in the name reaches "
    "roles the holder does not own.",
    "{value} can pass roles whose name is not fixed to a cloud service ({covered})", RAM_ACTIONS,
)
ASSUME_ANY_ROLE = FindingKind(
    "RG132", "high", "AssumeRole on roles not pinned to one name",
    "Name each role sts:AssumeRole may reach by its exact ARN; a wildcard in the name reaches every role "
    "that trusts this account.",
    "{value} can assume roles whose name is not fixed ({covered})", STS_ASSUME_ROLE,
)
ATTACH_POLICY = FindingKind(
    "RG133", "high", "Can attach or detach policies",
    "Attaching policies lets the holder grant itself anything, detaching them undoes guardrails; do not "
    "delegate either, not even on one named principal or policy: a partner owns none in the account.",
    "{value} can change which policies principals hold ({covered})", RAM_ACTIONS,
)
CREATE_ACCESS_KEY = FindingKind(
    "RG134", "high", "Can take over other users' credentials",
    "Access keys, console passwords and MFA devices of other users let the holder act as them; do not delegate.",
    "{value} can create or change credentials of users ({covered})", RAM_ACTIONS,
)
UPDATE_ROLE = FindingKind(
    "RG135", "high", "Can create, rewrite or delete roles",
    "Creating roles, rewriting who may assume them or deleting them changes who holds which access; "
    "do not delegate it, not even on one named role: a partner owns none in the account.",
    "{value} can create, rewrite or delete roles ({covered})", RAM_ACTIONS,
)
REPLACE_POLICY_CONTENT = FindingKind(
    "RG136", "high", "Can rewrite policy content",
    "New or default policy versions change what every holder of the policy may do; do not delegate.",
    "{value} can replace the content of existing policies ({covered})", RAM_ACTIONS,
)
CREATE_IDENTITY = FindingKind(
    "RG137", "high", "Can create identities or memberships",
    "New users, groups, group memberships and identity providers are ways in; do not delegate them.",
    "{value} can create identities, group memberships or identity providers ({covered})", RAM_ACTIONS,
)
TAG_RAM_RESOURCES = FindingKind(
    "RG138", "high", "Can tag RAM resources",
    "Grant records live in role tags; tagging RAM resources can rewrite or erase them. Do not delegate.",
    "{value} can tag or untag RAM resources ({covered})", RAM_ACTIONS,
)
RUN_FUNCTION_CODE = FindingKind(
    "RG140", "high", "Can run code as a function's role",
    "Creating, updating or invoking functions runs code with the function's role; limit these actions to "
    "the partner's own functions by name.",
    "{value} can run code under functions' roles ({covered})", FC_ACTIONS,
)
RUN_INSTANCE_COMMANDS = FindingKind(
    "RG141", "high", "Can run commands on instances",
    "Commands, files, terminal sessions, user data, system disks, key pairs and instance roles all run code "
    "as the instance and its role; limit these actions to the partner's own instances.",
    "{value} can run code on ECS instances ({covered})", ECS_ACTIONS,
)
CROSS_ACCOUNT = FindingKind(
    "RG142", "high", "Can change the resource directory or resource groups",
    "Resource Directory and resource-group writes move accounts, roles and control policies across "
    "accounts; do not delegate them.",
    "{value} can change the resource directory or resource groups ({covered})", RESOURCE_MANAGER_ACTIONS,
)
AUDIT_BLINDING = FindingKind(
    "RG143", "high", "Can blind the audit trail",
    "Stopping, deleting or re-pointing the trail, changing EventBridge rules and targets, or deleting the "
    "service-linked roles that carry the events, hides changes from remediation; do not delegate.",
    "{value} can stop or redirect audit events ({covered})", ACTIONTRAIL_ACTIONS,
)
USE_SECRETS = FindingKind(
    "RG144", "high", "Can read secrets or decrypt",
    "Secret values and decryption with others' keys expose credentials (Rolegate's record key among them); "
    "name the partner's own secrets and keys only.",
    "{value} can read or change secrets, or decrypt with keys ({covered})", KMS_ACTIONS,
)
PROTECTED_RESOURCE = FindingKind(
    "RG150", "critical", "Reaches Rolegate's own resources",
    "A grant must not be able to change Rolegate's functions, their roles and policies, the grants, the "
    "record key or the audit feed; exclude them from Resource (or use a dedicated account for Rolegate).",
    "statement reaches Rolegate's own resources: {reached}", "",
)

CATALOGUE: Mapping[str, FindingKind] = MappingProxyType({
    rule.id: rule
    for rule in (
        NOT_AN_OBJECT, BAD_VERSION, BAD_STATEMENT_BLOCK, STATEMENT_NOT_OBJECT, BAD_EFFECT,
        MISSING_ELEMENT, CONFLICTING_ELEMENTS, BAD_VALUE_LIST, BAD_ACTION, BAD_RESOURCE,
        PRINCIPAL_NOT_OBJECT, BAD_PRINCIPAL_VALUE, PRINCIPAL_IN_PERMISSION_POLICY,
        CONDITION_NOT_OBJECT, UNKNOWN_OPERATOR, BAD_CONDITION_KEY, BAD_CONDITION_VALUE,
        UNKNOWN_KEY, TOO_LARGE, DUPLICATE_ENTRY,
        WILDCARD_PRINCIPAL, ANY_ACCOUNT_PRINCIPAL, ROOT_WITHOUT_EXTERNAL_ID,
        WILDCARD_NAME_PRINCIPAL, TRUST_ACTION_NOT_ASSUME_ROLE, SAML_WITHOUT_RECIPIENT,
        OIDC_WITHOUT_AUDIENCE,
        WILDCARD_ACTION, SERVICE_WILDCARD, ALLOW_NOT_ACTION, ALLOW_NOT_RESOURCE,
        ADMIN_EQUIVALENT, RAM_FULL_ACCESS, PASS_ANY_ROLE, ASSUME_ANY_ROLE, ATTACH_POLICY,
        CREATE_ACCESS_KEY, UPDATE_ROLE, REPLACE_POLICY_CONTENT, CREATE_IDENTITY, TAG_RAM_RESOURCES,
        RUN_FUNCTION_CODE, RUN_INSTANCE_COMMANDS, CROSS_ACCOUNT, AUDIT_BLINDING, USE_SECRETS,
        PROTECTED_RESOURCE,
    )
})
