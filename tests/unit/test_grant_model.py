"""Grant model and resource naming (shared.grants.model, shared.grants.naming)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shared.grants.model import GrantError, PolicyRef, is_grant_id, new_grant_id, parse_iso_z, to_iso_z
from shared.grants.naming import (
    MANAGED_PREFIX,
    custom_policy_grant_id,
    custom_policy_name,
    custom_policy_prefix,
    is_grant_role_name,
    role_name_for,
)
from shared.policies.document import policy_hash
from shared.policies.principals import AccountPrincipal, OidcPrincipal, ServicePrincipal, UserPrincipal
from tests.unit.grant_samples import DOC, GID, OWNER, PARTNER, T0, make_grant

def test_new_grant_ids_are_short_url_safe_and_unique() -> None:
    """Ids must fit role/policy names and never collide in practice."""
    ids = {new_grant_id() for _ in range(2000)}
    assert len(ids) == 2000
    for grant_id in ids:
        assert is_grant_id(grant_id)
        assert len(grant_id) == 14 and grant_id.startswith("g-")


@pytest.mark.parametrize(
    "value", ["", "g-ABCDEFGHIJKL", "g-abcdefghijk", "g-abcdefghijk1", "x-abcdefghijkl", "g-abcdefghijkl\n", None, 7]
)
def test_is_grant_id_rejects_other_shapes(value: object) -> None:
    """Only the generator's shape passes, so a URL path or tag cannot smuggle other text."""
    assert not is_grant_id(value)


@pytest.mark.parametrize("text", ["2030-5-1T12:00:00Z", "2030-05-01T12:00:00Z\n", "2030-05-01T12:00:00+00:00",
                                  "2030-05-01 12:00:00Z"])
def test_parse_iso_z_is_strict(text: str) -> None:
    """Only RAM's exact timestamp form is read back; anything else is an edited tag."""
    with pytest.raises(ValueError):
        parse_iso_z(text)
    assert parse_iso_z(to_iso_z(T0)) == T0


def test_role_arn_keeps_name_case() -> None:
    """The ARN is built from the name as given; RAM's own lowercasing is not guessed at."""
    grant = make_grant(role_name="Partner.Audit-Role")
    assert grant.role_arn == f"acs:ram::{OWNER}:role/Partner.Audit-Role"


def test_is_expired_is_inclusive_at_the_expiry_second() -> None:
    """The sweep deletes a grant exactly at expires_at, not a second later."""
    grant = make_grant()
    assert not grant.is_expired(grant.expires_at - timedelta(seconds=1))
    assert grant.is_expired(grant.expires_at)
    assert grant.is_expired(grant.expires_at + timedelta(microseconds=1))


def test_is_expired_refuses_naive_now() -> None:
    """A naive 'now' would compare local time against UTC."""
    with pytest.raises(GrantError) as info:
        make_grant().is_expired(datetime(2030, 1, 1))
    assert info.value.field == "now"


def test_times_are_normalised_to_utc_whole_seconds() -> None:
    """Tags carry second precision in UTC, so the model stores exactly that."""
    plus2 = timezone(timedelta(hours=2))
    grant = make_grant(created_at=datetime(2030, 5, 1, 14, 0, 0, 999, tzinfo=plus2))
    assert grant.created_at == T0
    assert grant.created_at.tzinfo == timezone.utc and grant.created_at.microsecond == 0


def test_naive_datetimes_are_refused() -> None:
    """A naive time is ambiguous and would be misread by the sweep."""
    with pytest.raises(GrantError) as info:
        make_grant(created_at=datetime(2030, 5, 1))
    assert info.value.field == "created_at"


def test_with_expiry_changes_only_the_expiry() -> None:
    """Extension must not touch any other part of the grant."""
    grant = make_grant()
    later = grant.with_expiry(T0 + timedelta(days=30))
    assert later.expires_at == T0 + timedelta(days=30)
    assert later.with_expiry(grant.expires_at) == grant


def test_expiry_must_follow_creation() -> None:
    """A grant cannot end before it starts, including through with_expiry."""
    with pytest.raises(GrantError) as info:
        make_grant().with_expiry(T0)
    assert info.value.field == "expires_at"


def test_public_dict_is_json_with_z_times_and_no_documents() -> None:
    """Replies show hashes, not policy documents, and use RAM's time format."""
    custom = PolicyRef(custom_policy_name(GID, 0), "Custom", "rg-acfmxazb4ph6aiy", document=DOC)
    grant = make_grant(policies=(PolicyRef("AliyunECSReadOnlyAccess", "System"), custom))
    out = json.loads(json.dumps(grant.to_public_dict()))
    assert out["created_at"] == "2030-05-01T12:00:00Z"
    assert out["expires_at"] == "2030-05-08T12:00:00Z"
    assert out["principal"] == {"type": "user", "name": "Alice"}
    assert out["role_arn"] == grant.role_arn
    assert out["policies"] == [
        {"name": "AliyunECSReadOnlyAccess", "type": "System", "resource_group_id": None, "document_hash": None},
        {"name": custom.name, "type": "Custom", "resource_group_id": "rg-acfmxazb4ph6aiy",
         "document_hash": policy_hash(DOC)},
    ]
    assert "Statement" not in json.dumps(out)


def test_custom_policy_hash_is_the_project_policy_hash() -> None:
    """The recorded hash is the one drift detection recomputes from RAM's copy, so spelling cannot matter."""
    respelled = {"Statement": {"Resource": ["*"], "Action": "oss:GetObject", "Effect": "Allow"}, "Version": "1"}
    assert PolicyRef("p-1", "Custom", document=respelled).document_hash == policy_hash(DOC)


def test_custom_policy_equality_ignores_the_document() -> None:
    """A reference read from tags (hash only) equals the one created with the document."""
    created = PolicyRef("p-1", "Custom", document=DOC)
    assert PolicyRef("p-1", "Custom", document_hash=policy_hash(DOC)) == created


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "p_1", "kind": "System"}, "name"),
        ({"name": "p1\n", "kind": "System"}, "name"),
        ({"name": "x" * 129, "kind": "System"}, "name"),
        ({"name": "p", "kind": "system"}, "kind"),
        ({"name": "p", "kind": "System", "document": DOC}, "document"),
        ({"name": "p", "kind": "Custom"}, "document_hash"),
        ({"name": "p", "kind": "Custom", "document_hash": "ab"}, "document_hash"),
        ({"name": "p", "kind": "Custom", "document": DOC, "document_hash": "0" * 16}, "document_hash"),
        ({"name": "p", "kind": "Custom", "document_hash": "A" * 16}, "document_hash"),
        ({"name": "p", "kind": "Custom", "document": {"Version": float("nan")}}, "document"),
        ({"name": "p", "kind": "System", "resource_group_id": "default"}, "resource_group_id"),
    ],
)
def test_policy_ref_rejects_invalid_values(kwargs: dict, field: str) -> None:
    """Bad policy references fail at construction, naming the field."""
    with pytest.raises(GrantError) as info:
        PolicyRef(**kwargs)
    assert info.value.field == field


def test_policy_limits_match_ram_quotas() -> None:
    """20 system and 10 custom policies are accepted; one more of either is refused."""
    system = tuple(PolicyRef(f"Sys-{i}", "System") for i in range(21))
    custom = tuple(PolicyRef(custom_policy_name(GID, i), "Custom", document=DOC) for i in range(10))
    assert len(make_grant(policies=system[:20] + custom).policies) == 30
    with pytest.raises(GrantError, match="20 system"):
        make_grant(policies=system)
    with pytest.raises(GrantError, match="10 custom"):
        make_grant(policies=custom + (PolicyRef("extra", "Custom", document=DOC),))


def test_duplicate_policy_is_refused() -> None:
    """Attaching the same policy twice would fail half-way through create."""
    policy = PolicyRef("AliyunECSReadOnlyAccess", "System")
    with pytest.raises(GrantError) as info:
        make_grant(policies=[policy, policy])
    assert info.value.field == "policies[1].name"


def test_policies_list_is_frozen_into_a_tuple() -> None:
    """A Grant must stay immutable even when built from a list."""
    assert isinstance(make_grant(policies=[PolicyRef("A", "System")]).policies, tuple)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"grant_id": "g-1"}, "grant_id"),
        ({"owner_account_id": "123"}, "owner_account_id"),
        ({"partner_account_id": "123"}, "partner_account_id"),
        ({"principal": UserPrincipal("9999999999999999", "Alice")}, "principal"),
        ({"principal": {"type": "user", "name": "Alice"}}, "principal"),
        ({"principal": OidcPrincipal(OWNER, "gh", "https://t", ("a", "a"))}, "principal"),
        ({"principal": OidcPrincipal(OWNER, "gh", "http://t", ("a",))}, "principal.issuer"),
        ({"principal": OidcPrincipal(PARTNER, "gh", "https://t", ("a",))}, "principal"),
        ({"role_name": "r" * 65}, "role_name"),
        ({"role_name": "has_underscore"}, "role_name"),
        ({"max_session_duration": 3599}, "max_session_duration"),
        ({"max_session_duration": 43201}, "max_session_duration"),
        ({"max_session_duration": True}, "max_session_duration"),
        ({"description": "d" * 1025}, "description"),
        ({"description": ""}, "description"),
        ({"ticket": "t" * 129}, "ticket"),
        ({"requester": "r" * 257}, "requester"),
        ({"policies": "AliyunECSReadOnlyAccess"}, "policies"),
    ],
)
def test_grant_rejects_invalid_values(changes: dict, field: str) -> None:
    """Every invalid field is refused with its name, so nothing unrecordable is ever created."""
    with pytest.raises(GrantError) as info:
        make_grant(**changes)
    assert info.value.field == field


def test_service_principal_needs_no_partner_account_match() -> None:
    """A service principal has no account; the grant still names its partner."""
    assert make_grant(principal=ServicePrincipal("ecs.aliyuncs.com")).partner_account_id == PARTNER


def test_account_principal_accepts_the_longest_external_id() -> None:
    """STS allows 1224-char ExternalIds; the model must too."""
    assert make_grant(principal=AccountPrincipal(PARTNER, "x" * 1224)).principal.external_id == "x" * 1224


def test_default_role_name_names_partner_and_grant() -> None:
    """The derived role name is stable per grant and valid for CreateRole."""
    name = role_name_for(PARTNER, GID)
    assert name == f"rolegate-{PARTNER}-{GID}"
    assert name.startswith(MANAGED_PREFIX) and len(name) <= 64
    assert make_grant(role_name=name).role_name == name


def test_requested_role_name_is_used_when_valid() -> None:
    """A partner may pick a 64-char name of lower-case letters, digits, '.' and '-' inside Rolegate's namespace."""
    requested = "rolegate-partner.role-" + "x" * 42
    assert len(requested) == 64
    assert role_name_for(PARTNER, GID, requested) == requested
    assert is_grant_role_name(requested) and is_grant_role_name(role_name_for(PARTNER, GID))


@pytest.mark.parametrize(
    "requested", ["", "x" * 65, "bad name", "under_score", "at@sign", "trailing\n", "AliyunServiceRoleForECS",
                  "Partner.Role", "admin", "rolegate", "xrolegate-audit", "rolegate-" + "x" * 56,
                  "Rolegate-audit", "rolegate-Partner.Role"]
)
def test_invalid_requested_role_names_are_refused(requested: str) -> None:
    """Names RAM would refuse, or outside Rolegate's namespace (``rolegate-``), fail early with field role_name."""
    with pytest.raises(GrantError) as info:
        role_name_for(PARTNER, GID, requested)
    assert info.value.field == "role_name"


def test_default_role_name_validates_its_inputs() -> None:
    """A malformed partner or grant id cannot produce a misleading role name."""
    with pytest.raises(GrantError) as info:
        role_name_for("12", GID)
    assert info.value.field == "partner_account_id"
    with pytest.raises(GrantError) as info:
        role_name_for(PARTNER, "g-NOPE")
    assert info.value.field == "grant_id"


def test_custom_policy_names_are_deterministic_and_share_the_grant_prefix() -> None:
    """Retries find the same names; revoke finds orphans by the grant's prefix only."""
    names = [custom_policy_name(GID, i) for i in range(10)]
    assert names == [custom_policy_name(GID, i) for i in range(10)]
    assert len(set(names)) == 10
    assert all(n.startswith(custom_policy_prefix(GID)) and len(n) <= 128 for n in names)
    assert names[0] == "rolegate-g-abcdefghij23-p0"
    assert not custom_policy_name("g-abcdefghij24", 0).startswith(custom_policy_prefix(GID))
    PolicyRef(names[9], "Custom", document=DOC)  # valid policy name


def test_custom_policy_grant_id_inverts_the_name_exactly() -> None:
    """The sweep reads a policy's grant from its name: only a name custom_policy_name gives yields one."""
    assert [custom_policy_grant_id(custom_policy_name(GID, i)) for i in (0, 9)] == [GID, GID]
    for name in ("ops-readonly", custom_policy_prefix(GID) + "notes", custom_policy_prefix(GID) + "p10",
                 custom_policy_prefix(GID) + "p01", custom_policy_prefix(GID) + "p", "rolegate-g-ABCDEFGHIJ23-p0",
                 "rolegate-" + PARTNER + "-" + GID, MANAGED_PREFIX + "p0"):
        assert custom_policy_grant_id(name) is None, name


@pytest.mark.parametrize("index", [-1, 10, True, "0"])
def test_custom_policy_index_is_bounded(index: object) -> None:
    """A role holds at most 10 custom policies, so no 11th name exists."""
    with pytest.raises(GrantError):
        custom_policy_name(GID, index)  # type: ignore[arg-type]
