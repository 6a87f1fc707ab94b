"""Holders of one signed request: no resurrection, no grant lost to a retry, resource-group grants revocable.

A replay reaches "another instance" by going through the handler with a fresh
replay cache, which is what a request landing on a cold Function Compute
instance meets.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from alibabacloud_ram20150501 import models as ram_models

from shared.onboarding.api import handle_event
from shared.onboarding.auth import ReplayCache
from tests.functions.conftest import Reply
from tests.security.conftest import EXTERNAL_ID, Arena, swept

FC_READ = {"name": "AliyunFCReadOnlyAccess"}


def _body(arena: Arena, **changes: Any) -> dict[str, Any]:
    body = {"partner_account_id": arena.partner.account_id,
            "principal": {"type": "account", "external_id": EXTERNAL_ID},
            "policies": [FC_READ], "duration_seconds": 7200}
    return {**body, **changes}


def _on_fresh_instance(arena: Arena, event: dict[str, Any]) -> Reply:
    context = arena.as_function("onboard")
    response = handle_event(json.dumps(event).encode(), context, replays=ReplayCache())
    return Reply(response["statusCode"], json.loads(response["body"]), response["headers"], response)


def test_a_create_replayed_after_delete_does_not_bring_the_grant_back(arena: Arena) -> None:
    hook = arena.webhook()
    create = hook.event("POST", "/grants", _body(arena))
    made = hook.send(create)
    assert made.status == 201
    role = made.json["role_name"]
    assert hook.call("DELETE", f"/grants/{made.json['grant_id']}").status == 200
    assert not arena.alice_assumes(role) and arena.policies_of(role) == []

    replayed = _on_fresh_instance(arena, create)

    assert replayed.status == 410 and replayed.json["error"]["code"] == "GrantRevoked"
    assert arena.policies_of(role) == [] and not arena.alice_assumes(role)
    again = hook.call("GET", f"/grants/{made.json['grant_id']}")
    assert again.json["status"] == "revoked"


def test_a_tombstone_is_removed_once_replays_are_stale(arena: Arena) -> None:
    hook = arena.webhook()
    made = hook.call("POST", "/grants", _body(arena), headers={"Idempotency-Key": "ticket-9"})
    hook.call("DELETE", f"/grants/{made.json['grant_id']}")
    role = made.json["role_name"]

    assert swept(arena.sweep())["tombstones_due"] == 0 and role in arena.roles()  # still within the window
    arena.emulator.advance_clock(400)
    report = swept(arena.sweep())

    assert report["tombstones_due"] == 1 and report["expired"] == 0
    assert role not in arena.roles()


def test_a_retried_create_never_destroys_a_confirmed_grant(arena: Arena) -> None:
    """Issue 12's reproduction: the retry's CreateRole fails once, its attach fails: the first grant survives."""
    hook = arena.webhook()
    body = _body(arena, policies=[FC_READ, {"name": "AliyunECSReadOnlyAccess"}])
    first = hook.call("POST", "/grants", body, headers={"Idempotency-Key": "k-1"})
    assert first.status == 201
    arena.ram().detach_policy_from_role(ram_models.DetachPolicyFromRoleRequest(
        role_name=first.json["role_name"], policy_type="System", policy_name="AliyunECSReadOnlyAccess"))
    arena.emulator.add_fault(kind="error", action="CreateRole", code="ServiceUnavailable", status=503, times=1)
    arena.emulator.add_fault(kind="error", action="AttachPolicyToRole", code="ServiceUnavailable", status=503,
                             times=None)
    arena.monkeypatch.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "1")

    retry = hook.call("POST", "/grants", body, headers={"Idempotency-Key": "k-1"})
    arena.emulator.clear_faults()

    assert retry.status == 503
    assert hook.call("GET", f"/grants/{first.json['grant_id']}").status == 200
    assert first.json["role_name"] in arena.roles()
    assert arena.alice_assumes(first.json["role_name"])


def test_concurrent_duplicates_under_faults_answer_created_once_and_lose_nothing(arena: Arena) -> None:
    """Ten grants sent five times each at once, with throttling and 5% errors: one 201 per grant at most."""
    hook = arena.webhook()
    arena.emulator.add_fault(kind="throttle", action="*", per_second=200)
    arena.emulator.add_fault(kind="error", action="ram:*", code="ServiceUnavailable", status=503, rate=0.05,
                             times=None)
    bodies = [_body(arena, duration_seconds=7200 + i) for i in range(10)]
    events = [(i, hook.event("POST", "/grants", bodies[i])) for i in range(10) for _ in range(5)]
    replies: list[tuple[int, Reply]] = []
    lock = threading.Lock()

    def send(item: tuple[int, dict[str, Any]]) -> None:
        reply = hook.send(item[1])
        with lock:
            replies.append((item[0], reply))

    threads = [threading.Thread(target=send, args=(item,)) for item in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arena.emulator.clear_faults()

    for index in range(10):
        statuses = [r.status for i, r in replies if i == index]
        assert statuses.count(201) <= 1, statuses
        confirmed = [r.json["grant_id"] for i, r in replies if i == index and r.status in (200, 201)]
        for grant_id in set(confirmed):  # every grant a caller was told exists does exist
            assert hook.call("GET", f"/grants/{grant_id}").status == 200, (index, statuses)


def test_a_grant_attached_in_a_resource_group_is_revoked(arena: Arena) -> None:
    """The detach names the resource group the record holds, so DeleteRole is not refused."""
    hook = arena.webhook()
    made = hook.call("POST", "/grants", _body(arena, policies=[{**FC_READ, "resource_group_id": "rg-aek2abc"}],
                                              duration_seconds=3600))
    assert made.status == 201, made.json
    arena.emulator.advance_clock(2 * 3600)

    report = swept(arena.sweep())

    assert report["revoked"] == 1 and report["failed"] == []
    assert made.json["role_name"] not in arena.roles()


def test_the_webhook_key_can_live_in_kms_out_of_reach_of_function_readers(arena: Arena) -> None:
    """With ROLEGATE_WEBHOOK_SECRET=kms:<name> the function's settings hold no key: the function reads it itself."""
    from alibabacloud_kms20160120 import models as kms_models

    from shared import kms
    from tests.emulator.helpers import kms_client

    client = kms_client(arena.emulator, arena.owner.root)
    kms.init_text_secret(client, kms.DEFAULT_WEBHOOK_SECRET_NAME)
    key = client.get_secret_value(kms_models.GetSecretValueRequest(
        secret_name=kms.DEFAULT_WEBHOOK_SECRET_NAME)).body.secret_data
    hook = arena.webhook()
    arena.monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", f"kms:{kms.DEFAULT_WEBHOOK_SECRET_NAME}")
    kms.clear_cache()

    signed_with_the_setting = hook.call("POST", "/grants", _body(arena),
                                        secret=f"kms:{kms.DEFAULT_WEBHOOK_SECRET_NAME}")
    assert signed_with_the_setting.status == 401
    assert not any(name.startswith("rolegate-") for name in arena.roles())

    hook.secret = key
    made = hook.call("POST", "/grants", _body(arena))
    assert made.status == 201, made.json
