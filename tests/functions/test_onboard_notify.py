"""An early revocation through the webhook's DELETE sends one signed ``revoked`` notification."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from functions.onboard import index
from shared.notify import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.functions.conftest import Account, FakeContext, Partner, Webhook
from tests.functions.test_revoke_notify import SECRET, Receiver


@pytest.fixture
def receiver(fc_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with Receiver() as r:
        monkeypatch.setenv("ROLEGATE_NOTIFY_URL", r.url)
        monkeypatch.setenv("ROLEGATE_NOTIFY_SECRET", SECRET)
        yield r


@pytest.fixture
def hook(fc_env: Any, fc_context: FakeContext) -> Webhook:
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    return Webhook(index.handler, fc_context)


def test_delete_sends_one_signed_revoked_notification(emulator: Any, hook: Webhook, owner: Account,
                                                      partner: Partner, receiver: Receiver) -> None:
    """Creating sends nothing; DELETE sends ``revoked`` naming the grant; a second DELETE sends nothing more."""
    made = hook.call("POST", "/grants", {"partner_account_id": partner.account_id,
                                         "principal": {"type": "user", "name": "Alice"},
                                         "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 7200})
    assert made.status == 201, made.json
    assert receiver.received == []
    grant = made.json
    assert hook.call("DELETE", f"/grants/{grant['grant_id']}").status == 200
    [message] = receiver.received
    headers = {k.lower(): v for k, v in message["headers"].items()}
    assert headers[EVENT_HEADER.lower()] == "revoked"
    assert verify(SECRET, headers[TIMESTAMP_HEADER.lower()], message["body"], headers[SIGNATURE_HEADER.lower()])
    body = json.loads(message["body"])
    assert body["event"] == "revoked"
    assert body["data"] == {"account_id": owner.account_id, "grant_id": grant["grant_id"],
                            "role": grant["role_name"], "partner": partner.account_id,
                            "expires_at": grant["expires_at"], "reason": "revoked_early",
                            "detached": ["AliyunFCReadOnlyAccess"], "deleted_policies": []}
    again = hook.call("DELETE", f"/grants/{grant['grant_id']}")
    assert again.status == 200 and again.json["already_gone"] is True
    assert len(receiver.received) == 1


def test_the_notification_key_can_live_in_kms(emulator: Any, hook: Webhook, owner: Account, partner: Partner,
                                             receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``kms:<name>``: signed with the secret's value; while it cannot be read, the revocation still answers 200,
    nothing is sent, and one ``notify_failed`` line names the refusal, never the key."""
    from alibabacloud_kms20160120 import models as kms_models

    from tests.emulator.helpers import kms_client

    monkeypatch.setenv("ROLEGATE_NOTIFY_SECRET", "kms:rolegate-notify-secret")
    body = {"partner_account_id": partner.account_id, "principal": {"type": "user", "name": "Alice"},
            "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 7200}
    first = hook.call("POST", "/grants", body).json
    assert hook.call("DELETE", f"/grants/{first['grant_id']}").status == 200
    assert receiver.received == []
    failed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"notify_failed"' in line]
    assert [(f["key_source"], f["error"]) for f in failed] == [("kms", "Forbidden.ResourceNotFound")]

    in_kms = "notify-key-kept-in-kms-0123456789"
    kms_client(emulator, owner.root).create_secret(kms_models.CreateSecretRequest(
        secret_name="rolegate-notify-secret", secret_data=in_kms, version_id="v1", secret_data_type="text"))
    second = hook.call("POST", "/grants", {**body, "principal": {"type": "user", "name": "Bob"}}).json
    assert hook.call("DELETE", f"/grants/{second['grant_id']}").status == 200
    [message] = receiver.received
    headers = {k.lower(): v for k, v in message["headers"].items()}
    assert verify(in_kms, headers[TIMESTAMP_HEADER.lower()], message["body"], headers[SIGNATURE_HEADER.lower()])
    assert in_kms not in capsys.readouterr().out
