"""``rolegate verify`` reads the named webhook clients' secret as the onboard function does, and says what is wrong.

It runs with the onboard function's own identity (a RAM user holding exactly
deploy/policies/onboard.json) and environment, so a pass means the function
can read the secret too. No secret ever appears in what it prints.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from rolegate.cli import main
from rolegate.project import REPO_ROOT
from rolegate.verify import DEFAULT_LOG_PROJECT
from tests.emulator.helpers import kms_client
from tests.functions.clients_support import Lab, entry, lab  # noqa: F401
from tests.functions.conftest import fc_context, fc_env, owner, partner  # noqa: F401

PORTAL = "portal-secret-0123456789abcdef"
AUDITOR = "auditor-secret-0123456789abcdef"
ADMIN = "admin-secret-0123456789abcdef00"
OLD = "replaced-secret-0123456789abcdef"
PASTED = "9f" * 32  # a secret (as `rolegate clients add` makes them) pasted where a name belongs
SECRETS = (PORTAL, AUDITOR, ADMIN, OLD, PASTED)
Verify = Callable[[], tuple[Result, dict[str, Any]]]


@pytest.fixture
def verify(lab: Lab) -> Verify:
    """``rolegate verify --function onboard --json`` in the function's environment; the result and its checks."""
    def run() -> tuple[Result, dict[str, Any]]:
        result = CliRunner().invoke(main, ["verify", "--function", "onboard", "--json",
                                           "--endpoint", lab.emulator.endpoint])
        for secret in SECRETS:
            assert secret not in result.output
        return result, {c["name"]: c for c in json.loads(result.stdout)["checks"]}

    return run


def test_well_scoped_clients_pass_without_a_note(lab: Lab, verify: Verify) -> None:
    lab.set_clients({"portal": entry(PORTAL, [lab.p.account_id], accounts=[lab.owner.account_id]),
                     "auditor": entry(AUDITOR, ["*"], write=False)})

    result, checks = verify()

    assert result.exit_code == 0, result.output
    found = checks["webhook clients"]
    assert found["ok"] and not found["noted"], found
    assert found["detail"] == "2 client(s) in rolegate-webhook-clients: auditor, portal"


def test_wide_writers_and_clients_reaching_nothing_here_are_noted(lab: Lab, verify: Verify) -> None:
    """They work, so the check passes; each thing worth a second look is said, by client name."""
    lab.set_clients({
        "admin": entry(ADMIN, ["*"]),
        "portal": entry(PORTAL, [lab.p.account_id], accounts=["1111222233334444"]),
        "twin": entry(PORTAL, [lab.p.account_id], accounts=[lab.owner.account_id], write=False),
        "rotated": entry(AUDITOR, [lab.p.account_id], accounts=[lab.owner.account_id],
                         previous={"secret": OLD, "until": 4_000_000_000}),
        "long-ago": entry(OLD + "x", [lab.p.account_id], accounts=[lab.owner.account_id],
                          previous={"secret": ADMIN + "y", "until": 1_700_000_000})})

    result, checks = verify()

    assert result.exit_code == 0, result.output
    found = checks["webhook clients"]
    assert found["ok"] and found["noted"]
    notes = found["detail"].split("; ")[1:]
    assert notes == [
        "admin writes with no limit on accounts or partners (give it --account/--partner limits unless it is "
        "an administrator's)",
        f"portal reaches no grant of account {lab.owner.account_id}",
        "rotated's replaced secret is accepted until 2096-10-02 07:06:40Z",
        "portal and twin share a secret: a leak of one is a leak of all"]


@pytest.mark.parametrize("registry, said", [
    ("not json", "it is not JSON"),
    (json.dumps({"portal": {"secret": PORTAL, "partners": ["*"]}}), "portal lacks accounts, write"),
    (json.dumps({"portal": entry(PORTAL, ["12345"])}), "portal.partners must be a non-empty list"),
    (json.dumps({"portal": entry("short", ["*"])}), "portal.secret must be text of at least"),
    (json.dumps({"portal": {**entry(PORTAL, ["*"]), "secrets": [AUDITOR]}}), "portal holds 'secrets'"),
    (json.dumps({"portal": {**entry(PORTAL, ["*"]), AUDITOR: 1}}), "portal holds a field not shown"),
    (json.dumps({"portal": entry(PORTAL, ["*"], previous={"secret": OLD})}), "portal.previous must hold"),
    (json.dumps({"auditor": entry(AUDITOR, ["*"]), PASTED: entry(ADMIN, ["*"])}),
     "the name of client number 2 is not"),
    ('{"portal": %s, "portal": %s}' % (json.dumps(entry(PORTAL, ["*"])), json.dumps(entry(ADMIN, ["*"]))),
     "'portal' appears twice"),
])
def test_a_malformed_registry_fails_naming_the_client_and_the_field(lab: Lab, verify: Verify, registry: str,
                                                                    said: str) -> None:
    lab.set_clients(registry)

    result, checks = verify()

    assert result.exit_code == 1
    found = checks["webhook clients"]
    assert not found["ok"] and said in found["detail"], found
    assert found["detail"].startswith("ConfigError: The webhook clients' secret is malformed")


def test_a_missing_or_unreadable_secret_fails(lab: Lab, verify: Verify) -> None:
    """Absent: say what creates it. Outside the function's policy: KMS's refusal, as the function would get."""
    lab.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", "kms:rolegate-webhook-clients")
    result, checks = verify()
    assert result.exit_code == 1 and "`rolegate clients add` creates it" in checks["webhook clients"]["detail"]

    from alibabacloud_kms20160120 import models as kms_models

    kms_client(lab.emulator, lab.owner.root).create_secret(kms_models.CreateSecretRequest(
        secret_name="portal-clients", secret_data=json.dumps({"portal": entry(PORTAL, ["*"])}),
        version_id="v1", secret_data_type="text"))
    lab.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", "kms:portal-clients")
    result, checks = verify()
    assert result.exit_code == 1 and "NoPermission" in checks["webhook clients"]["detail"]


def test_no_client_and_no_shared_secret_fails(lab: Lab, verify: Verify) -> None:
    lab.set_clients({})
    lab.without_shared_secret()

    result, checks = verify()

    assert result.exit_code == 1
    assert "every request would be refused" in checks["webhook clients"]["detail"]


def test_without_credentials_the_clients_check_fails_and_the_rest_is_reported(lab: Lab, verify: Verify,
                                                                             isolated_chain: Any) -> None:
    lab.set_clients({"portal": entry(PORTAL, [lab.p.account_id])})
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"):
        lab.monkeypatch.delenv(name, raising=False)

    result, checks = verify()

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not checks["credentials"]["ok"] and not checks["webhook clients"]["ok"]
    assert checks["webhook clients"]["detail"].startswith("CredentialsNotFound")
    assert checks["policy onboard.json"]["ok"]


def test_no_clients_setting_no_clients_check(lab: Lab, verify: Verify) -> None:
    result, checks = verify()
    assert result.exit_code == 0, result.output
    assert "webhook clients" not in checks


def test_the_log_project_must_be_one_no_grant_may_change(lab: Lab, verify: Verify,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """s.yaml's default project is under the prefix; one named otherwise fails until it is protected by ARN."""
    result, checks = verify()
    assert result.exit_code == 0 and checks["log project"]["ok"], checks["log project"]
    assert checks["log project"]["detail"] == f"{DEFAULT_LOG_PROJECT}: no grant may change it"

    monkeypatch.setenv("ROLEGATE_LOG_PROJECT", "audit-logs")
    result, checks = verify()
    assert result.exit_code == 1 and not checks["log project"]["ok"]
    assert "acs:log:*:*:project/audit-logs" in checks["log project"]["detail"]

    monkeypatch.setenv("ROLEGATE_PROTECTED_RESOURCES", "acs:log:*:*:project/audit-logs")
    result, checks = verify()
    assert result.exit_code == 0 and checks["log project"]["ok"], checks["log project"]


def test_the_default_log_project_is_the_one_s_yaml_deploys() -> None:
    assert f"${{env('ROLEGATE_LOG_PROJECT', '{DEFAULT_LOG_PROJECT}')}}" in (REPO_ROOT / "s.yaml").read_text()
