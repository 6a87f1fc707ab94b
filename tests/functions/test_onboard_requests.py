"""Create and update bodies: schema errors with JSON paths, expiry rules, refusal rules, grant identity."""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from shared.errors import ConfigError, InvalidInput, Refused, Unprocessable
from shared.grants.lifecycle import derive_grant_id
from shared.grants.model import PolicyRef
from shared.onboarding.requests import identity_key, parse_create, parse_update
from shared.onboarding.settings import OnboardSettings

OWNER = "1111222233334444"
PARTNER = "5555666677778888"
KMS_KEY = "kms:rolegate-webhook-secret"  # the key as deployed; settings name it, reading it is the webhook's
NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
SETTINGS = OnboardSettings(owner_account_id=OWNER, webhook_secret="x" * 32)
FC_READ = {"name": "AliyunFCReadOnlyAccess"}
CUSTOM_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["fc:GetFunction", "fc:ListFunctions"],
                                             "Resource": "acs:fc:*:*:functions/*"}]}


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"partner_account_id": PARTNER, "principal": {"type": "user", "name": "Alice"},
                            "policies": [FC_READ], "duration_seconds": 3600}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def create(data: Any, settings: OnboardSettings = SETTINGS, header: str | None = None) -> Any:
    return parse_create(data, settings, NOW, header)


def test_minimal_body_becomes_a_grant_with_derived_id_name_and_expiry() -> None:
    """Defaults: derived grant id and role name, one-hour sessions, expiry counted from the cloud's now."""
    parsed = create(body(requester="ops@example.com", ticket="CHG-1"))
    grant = parsed.grant
    assert grant.grant_id.startswith("g-") and grant.role_name == f"rolegate-{PARTNER}-{grant.grant_id}"
    assert (grant.owner_account_id, grant.partner_account_id) == (OWNER, PARTNER)
    assert grant.expires_at == NOW + timedelta(hours=1) and grant.created_at == NOW
    assert grant.max_session_duration == 3600 and grant.requester == "ops@example.com"
    assert grant.policies == (PolicyRef("AliyunFCReadOnlyAccess", "System"),)
    assert parsed.dry_run is False and parsed.warnings == []


def test_custom_documents_get_grant_scoped_names_in_canonical_order() -> None:
    """System policies come first by name, custom ones are named <prefix>p0.. and stored canonically."""
    parsed = create(body(policies=[{"document": CUSTOM_DOC, "resource_group_id": "rg-abc123"},
                                   {"name": "AliyunECSReadOnlyAccess"}, FC_READ]))
    refs = parsed.grant.policies
    assert [r.name for r in refs[:2]] == ["AliyunECSReadOnlyAccess", "AliyunFCReadOnlyAccess"]
    assert refs[2].kind == "Custom" and refs[2].name == f"rolegate-{parsed.grant.grant_id}-p0"
    assert refs[2].resource_group_id == "rg-abc123"
    assert refs[2].document["Statement"][0]["Resource"] == ["acs:fc:*:*:functions/*"]


# ------------------------------------------------------------------ identity
def test_same_content_in_another_order_or_spelling_is_the_same_grant() -> None:
    """Reordered policies, reordered actions and different expiry do not change the grant id."""
    reordered_doc = {"Statement": [{"Resource": ["acs:fc:*:*:functions/*"], "Action": ["fc:ListFunctions",
                     "fc:GetFunction"], "Effect": "Allow"}], "Version": "1"}
    first = create(body(policies=[FC_READ, {"document": CUSTOM_DOC}])).grant
    second = create(body(policies=[{"document": reordered_doc}, FC_READ], duration_seconds=7200)).grant
    assert first.grant_id == second.grant_id and first.policies == second.policies


@pytest.mark.parametrize("change", [
    {"principal": {"type": "user", "name": "Bob"}},
    {"partner_account_id": "9999888877776666"},
    {"policies": [{"name": "AliyunECSReadOnlyAccess"}]},
    {"role_name": "rolegate-partner-b-readonly"},
])
def test_different_content_is_a_different_grant(change: dict[str, Any]) -> None:
    """Principal, partner, policies and role name are what the grant id stands for."""
    assert create(body(**change)).grant.grant_id != create(body()).grant.grant_id


def test_idempotency_key_alone_decides_the_grant_id() -> None:
    """With a key the id is derive_grant_id(owner, key), whatever the content, from body or header."""
    from_body = create(body(idempotency_key="req-42")).grant
    from_header = create(body(principal={"type": "user", "name": "Bob"}), header="req-42").grant
    assert from_body.grant_id == from_header.grant_id == derive_grant_id(OWNER, "req-42")


def test_key_in_header_and_body_must_agree() -> None:
    """Two different keys for one request is ambiguous and refused."""
    with pytest.raises(InvalidInput) as err:
        create(body(idempotency_key="a-1"), header="b-2")
    assert err.value.field == "idempotency_key"


def test_malformed_idempotency_header_is_refused() -> None:
    """The header obeys the same pattern as the body field."""
    with pytest.raises(InvalidInput) as err:
        create(body(), header="has spaces")
    assert err.value.field == "Idempotency-Key"


def test_identity_key_is_canonical_json() -> None:
    """The key is stable JSON (sorted keys, no spaces), so every instance derives the same id."""
    grant = create(body()).grant
    key = identity_key(PARTNER, grant.principal, [{"name": "AliyunFCReadOnlyAccess", "resource_group_id": None}],
                       None)
    assert key.startswith('{"partner":') and " " not in key
    assert grant.grant_id == derive_grant_id(OWNER, key)


def test_owner_account_is_part_of_the_identity() -> None:
    """The same request to two owners' deployments yields two grant ids."""
    other = dataclasses.replace(SETTINGS, owner_account_id="4444333322221111")
    assert create(body(), other).grant.grant_id != create(body()).grant.grant_id


# ------------------------------------------------------------------ schema
@pytest.mark.parametrize("data,field", [
    ("not an object", "$"),
    (body(partner_account_id=None), "partner_account_id"),
    (body(partner_account_id="12345"), "partner_account_id"),
    (body(principal={"type": "account", "external_id": "x"}), "principal.external_id"),
    (body(principal={"type": "user"}), "principal.name"),
    (body(principal={"type": "user", "name": "Alice", "extra": 1}), "principal.extra"),
    (body(principal={"type": "wizard"}), "principal.type"),
    (body(principal={"type": "oidc", "provider": "gh", "issuer": "https://x"}), "principal.audiences"),
    (body(principal={"type": "oidc", "provider": "gh", "issuer": "http://x", "audiences": ["a"]}),
     "principal.issuer"),
    (body(principal={"type": "oidc", "provider": "gh", "issuer": "https://x", "audiences": ["*"]}),
     "principal.audiences[0]"),
    (body(principal={"type": "service", "service": "evil.example.com"}), "principal.service"),
    (body(policies=[]), "policies"),
    (body(policies=[FC_READ, {"name": "Bad Name"}]), "policies[1].name"),
    (body(policies=[{"name": "X", "document": CUSTOM_DOC}]), "policies[0].name"),
    (body(policies=[{"resource_group_id": "rg-1"}]), "policies[0].name"),
    (body(policies=[{"document": "text"}]), "policies[0].document"),
    (body(policies=[{"name": "AliyunFCReadOnlyAccess", "resource_group_id": "default"}]),
     "policies[0].resource_group_id"),
    (body(duration_seconds=None), "duration_seconds"),
    (body(expires_at="2031-01-01T00:00:00Z"), "duration_seconds"),
    (body(duration_seconds="3600"), "duration_seconds"),
    (body(max_session_duration=100), "max_session_duration"),
    (body(role_name="has space"), "role_name"),
    (body(dry_run="yes"), "dry_run"),
    (body(expiry="tomorrow"), "expiry"),
])
def test_schema_problems_are_400_with_the_json_path(data: Any, field: str) -> None:
    """Every shape problem names the offending field as a JSON path."""
    with pytest.raises(InvalidInput) as err:
        create(data)
    assert err.value.field == field
    assert err.value.details["problems"]


def test_schema_messages_do_not_echo_submitted_values() -> None:
    """A rejected value (it may be an ExternalId) is not repeated in the answer."""
    with pytest.raises(InvalidInput) as err:
        create(body(principal={"type": "account", "external_id": "s3cr3t value!"}))
    assert "s3cr3t" not in str(err.value.to_dict())


@pytest.mark.parametrize("data,field", [
    (body(role_name="AliyunServiceRoleForECS"), "role_name"),
    (body(role_name="partner-b-readonly"), "role_name"),  # outside Rolegate's namespace
    (body(policies=[FC_READ, {"name": "aliyunfcreadonlyaccess"}]), "policies[1].name"),
    (body(policies=[{"document": CUSTOM_DOC}, {"document": CUSTOM_DOC}]), "policies[1].document"),
    (body(policies=[{"document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": f"fc:GetA{i}",
                                                                  "Resource": "*"}]}} for i in range(11)]),
     "policies"),
])
def test_value_rules_beyond_the_schema_are_400(data: Any, field: str) -> None:
    """Reserved role names, duplicates and RAM's per-role limits are refused before any cloud call."""
    with pytest.raises(InvalidInput) as err:
        create(data)
    assert err.value.field == field


# ------------------------------------------------------------------ expiry
def test_expires_at_with_an_offset_is_converted_to_utc() -> None:
    """2030-01-02T08:00:00+08:00 is midnight UTC."""
    grant = create(body(duration_seconds=None, expires_at="2030-01-02T08:00:00+08:00")).grant
    assert grant.expires_at == datetime(2030, 1, 2, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["2030-01-02T00:00:00", "next week"])
def test_expires_at_must_be_an_instant_with_an_offset(value: str) -> None:
    """A naive or unparseable time is not guessed at."""
    with pytest.raises(InvalidInput) as err:
        create(body(duration_seconds=None, expires_at=value))
    assert err.value.field == "expires_at"


def test_expiry_in_the_past_is_422() -> None:
    """A grant that would already be over is unprocessable, not malformed."""
    with pytest.raises(Unprocessable) as err:
        create(body(duration_seconds=None, expires_at="2029-12-31T00:00:00Z"))
    assert (err.value.code, err.value.field, err.value.status) == ("ExpiryInPast", "expires_at", 422)


@pytest.mark.parametrize("seconds", [899, 90 * 86400 + 1])
def test_lifetimes_outside_the_limits_are_422(seconds: int) -> None:
    """Defaults: at least 15 minutes, at most 90 days."""
    with pytest.raises(Unprocessable) as err:
        create(body(duration_seconds=seconds))
    assert err.value.code == "ExpiryOutOfRange" and err.value.details["max_seconds"] == 90 * 86400


@pytest.mark.parametrize("seconds", [900, 90 * 86400])
def test_lifetimes_at_the_limits_are_accepted(seconds: int) -> None:
    """Both limits are inclusive."""
    assert create(body(duration_seconds=seconds)).grant.expires_at == NOW + timedelta(seconds=seconds)


def test_the_minimum_lifetime_is_accepted_when_now_has_a_fraction_of_a_second() -> None:
    """Grant times are whole seconds; the clock is not, and must not cut the minimum short."""
    now = NOW.replace(microsecond=700_000)
    grant = parse_create(body(duration_seconds=900), SETTINGS, now).grant
    assert grant.expires_at == NOW + timedelta(seconds=900)


# ------------------------------------------------------------------ refusals
def test_principal_kind_outside_the_allowed_set_is_403() -> None:
    """ROLEGATE_ALLOWED_PRINCIPAL_KINDS narrows which identities a grant may trust."""
    settings = dataclasses.replace(SETTINGS, allowed_principal_kinds=("user",))
    with pytest.raises(Refused) as err:
        create(body(principal={"type": "role", "name": "ci"}), settings)
    assert (err.value.code, err.value.field) == ("PrincipalKindNotAllowed", "principal.type")


def test_account_principal_without_external_id_is_403_when_required() -> None:
    """The confused-deputy guard: trusting a whole account needs an ExternalId unless turned off."""
    with pytest.raises(Refused) as err:
        create(body(principal={"type": "account"}))
    assert (err.value.code, err.value.field) == ("ExternalIdRequired", "principal.external_id")
    relaxed = dataclasses.replace(SETTINGS, require_external_id=False)
    assert create(body(principal={"type": "account"}), relaxed).grant.principal.external_id is None


@pytest.mark.parametrize("name", ["AdministratorAccess", "administratoraccess", "AliyunRAMFullAccess"])
def test_high_risk_system_policies_are_403_whatever_the_case(name: str) -> None:
    """System policies are judged by their published documents, found whatever the case of the name."""
    with pytest.raises(Refused) as err:
        create(body(policies=[FC_READ, {"name": name}]))
    assert (err.value.code, err.value.field) == ("PolicyDenied", "policies[1].name")
    assert {f.severity for f in err.value.findings} == {"critical"}


def test_high_risk_defaults_stay_denied_when_the_deny_list_is_replaced() -> None:
    """ROLEGATE_DENIED_POLICIES adds names to what the judgment refuses; it never re-allows AdministratorAccess."""
    settings = dataclasses.replace(SETTINGS, denied_policies=("AliyunECSFullAccess",))
    for name in ("AliyunECSFullAccess", "AdministratorAccess"):
        with pytest.raises(Refused):
            create(body(policies=[{"name": name}]), settings)


def test_write_power_needs_an_allow_list_entry_and_critical_findings_need_nothing() -> None:
    """By default only read-only catalogued policies pass; listing one with write power lets it through,
    unless the judgment rates it critical (FC full access reaches Rolegate's own functions)."""
    for name in ("AliyunECSFullAccess", "AliyunSTSAssumeRoleAccess", "AliyunFCFullAccess", "AliyunNoSuchAccess"):
        with pytest.raises(Refused) as err:
            create(body(policies=[{"name": name}]))
        assert err.value.code in ("PolicyNotAllowed", "PolicyDenied"), name
    listed = dataclasses.replace(SETTINGS, allowed_policies=("AliyunECSFullAccess", "AliyunFCFullAccess",
                                                             "AliyunNoSuchAccess"))
    parsed = create(body(policies=[{"name": "AliyunECSFullAccess"}, {"name": "AliyunNoSuchAccess"}]), listed)
    assert "RG141" in {f.id for f in parsed.warnings}
    with pytest.raises(Refused) as err:
        create(body(policies=[{"name": "AliyunFCFullAccess"}]), listed)
    assert err.value.code == "PolicyDenied" and "RG150" in {f.id for f in err.value.findings}


def test_allow_list_refuses_everything_else() -> None:
    """A non-empty ROLEGATE_ALLOWED_POLICIES is exhaustive for system policies."""
    settings = dataclasses.replace(SETTINGS, allowed_policies=("AliyunFCReadOnlyAccess",))
    assert create(body(), settings).grant.policies[0].name == "AliyunFCReadOnlyAccess"
    with pytest.raises(Refused) as err:
        create(body(policies=[{"name": "AliyunECSReadOnlyAccess"}]), settings)
    assert err.value.code == "PolicyNotAllowed"


def test_custom_document_with_critical_findings_is_403_with_the_findings() -> None:
    """An administrator-equivalent document is refused and the linter's findings explain why."""
    admin = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    with pytest.raises(Refused) as err:
        create(body(policies=[FC_READ, {"document": admin}]))
    reply = err.value.to_dict()
    assert err.value.field == "policies[1].document"
    assert {f["severity"] for f in reply["findings"]} <= {"high", "critical"}
    assert "RG120" in {f["id"] for f in reply["findings"]}


def test_custom_document_with_only_minor_findings_is_accepted_with_warnings() -> None:
    """Low/medium findings do not refuse the grant; they come back as warnings."""
    doc = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]}
    parsed = create(body(policies=[{"document": doc}]))
    assert parsed.warnings and all(f.severity in ("low", "medium") for f in parsed.warnings)


def test_whether_the_record_fits_is_left_to_the_store_that_seals_it() -> None:
    """Parsing builds no record: GrantStore.create judges the size where it seals the record, once
    (tests/core/test_lifecycle.py), so a create is not sealed twice."""
    def noise(seed: str) -> str:  # incompressible, so the record's zlib cannot shrink it into the tags
        return "".join(hashlib.sha256(f"{seed}{i}".encode()).hexdigest() for i in range(10))

    principal = {"type": "oidc", "provider": "gh", "issuer": "https://token.example.com/",
                 "audiences": [noise(f"a{i}") for i in range(10)], "subjects": [noise(f"s{i}") for i in range(10)]}
    assert len(create(body(principal=principal)).grant.principal.audiences) == 10


# ------------------------------------------------------------------ update
def test_update_accepts_either_form_and_checks_the_same_limits() -> None:
    """duration_seconds counts from now; expires_at is absolute; both obey min/max."""
    assert parse_update({"duration_seconds": 7200}, SETTINGS, NOW).expires_at == NOW + timedelta(hours=2)
    update = parse_update({"expires_at": "2030-02-01T00:00:00Z", "dry_run": True}, SETTINGS, NOW)
    assert update.expires_at == datetime(2030, 2, 1, tzinfo=timezone.utc) and update.dry_run
    with pytest.raises(Unprocessable):
        parse_update({"duration_seconds": 60}, SETTINGS, NOW)
    with pytest.raises(InvalidInput) as err:
        parse_update({"duration_seconds": 7200, "expires_at": "2030-02-01T00:00:00Z"}, SETTINGS, NOW)
    assert err.value.field == "duration_seconds"
    with pytest.raises(InvalidInput) as err:
        parse_update({"expires_at": "2030-02-01T00:00:00Z", "role_name": "x"}, SETTINGS, NOW)
    assert err.value.field == "role_name"


# ------------------------------------------------------------------ settings
def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the secret and an owner are required; the rest has documented defaults."""
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", KMS_KEY)
    monkeypatch.setenv("FC_ACCOUNT_ID", OWNER)
    settings = OnboardSettings.from_env()
    assert settings.owner_account_id == OWNER
    assert settings.denied_policies == () and settings.protected_prefix == "rolegate"
    assert settings.protected_resources == () and settings.protected.resources
    assert settings.allowed_policies == () and settings.require_external_id is True
    assert (settings.min_grant_seconds, settings.max_grant_seconds) == (900, 90 * 86400)
    assert settings.allowed_principal_kinds == ("account", "user", "role", "saml", "oidc", "service")
    assert settings.max_body_bytes == 65536


def test_settings_owner_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_OWNER_ACCOUNT_ID, else FC_ACCOUNT_ID, else the context's account_id."""
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", KMS_KEY)
    context = SimpleNamespace(account_id="9999999999999999")
    assert OnboardSettings.from_env(context).owner_account_id == "9999999999999999"
    monkeypatch.setenv("FC_ACCOUNT_ID", OWNER)
    assert OnboardSettings.from_env(context).owner_account_id == OWNER
    monkeypatch.setenv("ROLEGATE_OWNER_ACCOUNT_ID", PARTNER)
    assert OnboardSettings.from_env(context).owner_account_id == PARTNER


@pytest.mark.parametrize("env,field", [
    ({}, "ROLEGATE_WEBHOOK_SECRET"),
    ({"ROLEGATE_WEBHOOK_SECRET": "short"}, "ROLEGATE_WEBHOOK_SECRET"),
    # No emulator: a key written into the settings is refused.
    ({"ROLEGATE_WEBHOOK_SECRET": "written-into-the-settings"}, "ROLEGATE_WEBHOOK_SECRET"),
    ({"ROLEGATE_WEBHOOK_SECRET": KMS_KEY, "FC_ACCOUNT_ID": "12"}, "ROLEGATE_OWNER_ACCOUNT_ID"),
    ({"ROLEGATE_WEBHOOK_SECRET": KMS_KEY, "ROLEGATE_ALLOWED_PRINCIPAL_KINDS": "user,robot"},
     "ROLEGATE_ALLOWED_PRINCIPAL_KINDS"),
    ({"ROLEGATE_WEBHOOK_SECRET": KMS_KEY, "ROLEGATE_MIN_GRANT_SECONDS": "7200",
      "ROLEGATE_MAX_GRANT_SECONDS": "3600"}, "ROLEGATE_MAX_GRANT_SECONDS"),
    ({"ROLEGATE_WEBHOOK_SECRET": KMS_KEY, "ROLEGATE_REQUIRE_EXTERNAL_ID": "maybe"}, "ROLEGATE_REQUIRE_EXTERNAL_ID"),
    ({"ROLEGATE_WEBHOOK_SECRET": KMS_KEY, "ROLEGATE_PROTECTED_PREFIX": "role*gate"}, "ROLEGATE_PROTECTED_PREFIX"),
    ({"ROLEGATE_WEBHOOK_SECRET": KMS_KEY, "ROLEGATE_PROTECTED_RESOURCES": "secret/x"},
     "ROLEGATE_PROTECTED_RESOURCES"),
])
def test_bad_settings_are_config_errors_naming_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                            field: str) -> None:
    """A misconfigured deployment is a ConfigError (500) naming the variable, never its value."""
    env = {"FC_ACCOUNT_ID": OWNER, **env}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        OnboardSettings.from_env()
    assert err.value.field == field
    assert "short" not in err.value.message and "written-into" not in err.value.message


def test_a_key_in_the_settings_is_refused_in_the_cloud_and_accepted_against_the_emulator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook and notification keys written into the settings: readable by fc:GetFunction, so KMS in the cloud."""
    from shared.notify import NotifySettings

    monkeypatch.setenv("FC_ACCOUNT_ID", OWNER)
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", "s" * 16)
    monkeypatch.setenv("ROLEGATE_NOTIFY_URL", "https://hooks.example.com/rolegate")
    monkeypatch.setenv("ROLEGATE_NOTIFY_SECRET", "n" * 16)
    monkeypatch.delenv("ROLEGATE_ENDPOINT", raising=False)
    for read, variable in ((OnboardSettings.from_env, "ROLEGATE_WEBHOOK_SECRET"),
                           (NotifySettings.from_env, "ROLEGATE_NOTIFY_SECRET")):
        with pytest.raises(ConfigError, match="fc:GetFunction") as refused:
            read()
        assert refused.value.field == variable and "s" * 16 not in refused.value.message
    monkeypatch.setenv("ROLEGATE_NOTIFY_SECRET", "kms:rolegate-notify-secret")
    assert NotifySettings.from_env().secret_name == "rolegate-notify-secret"
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "127.0.0.1:9")
    assert OnboardSettings.from_env().webhook_secret == "s" * 16


def test_protected_resources_follow_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment under another prefix protects that namespace, plus the ARNs it lists."""
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", KMS_KEY)
    monkeypatch.setenv("FC_ACCOUNT_ID", OWNER)
    monkeypatch.setenv("ROLEGATE_PROTECTED_PREFIX", "Gatekeeper")
    monkeypatch.setenv("ROLEGATE_PROTECTED_RESOURCES", "acs:oss:*:*:audit-bucket/*")
    settings = OnboardSettings.from_env()
    assert settings.protected_prefix == "gatekeeper"

    def refused(resource: str, action: str = "fc:UpdateFunction") -> bool:
        doc = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
        try:
            parse_create(body(policies=[{"document": doc}]), settings, NOW)
        except Refused as err:
            return "RG150" in {f.id for f in err.findings}
        return False

    assert refused("acs:fc:*:*:functions/gatekeeper-onboard")
    assert not refused("acs:fc:*:*:functions/rolegate-onboard")
    assert refused("acs:oss:*:*:audit-bucket/trail.log", "oss:PutObject")
    assert not refused("acs:oss:*:*:audit-bucket/trail.log", "oss:GetObject")


def test_settings_never_show_the_secret() -> None:
    """repr (which ends up in logs and tracebacks) omits the webhook secret."""
    assert "x" * 32 not in repr(SETTINGS)
