"""``rolegate clients`` against the emulator's KMS, and ``rolegate sign --client`` against the onboard function.

The operator is owner A's root key; the function is the deployed onboard
function of tests/functions/clients_support.py, which reads the secret the
CLI writes.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any, Callable

import pytest
from alibabacloud_kms20160120 import models as kms_models
from click.testing import CliRunner, Result

from rolegate.cli import main
from tests.emulator.helpers import kms_client
from tests.functions.clients_support import CLIENTS_SECRET, P_EXTERNAL_ID, Q_EXTERNAL_ID, Lab, lab  # noqa: F401
from tests.functions.conftest import fc_context, fc_env, owner, partner  # noqa: F401

Run = Callable[..., Result]
HEX_SECRET = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def cli(lab: Lab) -> Run:
    """``rolegate <args> --endpoint <emulator>`` with owner A's root key (the operator's)."""
    def run(*args: str) -> Result:
        lab.monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", lab.owner.root["access_key_id"])
        lab.monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", lab.owner.root["access_key_secret"])
        return CliRunner().invoke(main, [*args, "--endpoint", lab.emulator.endpoint])

    return run


def stored(lab: Lab) -> dict[str, Any] | None:
    """The clients' secret as KMS holds it now (None when it does not exist), read with the SDK."""
    from emulator.services.kms import kms_state

    regions = kms_state(lab.emulator.world.accounts[lab.owner.account_id]).regions.values()
    if not any(CLIENTS_SECRET in region.secrets for region in regions):
        return None
    body = kms_client(lab.emulator, lab.owner.root).get_secret_value(
        kms_models.GetSecretValueRequest(secret_name=CLIENTS_SECRET)).body
    return json.loads(body.secret_data)


def one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_add_prints_the_secret_once_and_stores_the_scope(cli: Run, lab: Lab) -> None:
    """stdout is the secret alone; stderr the scope and the setting; the account defaults to the owner's."""
    result = cli("clients", "add", "portal", "--partner", lab.p.account_id)

    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert HEX_SECRET.match(secret) and secret not in result.stderr
    assert f"ROLEGATE_WEBHOOK_CLIENTS=kms:{CLIENTS_SECRET}" in " ".join(result.stderr.split())
    assert stored(lab) == {"portal": {"secret": secret, "accounts": [lab.owner.account_id],
                                      "partners": [lab.p.account_id], "write": True}}


def test_a_client_added_by_the_cli_signs_with_rolegate_sign(cli: Run, lab: Lab) -> None:
    """The secret printed by ``clients add`` and the headers printed by ``sign --client`` are what the function
    accepts, within the scope given: its partner yes, another no."""
    secret = cli("clients", "add", "portal", "--partner", lab.p.account_id).stdout.strip()
    lab.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", f"kms:{CLIENTS_SECRET}")
    lab.new_instance()

    def signed(body: dict[str, Any]) -> Any:
        raw = json.dumps(body)
        printed = CliRunner().invoke(main, ["sign", "POST", "/grants", raw, "--client", "portal", "--secret", secret])
        assert printed.exit_code == 0, printed.output
        headers = dict(re.findall(r'^header = "([^:]+): (.*)"$', printed.stdout, re.M))
        assert set(headers) == {"X-Rolegate-Client", "X-Rolegate-Timestamp", "X-Rolegate-Signature"}
        return lab.send("POST", "/grants", raw.encode(), headers)

    assert signed(lab.body(lab.p.account_id, P_EXTERNAL_ID)).status == 201
    assert signed(lab.body(lab.q, Q_EXTERNAL_ID)).status == 403


def test_list_shows_names_and_scopes_never_a_secret(cli: Run, lab: Lab) -> None:
    portal = cli("clients", "add", "portal", "--partner", lab.p.account_id, "--partner", lab.q).stdout.strip()
    auditor = cli("clients", "add", "auditor", "--partner", "*", "--account", "*", "--read-only").stdout.strip()

    table = cli("clients", "list")
    as_json = cli("clients", "list", "--json")

    assert table.exit_code == as_json.exit_code == 0
    for secret in (portal, auditor):
        assert secret not in table.output and secret not in as_json.output
    assert json.loads(as_json.stdout) == [
        {"name": "auditor", "accounts": ["*"], "partners": ["*"], "write": False},
        {"name": "portal", "accounts": [lab.owner.account_id], "partners": [lab.p.account_id, lab.q],
         "write": True}]
    assert "portal" in table.stdout and "auditor" in table.stdout


def test_rotate_keeps_the_replaced_secret_for_the_overlap(cli: Run, lab: Lab) -> None:
    old = cli("clients", "add", "portal", "--partner", lab.p.account_id).stdout.strip()
    started = int(time.time())

    rotated = cli("clients", "rotate", "portal", "--overlap", "2h")

    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    assert HEX_SECRET.match(new) and new != old and new not in rotated.stderr
    entry = stored(lab)["portal"]
    assert entry["secret"] == new and entry["previous"]["secret"] == old
    assert started + 7200 <= entry["previous"]["until"] <= int(time.time()) + 7200
    assert entry["partners"] == [lab.p.account_id] and entry["write"] is True

    again = cli("clients", "rotate", "portal", "--overlap", "0").stdout.strip()
    assert stored(lab)["portal"] == {"secret": again, "accounts": [lab.owner.account_id],
                                     "partners": [lab.p.account_id], "write": True}


def test_remove_drops_only_that_client(cli: Run, lab: Lab) -> None:
    cli("clients", "add", "portal", "--partner", lab.p.account_id)
    cli("clients", "add", "auditor", "--partner", "*", "--read-only")

    removed = cli("clients", "remove", "portal")

    assert removed.exit_code == 0, removed.output
    assert set(stored(lab)) == {"auditor"}


@pytest.mark.parametrize("args", [["remove", "nobody"], ["rotate", "nobody"], ["add", "portal", "--partner", "*"]])
def test_refusals_exit_one_and_change_nothing(cli: Run, lab: Lab, args: list[str]) -> None:
    """An unknown client to rotate or remove, or a name already taken: one error line, the secret as it was."""
    cli("clients", "add", "portal", "--partner", lab.p.account_id)
    before = stored(lab)

    result = cli("clients", *args)

    assert result.exit_code == 1
    one_error_line(result)
    assert stored(lab) == before


@pytest.mark.parametrize("args", [
    ["add", "Portal", "--partner", "*"],
    ["add", "portal"],
    ["add", "portal", "--partner", "12345"],
    ["add", "portal", "--partner", "*", "--account", "owner"],
    ["rotate", "portal", "--overlap", "soon"],
])
def test_bad_command_lines_exit_two_and_create_nothing(cli: Run, lab: Lab, args: list[str]) -> None:
    result = cli("clients", *args)

    assert result.exit_code == 2, result.output
    one_error_line(result)
    assert stored(lab) is None


def test_sign_takes_a_clients_secret_from_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--client`` signs with ROLEGATE_CLIENT_SECRET (kept out of the process list); the shared secret beside it
    is never used for a client, since its signature would only be refused."""
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", "w" * 20)
    monkeypatch.delenv("ROLEGATE_CLIENT_SECRET", raising=False)
    refused = CliRunner().invoke(main, ["sign", "GET", "/grants", "--client", "portal"])
    assert refused.exit_code == 2 and "ROLEGATE_CLIENT_SECRET" in refused.output

    monkeypatch.setenv("ROLEGATE_CLIENT_SECRET", "c" * 20)
    from_env = CliRunner().invoke(main, ["sign", "GET", "/grants", "--client", "portal", "--timestamp", "1700"])
    given = CliRunner().invoke(main, ["sign", "GET", "/grants", "--client", "portal", "--timestamp", "1700",
                                      "--secret", "c" * 20])
    shared = CliRunner().invoke(main, ["sign", "GET", "/grants", "--timestamp", "1700", "--secret", "w" * 20])
    assert from_env.exit_code == given.exit_code == 0
    assert from_env.stdout == given.stdout and "X-Rolegate-Client: portal" in from_env.stdout
    signature = re.compile(r"X-Rolegate-Signature: (\S+)\"")
    assert signature.search(from_env.stdout).group(1) != signature.search(shared.stdout).group(1)


def test_sign_refuses_a_kms_reference_for_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """After ``export $(rolegate keys init)`` the shell holds ``kms:<name>``: signing with that text would only earn a
    401, so it is refused in one line that says where the key is."""
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", "kms:rolegate-webhook-secret")
    result = CliRunner().invoke(main, ["sign", "GET", "/grants"])
    assert result.exit_code == 2 and "X-Rolegate-Signature" not in result.output
    assert "rolegate keys webhook-secret" in result.output


def test_sign_refuses_a_malformed_client_name() -> None:
    result = CliRunner().invoke(main, ["sign", "GET", "/grants", "--client", "Portal", "--secret", "s" * 20])
    assert result.exit_code == 2


def test_the_function_follows_rotate_and_remove(cli: Run, lab: Lab) -> None:
    """After `rotate --overlap 0` (a leak) the old secret is refused and the new one works; after `remove`, both
    are refused, once an instance reads the secret again."""
    old = cli("clients", "add", "portal", "--partner", lab.p.account_id).stdout.strip()
    lab.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", f"kms:{CLIENTS_SECRET}")
    lab.new_instance()
    assert lab.as_client("portal", old, "GET", "/grants").status == 200

    new = cli("clients", "rotate", "portal", "--overlap", "0").stdout.strip()
    lab.new_instance()
    assert [lab.as_client("portal", s, "GET", "/grants").status for s in (old, new)] == [401, 200]

    assert cli("clients", "remove", "portal").exit_code == 0
    lab.new_instance()
    assert [lab.as_client("portal", s, "GET", "/grants").status for s in (old, new)] == [401, 401]
