"""What a warm onboarding instance keeps between requests, and that a change of what it was built from is seen."""
from __future__ import annotations

from typing import Any

import pytest

from functions.onboard import index
from shared.onboarding.api import REPLAYS, instance_settings, instance_store
from tests.emulator.helpers import create_user_with_policy
from tests.functions.conftest import Account, FakeContext, Partner, Webhook, function_policy, ram_snapshot

FC_READ = {"name": "AliyunFCReadOnlyAccess"}


def body(partner: Partner, **changes: Any) -> dict[str, Any]:
    return {"partner_account_id": partner.account_id, "principal": {"type": "user", "name": "Alice"},
            "policies": [FC_READ], "duration_seconds": 3600, **changes}


def test_settings_and_store_are_kept_while_nothing_they_come_from_changes(
        emulator: Any, fc_env: Any, fc_context: FakeContext, owner: Account,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same settings object and store again; another setting, site or key gives new ones."""
    settings = instance_settings(fc_context)
    store = instance_store(settings, fc_context)
    assert instance_settings(fc_context) is settings and instance_store(settings, fc_context) is store
    assert settings.protected is settings.protected  # worked out once

    monkeypatch.setenv("ROLEGATE_ALLOWED_POLICIES", "AliyunOSSReadOnlyAccess")
    changed = instance_settings(fc_context)
    assert changed is not settings and changed.allowed_policies == ("AliyunOSSReadOnlyAccess",)
    assert instance_store(changed, fc_context) is not store

    monkeypatch.setenv("ROLEGATE_SITE", "international")
    assert instance_store(changed, fc_context).site.name == "international"

    other = create_user_with_policy(emulator, owner.root, "fc-onboard-other", function_policy("onboard"))
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", other["access_key_id"])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", other["access_key_secret"])
    assert instance_store(settings, fc_context) is not store  # the same settings, other credentials


def test_a_setting_changed_between_requests_is_obeyed_by_the_next(
        emulator: Any, fc_env: Any, fc_context: FakeContext, owner: Account, partner: Partner,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm instance whose allow-list is narrowed refuses what it granted a request earlier; nothing is made."""
    REPLAYS.clear()
    hook = Webhook(index.handler, fc_context)
    assert hook.call("POST", "/grants", body(partner)).status == 201

    monkeypatch.setenv("ROLEGATE_ALLOWED_POLICIES", "AliyunOSSReadOnlyAccess")
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", body(partner, role_name="rolegate-second"))
    assert (reply.status, reply.json["error"]["code"]) == (403, "PolicyNotAllowed"), reply.json
    assert ram_snapshot(emulator, owner) == before
