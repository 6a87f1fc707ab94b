"""The ``rolegate`` command against the emulator: answers, refusals and exit codes (0 ok, 1 failed, 2 usage)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest
from alibabacloud_fc20230330 import models as fc3
from alibabacloud_ram20150501 import models as ram_models
from click.testing import CliRunner, Result

from emulator import EmulatorServer
from emulator.services.ram import ram_state
from rolegate.cli import main
from rolegate.verify import check_policy
from shared.onboarding.auth import sign
from tests.emulator.helpers import Creds, create_user_with_policy, fc3_client, ram_client, record_keyring
from tests.unit.grant_samples import as_format_2

REPO = Path(__file__).resolve().parents[2]
ZIP = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="  # an empty zip archive
Run = Callable[..., Result]


@pytest.fixture
def owner(emulator: EmulatorServer) -> Creds:
    """Company A, whose grants the operator manages; its root key is the operator's here.

    Its record key exists, as `rolegate keys init` leaves it in every deployment.
    """
    created = emulator.create_account("owner")
    record_keyring(emulator, created)
    return created


@pytest.fixture
def partner(emulator: EmulatorServer) -> Creds:
    return emulator.create_account("partner")


@pytest.fixture
def cli(emulator: EmulatorServer, owner: Creds, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Runs ``rolegate <args>`` with the owner's key in the environment; cloud commands get ``--endpoint``."""
    def run(*args: str, creds: Creds | None = owner, endpoint: bool = True) -> Result:
        if creds is not None:
            monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", creds["access_key_id"])
            monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", creds["access_key_secret"])
        extra = ["--endpoint", emulator.endpoint] if endpoint else []
        return CliRunner().invoke(main, [*args, *extra])

    return run


def roles(emulator: EmulatorServer, account: Creds) -> list[str]:
    return sorted(r.name for r in ram_state(emulator.world.accounts[account["account_id"]]).roles.values())


def create_args(partner: Creds, *extra: str) -> list[str]:
    return ["grants", "create", "--partner", partner["account_id"], "--principal-type", "account",
            "--external-id", "ext-12345", "--policy", "AliyunFCReadOnlyAccess", *extra]


def one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


# ----------------------------------------------------------------------- grants
def test_grant_lifecycle_through_the_cli(cli: Run, emulator: EmulatorServer, owner: Creds, partner: Creds) -> None:
    """create, list, show, extend and revoke act on the owner's RAM roles and report what they did."""
    made = cli(*create_args(partner, "--duration", "2h", "--ticket", "CHG-7", "--json"))
    assert made.exit_code == 0, made.output
    grant = json.loads(made.stdout)
    assert grant["created"] is True and grant["status"] == "active" and grant["ticket"] == "CHG-7"
    assert grant["role_name"] in roles(emulator, owner)

    listed = json.loads(cli("grants", "list", "--json").stdout)
    assert [g["grant_id"] for g in listed["grants"]] == [grant["grant_id"]]
    table = cli("grants", "list")
    assert table.exit_code == 0 and grant["grant_id"] in table.stdout and "ExternalId ext-12345" in table.stdout
    shown = cli("grants", "show", grant["grant_id"])
    assert shown.exit_code == 0 and "AliyunFCReadOnlyAccess" in shown.stdout and "CHG-7" in shown.stdout

    extended = cli("grants", "extend", grant["grant_id"], "--duration", "3d", "--json")
    assert extended.exit_code == 0, extended.output
    assert json.loads(extended.stdout)["expires_at"] > grant["expires_at"]

    planned = cli("grants", "revoke", grant["grant_id"], "--dry-run", "--json")
    assert planned.exit_code == 0 and grant["role_name"] in roles(emulator, owner)
    assert {"DetachPolicyFromRole", "UpdateRole", "TagResources"} <= {
        c["action"] for c in json.loads(planned.stdout)["planned"]}
    assert json.loads(cli("grants", "show", grant["grant_id"], "--json").stdout)["status"] == "active"
    revoked = cli("grants", "revoke", grant["grant_id"])
    assert revoked.exit_code == 0 and "Revoked" in revoked.stdout and "tombstone" in revoked.stdout
    assert grant["role_name"] in roles(emulator, owner)  # powerless, until the sweep deletes it
    assert ram_state(emulator.world.accounts[owner["account_id"]]).find_role(grant["role_name"]).attached == []
    tombstone = json.loads(cli("grants", "show", grant["grant_id"], "--json").stdout)
    assert tombstone["status"] == "revoked" and tombstone["revoked_at"]
    again = cli("grants", "revoke", grant["grant_id"], "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["already_gone"] is True
    emulator.advance_clock(3600)
    swept = json.loads(cli("sweep", "--json").stdout)
    assert (swept["tombstones_due"], swept["revoked"]) == (1, 1)
    assert grant["role_name"] not in roles(emulator, owner)
    gone = cli("grants", "show", grant["grant_id"])
    assert gone.exit_code == 1 and "NotFound" in one_error_line(gone)


def test_dry_run_create_makes_nothing(cli: Run, emulator: EmulatorServer, owner: Creds, partner: Creds) -> None:
    """--dry-run prints the plan (CreateRole first) and leaves RAM untouched."""
    before = roles(emulator, owner)
    result = cli(*create_args(partner, "--duration", "1h", "--dry-run"))
    assert result.exit_code == 0, result.output
    assert "CreateRole" in result.stdout and "AttachPolicyToRole" in result.stdout
    assert roles(emulator, owner) == before


def test_refused_policy_exits_one_and_creates_nothing(cli: Run, emulator: EmulatorServer, owner: Creds,
                                                      partner: Creds) -> None:
    """A high-risk system policy is refused by the webhook's rules: one error line, exit 1, no role."""
    result = cli(*create_args(partner, "--policy", "AdministratorAccess", "--duration", "1h"))
    assert result.exit_code == 1
    assert "PolicyDenied" in one_error_line(result)
    assert roles(emulator, owner) == []


def test_account_principal_without_external_id_is_refused(cli: Run, emulator: EmulatorServer, owner: Creds,
                                                          partner: Creds) -> None:
    """Trusting a whole account without ExternalId is refused (confused deputy): exit 1."""
    result = cli("grants", "create", "--partner", partner["account_id"], "--principal-type", "account",
                 "--policy", "AliyunFCReadOnlyAccess", "--duration", "1h")
    assert result.exit_code == 1 and "ExternalIdRequired" in one_error_line(result)
    assert roles(emulator, owner) == []


@pytest.mark.parametrize("extra, message", [
    (["--principal-type", "account", "--external-id", "ext-1", "--duration", "soon"], "not a duration"),
    (["--principal-type", "account", "--external-id", "ext-1", "--duration", "1h",
      "--expires-at", "2030-01-01T00:00:00Z"], "exactly one of --duration and --expires-at"),
    (["--principal-type", "robot", "--duration", "1h"], "--principal-type"),
    (["--principal-type", "account", "--duration", "1h", "--surprise"], "No such option"),
])
def test_bad_command_line_exits_two_and_creates_nothing(cli: Run, emulator: EmulatorServer, owner: Creds,
                                                        partner: Creds, extra: list[str], message: str) -> None:
    """A command line the CLI cannot read is exit 2, one line naming the problem; nothing is asked or created."""
    result = cli("grants", "create", "--partner", partner["account_id"], "--policy", "AliyunFCReadOnlyAccess",
                 *extra)
    assert result.exit_code == 2, result.output
    assert message in one_error_line(result) and result.stderr.count("\n") == 1
    assert roles(emulator, owner) == []


@pytest.mark.parametrize("extra, message", [
    (["--principal-type", "user", "--duration", "1h"], "principal.name"),
    (["--principal-type", "account", "--external-id", "ext-1", "--expires-at", "tomorrow"], "expires_at"),
    (["--principal-type", "account", "--external-id", "ext-1", "--duration", "60"], "ExpiryOutOfRange"),
    (["--principal-type", "account", "--external-id", "ext-1", "--duration", "1h", "--policy",
      "AdministratorAccess"], "PolicyDenied"),
])
def test_every_refusal_by_the_grant_rules_exits_one(cli: Run, emulator: EmulatorServer, owner: Creds,
                                                    partner: Creds, extra: list[str], message: str) -> None:
    """What the webhook would refuse with a 4xx is a refusal whatever the check: exit 1, one line."""
    result = cli("grants", "create", "--partner", partner["account_id"], "--policy", "AliyunFCReadOnlyAccess",
                 *extra)
    assert result.exit_code == 1, result.output
    assert message in one_error_line(result)
    assert roles(emulator, owner) == []


@pytest.mark.parametrize("endpoint", ["http://x y", ":::", "127.0.0.1:99999", "127.0.0.1:80/path", "h_st:1"])
def test_malformed_endpoint_is_one_line_and_exit_two(cli: Run, endpoint: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed --endpoint (flag or ROLEGATE_ENDPOINT) is a configuration error, checked before any call."""
    result = cli("grants", "list", "--endpoint", endpoint, endpoint=False)
    assert result.exit_code == 2 and "--endpoint" in one_error_line(result)
    assert result.stderr.count("\n") == 1
    monkeypatch.setenv("ROLEGATE_ENDPOINT", endpoint)
    from_env = cli("sweep", "--dry-run", endpoint=False)
    assert from_env.exit_code == 2 and "--endpoint" in one_error_line(from_env)


def test_unreachable_endpoint_is_a_failure(cli: Run) -> None:
    """Nothing listening at the endpoint: the cloud did not answer, exit 1, one line."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = cli("grants", "list", "--endpoint", f"http://127.0.0.1:{port}/", endpoint=False)
    assert result.exit_code == 1 and "CloudUnavailable" in one_error_line(result)
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [["--help"], ["grants", "--help"], ["grants", "create", "--help"],
                                  ["sweep", "--help"], ["lint", "--help"], ["keys", "--help"]])
def test_help_goes_to_standard_output(args: list[str]) -> None:
    """Every command's help is printed on stdout with exit 0, as a pager or grep expects."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and result.stdout.startswith("Usage:") and result.stderr == ""


def test_usage_errors_are_one_line_naming_the_help(cli: Run) -> None:
    """A missing option or a bad value: one ``error:`` line pointing at the command's help, exit 2."""
    for args in (["grants", "create"], ["sweep", "--max-share", "lots"], ["--bogus"], ["grants", "nope"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        line = one_error_line(result)
        assert result.stderr.count("\n") == 1 and "--help" in line, line


def test_unknown_grant_is_a_failure(cli: Run) -> None:
    """Showing a grant that does not exist (or cannot exist) fails with exit 1 and one line."""
    for grant_id in ("g-aaaaaaaaaaaa", "not-a-grant"):
        result = cli("grants", "show", grant_id)
        assert result.exit_code == 1 and "NotFound" in one_error_line(result)


def test_no_credentials_is_a_configuration_error(cli: Run, isolated_chain: Any) -> None:
    """Without any credentials the command stops with exit 2 and says where it looked."""
    result = cli("grants", "list", creds=None)
    assert result.exit_code == 2
    assert "CredentialsNotFound" in one_error_line(result)


# ------------------------------------------------------------------------ sweep
def test_sweep_dry_run_then_revokes_expired(cli: Run, emulator: EmulatorServer, owner: Creds, partner: Creds) -> None:
    """After expiry, --dry-run reports the grant without touching it; the real sweep revokes it."""
    grant = json.loads(cli(*create_args(partner, "--duration", "15m", "--json")).stdout)
    emulator.advance_clock(3600)
    rehearsal = cli("sweep", "--dry-run", "--json")
    assert rehearsal.exit_code == 0, rehearsal.output
    planned = json.loads(rehearsal.stdout)
    assert planned["would_revoke"] == 1
    [item] = planned["planned"]
    assert (item["grant_id"], item["role"], item["partner"]) == (grant["grant_id"], grant["role_name"],
                                                                  partner["account_id"])
    assert {"DetachPolicyFromRole", "DeleteRole"} <= {call["action"] for call in item["calls"]}
    assert grant["role_name"] in roles(emulator, owner)
    result = cli("sweep")
    assert result.exit_code == 0, result.output
    assert grant["role_name"] not in roles(emulator, owner)
    assert "revoked" in result.stdout


def test_sweep_dry_run_table_lists_each_grant_and_call(cli: Run, emulator: EmulatorServer, owner: Creds,
                                                       partner: Creds) -> None:
    """Without --json the rehearsal shows, per expired grant, the calls the sweep would make, in expiry order."""
    first = json.loads(cli(*create_args(partner, "--duration", "15m", "--json")).stdout)
    second = json.loads(cli(*create_args(partner, "--duration", "20m", "--external-id", "ext-22222", "--json")).stdout)
    assert cli(*create_args(partner, "--duration", "7d", "--external-id", "ext-33333")).exit_code == 0
    emulator.advance_clock(3600)
    result = cli("sweep", "--dry-run", "--max-share", "1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index(f"Would revoke {first['grant_id']}") < out.index(f"Would revoke {second['grant_id']}")
    assert out.count("Would revoke") == 2 and out.count("DetachPolicyFromRole") == 2 and "DeleteRole" in out
    assert "AliyunFCReadOnlyAccess" in out
    assert first["role_name"] in roles(emulator, owner) and second["role_name"] in roles(emulator, owner)


# ------------------------------------------------------------------------ query
def test_query_lists_what_a_granted_role_reaches(cli: Run, emulator: EmulatorServer, owner: Creds,
                                                 partner: Creds) -> None:
    """The operator assumes a role the partner granted (with its ExternalId) and lists the partner's functions."""
    fc3_client(emulator, partner).create_function(fc3.CreateFunctionRequest(body=fc3.CreateFunctionInput(
        function_name="etl", runtime="python3.10", handler="index.handler", code=fc3.InputCodeLocation(zip_file=ZIP))))
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{owner['account_id']}:root"]},
                                            "Condition": {"StringEquals": {"sts:ExternalId": "ext-777"}}}]}
    ram = ram_client(emulator, partner)
    ram.create_role(ram_models.CreateRoleRequest(role_name="rolegate-share",
                                                 assume_role_policy_document=json.dumps(trust)))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type="System", role_name="rolegate-share",
                                                                   policy_name="AliyunFCReadOnlyAccess"))
    operator = create_user_with_policy(emulator, owner, "operator", None)
    ram_client(emulator, owner).attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="System", policy_name="AliyunSTSAssumeRoleAccess", user_name="operator"))

    args = ("query", "--account", partner["account_id"], "--role", "rolegate-share")
    found = cli(*args, "--external-id", "ext-777", "--json", creds=operator)
    assert found.exit_code == 0, found.output
    data = json.loads(found.stdout)
    assert [item["name"] for item in data["items"]] == ["etl"]
    assert data["caller"].startswith(f"acs:ram::{partner['account_id']}:role/rolegate-share/")  # as STS named it
    table = cli(*args, "--external-id", "ext-777", creds=operator)
    assert table.exit_code == 0 and "etl" in table.stdout
    refused = cli(*args, "--external-id", "wrong-id", creds=operator)
    assert refused.exit_code == 1 and "NoPermission" in one_error_line(refused)


# ------------------------------------------------------------------------- lint
def _write(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def test_lint_clean_policy_exits_zero(tmp_path: Path) -> None:
    """A narrow permission policy has no findings."""
    path = _write(tmp_path, {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fc:ListFunctions",
                                                            "Resource": "acs:fc:*:*:functions/*"}]})
    result = CliRunner().invoke(main, ["lint", path])
    assert result.exit_code == 0 and "no findings" in result.stdout


def test_lint_admin_policy_exits_one_with_findings(tmp_path: Path) -> None:
    """Allow * on * is critical: the finding is listed with its rule id, and the exit code is 1."""
    path = _write(tmp_path, {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    result = CliRunner().invoke(main, ["lint", path, "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["worst"] == "critical" and "RG120" in {f["id"] for f in data["findings"]}


def test_lint_trust_policy_mode(tmp_path: Path) -> None:
    """--trust judges who may assume: a wildcard principal is a finding (exit 1)."""
    path = _write(tmp_path, {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                            "Principal": {"RAM": "*"}}]})
    assert CliRunner().invoke(main, ["lint", path]).exit_code == 1  # a Principal in a permission policy, too
    result = CliRunner().invoke(main, ["lint", "--trust", path])
    assert result.exit_code == 1 and "RG101" in result.stdout


def test_lint_fails_only_at_the_configured_severity(tmp_path: Path) -> None:
    """--fail-on sets the threshold: a medium finding passes by default (high) and fails at medium."""
    path = _write(tmp_path, {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]})
    assert CliRunner().invoke(main, ["lint", path]).exit_code == 0
    result = CliRunner().invoke(main, ["lint", path, "--fail-on", "medium", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["fail_on"] == "medium"
    assert CliRunner().invoke(main, ["lint", path, "--fail-on", "nonsense"]).exit_code == 2


def test_lint_judges_like_onboarding_and_reads_exceptions_next_to_the_file(tmp_path: Path) -> None:
    """The same judgment as a grant (RG132, RG150 on a rolegate- role); a written exception excepts it, by action."""
    document = {"Version": "1", "Statement": [{"Sid": "Reach", "Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Resource": "acs:ram::*:role/rolegate-*"}]}
    path = _write(tmp_path, document)
    result = CliRunner().invoke(main, ["lint", path, "--json"])
    assert result.exit_code == 1 and {f["id"] for f in json.loads(result.stdout)["findings"]} == {"RG132", "RG150"}
    exceptions = {Path(path).name: [{"finding": "RG132", "action": "STS:AssumeRole", "sid": "Reach", "why": "w"},
                                    {"finding": "RG150", "action": "sts:assumerole", "why": "w"}]}
    (tmp_path / "lint-exceptions.json").write_text(json.dumps(exceptions))
    result = CliRunner().invoke(main, ["lint", path, "--json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)["excepted"]) == 2
    assert CliRunner().invoke(main, ["lint", path, "--no-exceptions"]).exit_code == 1
    exceptions[Path(path).name][0]["sid"] = "Other"
    (tmp_path / "lint-exceptions.json").write_text(json.dumps(exceptions))
    assert CliRunner().invoke(main, ["lint", path]).exit_code == 1


def test_lint_protects_the_namespace_given(tmp_path: Path) -> None:
    """--prefix names the deployment's namespace: its functions are protected, Rolegate's default ones not."""
    path = _write(tmp_path, {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fc:UpdateFunction",
                                                            "Resource": "acs:fc:*:*:functions/gate-x"}]})
    assert CliRunner().invoke(main, ["lint", path]).exit_code == 0
    result = CliRunner().invoke(main, ["lint", path, "--prefix", "gate"])
    assert result.exit_code == 1 and "RG150" in result.stdout


def test_lint_usage_errors_exit_two(tmp_path: Path) -> None:
    """A missing file is a usage error; text that is not JSON is a finding (RG001)."""
    assert CliRunner().invoke(main, ["lint", str(tmp_path / "missing.json")]).exit_code == 2
    result = CliRunner().invoke(main, ["lint", _write(tmp_path, "{not json")])
    assert result.exit_code == 1 and "RG001" in result.stdout


# ----------------------------------------------------------------------- verify
@pytest.fixture
def deployment_env(monkeypatch: pytest.MonkeyPatch, owner: Creds) -> None:
    """The settings a deployed function would have (the secret the webhook needs, the owner account)."""
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", "a-webhook-secret-of-length")
    monkeypatch.setenv("ROLEGATE_OWNER_ACCOUNT_ID", owner["account_id"])


def test_verify_passes_a_good_deployment(cli: Run, deployment_env: None) -> None:
    """Settings parse, credentials work, policies lint clean (onboard's AttachPolicyToRole noted as by design)."""
    result = cli("verify", "--json")
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["GetCallerIdentity"]["ok"]
    assert {f"settings {f}" for f in ("onboard", "revoke", "query", "remediate")} <= set(checks)
    assert checks["policy onboard.json"]["noted"] and "RG133" in checks["policy onboard.json"]["detail"]


@pytest.mark.parametrize("name, value, failing", [
    ("ROLEGATE_SWEEP_DRYRUN", "true", "variables"),
    ("ROLEGATE_SWEEP_MAX_SHARE", "2", "settings revoke"),
    ("ROLEGATE_REMEDIATE_DISABLED_RULES", "no-such-rule", "settings remediate"),
])
def test_verify_fails_on_a_bad_setting(cli: Run, deployment_env: None, monkeypatch: pytest.MonkeyPatch,
                                       name: str, value: str, failing: str) -> None:
    """A misspelt variable or a malformed value fails its check and the command (exit 1)."""
    monkeypatch.setenv(name, value)
    result = cli("verify", "--json")
    assert result.exit_code == 1
    failed = [c["name"] for c in json.loads(result.stdout)["checks"] if not c["ok"]]
    assert failed == [failing]


def test_verify_without_credentials_fails(cli: Run, deployment_env: None, isolated_chain: Any) -> None:
    """No credentials: the credentials check fails (exit 1), the rest is still reported."""
    result = cli("verify", "--function", "revoke", creds=None)
    assert result.exit_code == 1
    assert "credentials" in result.stdout and "CredentialsNotFound" in result.stdout


def test_policy_check_fails_on_an_unexpected_capability(tmp_path: Path) -> None:
    """A finding expected for one function (attaching policies, for onboard) fails another's policy."""
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:AttachPolicyToRole",
                                               "Resource": "acs:ram:*:*:role/*"}]}
    path = tmp_path / "revoke.json"
    path.write_text(json.dumps(document))
    assert check_policy("onboard", path).ok
    failed = check_policy("revoke", path)
    assert not failed.ok and "RG133" in failed.detail
    assert not check_policy("revoke", tmp_path / "absent.json").ok


# ------------------------------------------------------------------ sign, entry
def test_sign_prints_curl_config_the_webhook_accepts() -> None:
    """The printed headers carry the HMAC the webhook computes for the same method, path and body."""
    body = '{"partner_account_id":"1"}'
    result = CliRunner().invoke(main, ["sign", "POST", "/grants", body, "--secret", "s" * 20, "--timestamp", "1700"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        'header = "X-Rolegate-Timestamp: 1700"',
        f'header = "X-Rolegate-Signature: {sign("s" * 20, "1700", "POST", "/grants", body.encode())}"']
    assert CliRunner().invoke(main, ["sign", "GET", "/grants"]).exit_code == 2
    assert CliRunner().invoke(main, ["sign", "GET", "grants?x=1", "--secret", "s" * 20]).exit_code == 2


def test_python_dash_m_rolegate_runs() -> None:
    """``python -m rolegate`` is the same command (what ``make demo`` calls)."""
    result = subprocess.run([sys.executable, "-m", "rolegate", "--help"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    for command in ("demo", "local", "grants", "sweep", "query", "lint", "verify"):
        assert command in result.stdout


def test_local_with_a_taken_port_is_a_usage_error() -> None:
    """``rolegate local`` on a port already in use stops with exit 2 and says what to do, leaving nothing running."""
    before = threading.active_count()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = CliRunner().invoke(main, ["local", "--port", str(taken.getsockname()[1])])
    assert result.exit_code == 2
    assert "choose another --port" in result.stderr
    assert threading.active_count() == before


# ------------------------------------------------------------------ identity providers
def test_idp_add_registers_providers_in_the_owner_account_for_federated_grants(
        cli: Run, emulator: EmulatorServer, owner: Creds, partner: Creds, tmp_path: Path) -> None:
    """`idp add oidc` and `idp add saml` make the owner's providers; a grant naming one is then accepted, and a
    grant naming one the owner lacks is refused before anything is made."""
    from tests.emulator.test_idp import metadata

    added = cli("idp", "add", "oidc", "--name", "ci-oidc", "--issuer", "https://oidc.ci.example",
                "--client-id", "rolegate", "--fingerprint", "902ef2deeb3c5b13ea4c3d5193629309e231ae55", "--json")
    assert added.exit_code == 0, added.output
    view = json.loads(added.stdout)
    assert view["arn"] == f"acs:ram::{owner['account_id']}:oidc-provider/ci-oidc"
    assert view["principal"] == {"type": "oidc", "provider": "ci-oidc", "issuer": "https://oidc.ci.example",
                                 "audiences": ["rolegate"]}
    document = tmp_path / "idp-metadata.xml"
    document.write_bytes(__import__("base64").b64decode(metadata("saml", "corp-idp")))
    saml = cli("idp", "add", "saml", "--name", "corp-idp", "--metadata", str(document))
    assert saml.exit_code == 0 and f"acs:ram::{owner['account_id']}:saml-provider/corp-idp" in saml.stdout

    base = ["grants", "create", "--partner", partner["account_id"], "--policy", "AliyunFCReadOnlyAccess",
            "--duration", "2h"]
    made = cli(*base, "--principal-type", "oidc", "--provider", "ci-oidc", "--issuer", "https://oidc.ci.example",
               "--audience", "rolegate", "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["assume_role"]["OIDCProviderArn"] == view["arn"]
    before = roles(emulator, owner)
    missing = cli(*base, "--principal-type", "saml", "--provider", "nobody-idp")
    assert missing.exit_code == 1 and "nobody-idp" in one_error_line(missing)
    assert roles(emulator, owner) == before


def test_idp_add_refuses_credentials_of_another_account(cli: Run, emulator: EmulatorServer, owner: Creds,
                                                       partner: Creds) -> None:
    """RAM makes a provider in the caller's account, so the owner's must be the credentials used."""
    result = cli("idp", "add", "oidc", "--owner-account", owner["account_id"], "--name", "x",
                 "--issuer", "https://oidc.example", "--client-id", "a", "--fingerprint", "abc", creds=partner)
    assert result.exit_code == 2 and "not the owner account" in one_error_line(result)  # a setup error
