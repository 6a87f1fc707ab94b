"""Hypothesis strategies shared by the unit tests, one delimited section per area."""

# ===== grants (shared.grants) ==============================================
import string as _g_string
from datetime import datetime as _g_datetime
from datetime import timedelta as _g_timedelta
from datetime import timezone as _g_timezone

from hypothesis import strategies as _g_st

from shared.grants.model import Grant, PolicyRef
from shared.grants.naming import custom_policy_name, role_name_for
from shared.policies.principals import (
    AccountPrincipal,
    OidcPrincipal,
    RolePrincipal,
    SamlPrincipal,
    ServicePrincipal,
    UserPrincipal,
)

# Sizes are bounded so every grant drawn here fits in 20 tags; the limit itself
# is exercised by explicit tests.
_G_ALNUM = _g_string.ascii_letters + _g_string.digits
_G_LOWER_ALNUM = _g_string.ascii_lowercase + _g_string.digits
_G_PRINTABLE = _g_string.ascii_letters + _g_string.digits + "-._~:/?#[]@!$&'()+,;=%"
_G_EXTERNAL_ID = _g_string.ascii_letters + _g_string.digits + "_+=,.@:/-"
_G_SYSTEM_POLICIES = (
    "AliyunECSReadOnlyAccess", "AliyunOSSReadOnlyAccess", "AliyunRDSReadOnlyAccess",
    "AliyunVPCReadOnlyAccess", "AliyunSLBReadOnlyAccess", "AliyunLogReadOnlyAccess",
    "AliyunCloudMonitorReadOnlyAccess", "AliyunActionTrailReadOnlyAccess", "AliyunKMSReadOnlyAccess",
    "AliyunFCReadOnlyAccess", "AliyunCSReadOnlyAccess", "AliyunRAMReadOnlyAccess",
    "AliyunSTSAssumeRoleAccess", "AliyunECSFullAccess", "AliyunOSSFullAccess", "AliyunRDSFullAccess",
    "AliyunVPCFullAccess", "AliyunSLBFullAccess", "AliyunLogFullAccess", "AliyunFCFullAccess",
    "AliyunCSFullAccess", "AliyunKMSFullAccess", "AliyunDNSReadOnlyAccess", "AliyunCDNReadOnlyAccess",
    "AliyunBSSReadOnlyAccess", "AdministratorAccess",
)

account_ids = _g_st.integers(10**15, 10**16 - 1).map(str)
grant_ids = _g_st.text("abcdefghijklmnopqrstuvwxyz234567", min_size=12, max_size=12).map("g-".__add__)
resource_group_ids = _g_st.none() | _g_st.text(_G_LOWER_ALNUM, min_size=14, max_size=17).map("rg-".__add__)
_g_oidc_values = _g_st.text(_G_PRINTABLE, min_size=1, max_size=32)
_g_oidc_subjects = _g_st.text(_G_PRINTABLE, min_size=1, max_size=48)


def principals(account_id: str, owner_account_id: str | None = None) -> _g_st.SearchStrategy:
    """Any valid principal of the partner ``account_id``, every kind and optional field.

    Federated principals name an identity provider of ``owner_account_id`` (default: ``account_id``).
    """
    owner = owner_account_id or account_id
    name = _g_st.text(_G_ALNUM + ".@_-", min_size=1, max_size=64)
    provider = _g_st.text(_G_ALNUM + ".-", min_size=1, max_size=40)
    return _g_st.one_of(
        _g_st.builds(AccountPrincipal, _g_st.just(account_id),
                     _g_st.none() | _g_st.text(_G_EXTERNAL_ID, min_size=2, max_size=1224)),
        _g_st.builds(UserPrincipal, _g_st.just(account_id), name),
        _g_st.builds(RolePrincipal, _g_st.just(account_id), name),
        _g_st.builds(SamlPrincipal, _g_st.just(owner), provider),
        _g_st.builds(
            OidcPrincipal,
            _g_st.just(owner),
            provider,
            _g_st.text(_G_PRINTABLE, max_size=72).map(lambda rest: "https://" + rest),
            _g_st.lists(_g_oidc_values, min_size=1, max_size=10, unique=True).map(tuple),
            _g_st.lists(_g_oidc_subjects, max_size=10, unique=True).map(tuple),
        ),
        _g_st.text(_G_LOWER_ALNUM + "-", min_size=1, max_size=12)
        .map(lambda product: ServicePrincipal(f"{product}.aliyuncs.com")),
    )


_g_statements = _g_st.fixed_dictionaries({
    "Effect": _g_st.sampled_from(["Allow", "Deny"]),
    "Action": _g_st.sampled_from(["oss:GetObject", "ecs:Describe*", "log:GetLogStore"]),
    "Resource": _g_st.text(_G_ALNUM + "/:*", min_size=1, max_size=40),
})


@_g_st.composite
def policy_sets(draw: _g_st.DrawFn, grant_id: str) -> tuple[PolicyRef, ...]:
    """Up to 20 distinct system policies and up to 10 derived-name custom policies, in any order."""
    system = [
        PolicyRef(name, "System", draw(resource_group_ids))
        for name in draw(_g_st.lists(_g_st.sampled_from(_G_SYSTEM_POLICIES), max_size=20, unique=True))
    ]
    custom = [
        PolicyRef(custom_policy_name(grant_id, i), "Custom", draw(resource_group_ids),
                  document={"Version": "1", "Statement": draw(_g_st.lists(_g_statements, min_size=1, max_size=3))})
        for i in range(draw(_g_st.integers(0, 10)))
    ]
    return tuple(draw(_g_st.permutations(system + custom)))


_g_moments = _g_st.datetimes(
    min_value=_g_datetime(2001, 1, 1), max_value=_g_datetime(2090, 1, 1), timezones=_g_st.just(_g_timezone.utc)
)


@_g_st.composite
def grants(draw: _g_st.DrawFn) -> Grant:
    """An arbitrary valid Grant small enough to be recorded in RAM tags."""
    grant_id = draw(grant_ids)
    partner = draw(account_ids)
    owner = draw(account_ids)
    created = draw(_g_moments)
    requested = draw(_g_st.none() | _g_st.builds(lambda prefix, rest: prefix + rest,
                                                 _g_st.sampled_from(["rolegate-", "Rolegate-", "ROLEGATE-"]),
                                                 _g_st.text(_G_ALNUM + ".-", max_size=55)))
    return Grant(
        grant_id=grant_id,
        owner_account_id=owner,
        partner_account_id=partner,
        principal=draw(principals(partner, owner)),
        policies=draw(policy_sets(grant_id)),
        # Capitals too: a record may name a role a create no longer accepts (requested names are lower-case now).
        role_name=role_name_for(partner, grant_id) if requested is None else requested,
        max_session_duration=draw(_g_st.integers(3600, 43200)),
        created_at=created,
        expires_at=created + draw(_g_st.timedeltas(min_value=_g_timedelta(seconds=1),
                                                  max_value=_g_timedelta(days=3650))),
        requester=draw(_g_st.none() | _g_st.text(_G_PRINTABLE, min_size=1, max_size=64)),
        ticket=draw(_g_st.none() | _g_st.text(_G_PRINTABLE, min_size=1, max_size=32)),
        description=draw(_g_st.none() | _g_st.text(min_size=1, max_size=1024)),
    )
# ===== end grants ==========================================================


# ===== policies (shared.policies) ==========================================
from typing import Any as _p_Any

from shared.policies.document import CONDITION_OPERATORS as _P_OPERATORS

_P_SET_ELEMENTS = ("Action", "NotAction", "Resource", "NotResource")


@_g_st.composite
def principals_with_external_id(draw: _g_st.DrawFn) -> _p_Any:
    """Any principal of any partner account; account principals always carry an external id.

    The missing id is filled in rather than filtered out, so no draw is wasted.
    """
    principal = draw(account_ids.flatmap(principals))
    if isinstance(principal, AccountPrincipal) and principal.external_id is None:
        external_id = draw(_g_st.text(_G_EXTERNAL_ID, min_size=2, max_size=64))
        return AccountPrincipal(principal.account_id, external_id)
    return principal


# Built from small pools rather than regexes: these are drawn thousands of times.
_p_actions = _g_st.just("*") | _g_st.builds(
    "{}:{}{}".format,
    _g_st.sampled_from(["ecs", "oss", "ram", "sts", "fc", "vpc", "log", "ecs-workbench"]),
    _g_st.sampled_from(["Get", "List", "Describe", "PutObject", "RunCommand", "PassRole", "AssumeRole"]),
    _g_st.sampled_from(["", "*", "Instances"]),
)
_p_resources = _g_st.just("*") | _g_st.builds(
    "acs:{}:{}:{}:{}/{}".format,
    _g_st.sampled_from(["oss", "ecs", "ram", "log"]),
    _g_st.sampled_from(["", "*", "cn-hangzhou"]),
    _g_st.sampled_from(["", "*", "1111222233334444"]),
    _g_st.sampled_from(["bucket", "instance", "role", "project"]),
    _g_st.sampled_from(["*", "a", "prod-*", "x1"]),
)
_p_condition_scalars = (
    _g_st.text(_G_PRINTABLE, min_size=1, max_size=8) | _g_st.integers(-5, 5) | _g_st.booleans()
)
_p_conditions = _g_st.dictionaries(
    _g_st.sampled_from(_P_OPERATORS),
    _g_st.dictionaries(
        _g_st.sampled_from(["acs:SourceIp", "acs:CurrentTime", "sts:ExternalId", "ecs:CommandRunAs", "oss:Prefix"]),
        _g_st.lists(_p_condition_scalars, min_size=1, max_size=3, unique_by=repr),
        min_size=1, max_size=2,
    ),
    min_size=1, max_size=2,
)
_p_statements = _g_st.fixed_dictionaries(
    {
        "Effect": _g_st.sampled_from(["Allow", "Deny"]),
        "Action": _g_st.lists(_p_actions, min_size=1, max_size=4, unique=True),
        "Resource": _g_st.lists(_p_resources, min_size=1, max_size=3, unique=True),
    },
    optional={"Condition": _p_conditions, "Sid": _g_st.sampled_from(["Read", "Write", "s1"])},
)
# Well-formed permission policies (no duplicates, every list non-empty): the
# linter must find no grammar problem in any of them.
permission_policies = _g_st.fixed_dictionaries(
    {"Version": _g_st.just("1"), "Statement": _g_st.lists(_p_statements, min_size=1, max_size=3)}
)


@_g_st.composite
def respelled(draw: _g_st.DrawFn, doc: dict[str, _p_Any]) -> dict[str, _p_Any]:
    """``doc`` written differently but meaning the same: reordered keys, lists and statements,
    repeated set entries and statements, one-element lists as bare values and back."""

    def set_spelling(value: _p_Any) -> _p_Any:
        items = draw(_g_st.permutations(value if isinstance(value, list) else [value]))
        if draw(_g_st.booleans()):
            items = items + [draw(_g_st.sampled_from(items))]
        return items[0] if len(items) == 1 and draw(_g_st.booleans()) else items

    def reorder(mapping: dict[str, _p_Any]) -> dict[str, _p_Any]:
        return {key: mapping[key] for key in draw(_g_st.permutations(list(mapping)))}

    def statement(original: dict[str, _p_Any]) -> dict[str, _p_Any]:
        out = dict(original)
        for key in _P_SET_ELEMENTS:
            if key in out:
                out[key] = set_spelling(out[key])
        if isinstance(out.get("Principal"), dict):
            out["Principal"] = reorder({k: set_spelling(v) for k, v in out["Principal"].items()})
        if isinstance(out.get("Condition"), dict):
            out["Condition"] = reorder({
                op: reorder({k: set_spelling(v) for k, v in block.items()})
                for op, block in out["Condition"].items()
            })
        return reorder(out)

    originals = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    spelled = [statement(s) for s in draw(_g_st.permutations(originals))]
    if draw(_g_st.booleans()):
        spelled.append(statement(draw(_g_st.sampled_from(originals))))
    block = spelled[0] if len(spelled) == 1 and draw(_g_st.booleans()) else spelled
    return reorder({**doc, "Statement": block})
# ===== end policies ========================================================


# ===== emulator policy engine (emulator.policy) ============================
from hypothesis import strategies as _e_st

_E_LITERAL = _e_st.text(alphabet=_e_st.characters(min_codepoint=33, max_codepoint=126,
                                                  blacklist_characters="*?"), min_size=1, max_size=24)


def policy_literals() -> _e_st.SearchStrategy[str]:
    """Printable text without the wildcard characters `*` and `?`."""
    return _E_LITERAL


def policy_actions() -> _e_st.SearchStrategy[str]:
    """Action names of the form `service:Operation`."""
    return _e_st.builds(lambda s, o: f"{s}:{o}", _e_st.sampled_from(["ram", "sts", "ecs", "fc"]),
                        _e_st.from_regex(r"[A-Z][A-Za-z]{1,15}", fullmatch=True))


def policy_statements() -> _e_st.SearchStrategy[dict]:
    """Condition-free permission statements mixing Allow/Deny, Action/NotAction and wildcards."""
    patterns = _e_st.one_of(policy_actions(), _e_st.sampled_from(["*", "ram:*", "ram:Get*", "fc:List*", "ecs:?*"]))
    return _e_st.builds(
        lambda effect, key, actions, resource: {"Effect": effect, key: actions, "Resource": resource},
        _e_st.sampled_from(["Allow", "Deny"]), _e_st.sampled_from(["Action", "NotAction"]),
        _e_st.lists(patterns, min_size=1, max_size=3), _e_st.sampled_from(["*", "acs:ram:*:*:role/*", "acs:fc:*"]))
# ===== end emulator policy engine ==========================================


# ===== local host (rolegate.fcruntime) =====================================
import string as _h_string

from hypothesis import strategies as _h_st

# What survives HTTP/1.1 and WSGI untouched: visible ASCII, no comma (the join
# separator), header names without '_' (WSGI servers drop those).
_H_VISIBLE = "".join(chr(c) for c in range(33, 127) if chr(c) != ",")
header_names = _h_st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12).map("X-T-".__add__)
header_value_lists = _h_st.lists(_h_st.text(_H_VISIBLE, min_size=1, max_size=24), min_size=1, max_size=3)
query_names = _h_st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
query_value_lists = _h_st.lists(_h_st.text(_h_string.ascii_letters + _h_string.digits + "-._~ /:", min_size=1,
                                           max_size=16), min_size=1, max_size=3)
request_bodies = _h_st.binary(max_size=256) | _h_st.text(max_size=64).map(lambda t: t.encode("utf-8"))
# ===== end local host ======================================================


# ===== remediation events (shared.events.actiontrail) =====================
from hypothesis import strategies as _r_st

# Any JSON value, and events whose envelope and ActionTrail record hold any
# JSON in any field: the event view must read them without raising.
r_json = _r_st.recursive(
    _r_st.none() | _r_st.booleans() | _r_st.integers() | _r_st.floats(allow_nan=False) | _r_st.text(max_size=20),
    lambda inner: _r_st.lists(inner, max_size=4) | _r_st.dictionaries(_r_st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_R_KEYS = ("eventId", "eventName", "serviceName", "errorCode", "recipientAccountId", "acsRegion", "userIdentity",
           "requestParameters")
_R_PARAMS = ("RoleName", "PolicyName", "PolicyType", "InstanceIds", "ResourceNames", "Tag", "TagKeys", "All",
             "RegionId", "Tag.1.Key", "InstanceIds.1")


@_r_st.composite
def r_records(draw: _r_st.DrawFn) -> dict:
    record = draw(_r_st.dictionaries(_r_st.sampled_from(_R_KEYS), r_json, max_size=len(_R_KEYS)))
    record["eventName"] = draw(_r_st.sampled_from(("AttachPolicyToRole", "TagResources", "AttachInstanceRamRole"))
                               | r_json)
    if draw(_r_st.booleans()):
        record["requestParameters"] = draw(_r_st.dictionaries(_r_st.sampled_from(_R_PARAMS), r_json, max_size=6))
    return record


def r_events() -> _r_st.SearchStrategy:
    return r_json | r_records() | r_records().map(lambda record: {"id": "x", "data": record})
# ===== end remediation events ==============================================


# ===== reliability: hostile input to the functions (tests/reliability) =====
import json as _rl_json
from typing import Any as _rl_Any

from hypothesis import strategies as _rl_st

# Anything a JSON event can carry in a string: every code point, lone surrogates included.
_RL_NASTY = ("", " ", "\x00", "\ud800", "\udfff", "\u202e", "é", "../", "%2e%2e/", "${x}", "{{x}}", "<script>",
            "' OR '1'='1", "\r\nX-Injected: 1", "9" * 40, "-1", "1e999", "NaN", "null", "true", "[]", "{}",
            "g-aaaaaaaaaaaa", "sha256=", "acs:ram::1:root", "*")
hostile_text = (_rl_st.text(_rl_st.characters(codec=None, exclude_categories=()), max_size=30)
                | _rl_st.text(_rl_st.characters(codec=None, categories=["Cs"]), min_size=1, max_size=3)
                | _rl_st.sampled_from(_RL_NASTY))
hostile_scalars = (_rl_st.none() | _rl_st.booleans() | _rl_st.integers() | _rl_st.integers(min_value=2 ** 63)
                   | _rl_st.floats(allow_nan=True, allow_infinity=True) | hostile_text)
json_values = _rl_st.recursive(
    hostile_scalars,
    lambda inner: _rl_st.lists(inner, max_size=4) | _rl_st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12)
http_methods = _rl_st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "post"]) | hostile_text
http_paths = _rl_st.sampled_from(["/grants", "/grants/", "//grants", "/grants/g-aaaaaaaaaaaa", "/grants/../grants",
                                 "/grants/g-aaaaaaaaaaaa/x", "/", "", "grants"]) | hostile_text
signature_header_names = _rl_st.sampled_from(["X-Rolegate-Signature", "x-rolegate-signature", "X-ROLEGATE-SIGNATURE",
                                             "X-Rolegate-Timestamp", "x-rolegate-timestamp", "Content-Type",
                                             "content-type", "Idempotency-Key", "Content-Length"])
hostile_headers = _rl_st.dictionaries(signature_header_names | hostile_text,
                                     hostile_text | _rl_st.lists(hostile_text, max_size=3) | json_values, max_size=5)
# Keys a create body knows, so mutations reach the checks behind the schema as well as the schema itself.
_RL_CREATE_KEYS = ("partner_account_id", "principal", "policies", "duration_seconds", "expires_at", "role_name",
                  "max_session_duration", "requester", "ticket", "description", "dry_run", "idempotency_key")
_RL_PRINCIPAL_KEYS = ("type", "name", "external_id", "provider", "issuer", "audiences", "subjects", "service")


@_rl_st.composite
def mutated_create_bodies(draw: _rl_st.DrawFn, valid: dict) -> dict:
    """``valid`` (a create body) with a few fields replaced, removed or added, at the top or inside."""
    body = {**valid, "principal": dict(valid["principal"]), "policies": [dict(p) for p in valid["policies"]]}
    for _ in range(draw(_rl_st.integers(min_value=1, max_value=3))):
        where = draw(_rl_st.sampled_from(["top", "principal", "policy"]))
        target, keys = body, _RL_CREATE_KEYS
        if where == "principal" and isinstance(body.get("principal"), dict):
            target, keys = body["principal"], _RL_PRINCIPAL_KEYS
        elif where == "policy" and isinstance(body.get("policies"), list) and body["policies"] \
                and all(isinstance(p, dict) for p in body["policies"]):
            target, keys = draw(_rl_st.sampled_from(body["policies"])), ("name", "document", "resource_group_id")
        key = draw(_rl_st.sampled_from(keys) | hostile_text)
        if draw(_rl_st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return body


@_rl_st.composite
def mutated_documents(draw: _rl_st.DrawFn, base: _rl_Any) -> _rl_Any:
    """A deep copy of a JSON document with one to three values somewhere inside replaced or removed."""
    doc = _rl_json.loads(_rl_json.dumps(base))
    for _ in range(draw(_rl_st.integers(min_value=1, max_value=3))):
        parent, key = None, None
        node = doc
        while isinstance(node, (dict, list)) and node and (parent is None or draw(_rl_st.integers(0, 3)) > 0):
            keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
            parent, key = node, draw(_rl_st.sampled_from(keys))
            node = node[key]
        if parent is None:
            return draw(json_values)
        if isinstance(parent, dict) and draw(_rl_st.booleans()):
            parent.pop(key, None)
        else:
            parent[key] = draw(json_values)
    return doc


# Sweep options as a timer payload may spell them: known names with any value, unknown names, non-objects.
_RL_SWEEP_KEYS = ("dry_run", "grace_seconds", "max_revocations", "warn_within_seconds", "max_share")
sweep_payloads = (_rl_st.dictionaries(_rl_st.sampled_from(_RL_SWEEP_KEYS) | hostile_text, json_values, max_size=3)
                  | json_values)
# ===== end reliability =====================================================
