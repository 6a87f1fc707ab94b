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
