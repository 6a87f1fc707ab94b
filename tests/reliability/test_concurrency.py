"""Fifty onboarding requests at once: one role per grant, and every answer true of the final state.

The requests, sent from 50 threads released together into one warm handler
(as a Function Compute instance with request concurrency would run them),
mix three kinds of overlap:

* duplicates by content: the same grant asked three times without a key
  (each copy signed at a different second, so none is a replay);
* duplicates by idempotency key, including a key reused with other content;
* contenders for one requested role name with different content.

Afterwards the owner account holds exactly one role per grant that some
request was told exists, every created/existing (201/200) answer names a grant
that exists with the content that request asked for, every 409 names a grant
or role that exists, nothing answered 5xx, and no custom policy or partial
grant is left over.
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from functions.onboard import index as onboard
from tests.functions.conftest import Account, FakeContext, Partner, Webhook
from tests.emulator.helpers import record_keyring
from tests.reliability.state import audit, managed_role_names, snapshot

FC_READ = {"name": "AliyunFCReadOnlyAccess"}
ECS_READ = {"name": "AliyunECSReadOnlyAccess"}
REQUESTS = 50
NAMED = re.compile(r"\b(?:[Rr]ole|[Gg]rant) ([A-Za-z0-9.-]+)")  # "role rolegate-shared-a belongs to grant g-..."


def custom(action: str) -> dict[str, Any]:
    return {"document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}}


def grant_request(partner: Partner, n: int, **extra: Any) -> dict[str, Any]:
    """Grant content number ``n``: its own external id; every other one carries a custom policy."""
    policies = [FC_READ, custom(f"fc:GetFunction{'Code' if n % 4 == 1 else ''}")] if n % 2 else [FC_READ, ECS_READ]
    return {"partner_account_id": partner.account_id, "principal": {"type": "account", "external_id": f"ext-{n}"},
            "policies": policies, "duration_seconds": 7200, **extra}


def workload(partner: Partner) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    for n in range(8):  # 8 grants x 3 copies, no key: the content names the grant
        bodies += [grant_request(partner, n)] * 3
    for k in range(4):  # 4 keys x 3 copies of the same content
        bodies += [grant_request(partner, 100 + k, idempotency_key=f"order-{k}")] * 3
    bodies += [grant_request(partner, 200 + i, idempotency_key="order-0") for i in range(2)]  # key reused
    for name in ("rolegate-shared-a", "rolegate-shared-b"):  # 6 different grants wanting one role name
        bodies += [grant_request(partner, 300 + i, role_name=name) for i in range(6)]
    assert len(bodies) == REQUESTS
    return bodies


def same_content(reply: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether a grant shown in a reply is the one ``body`` asked for (principal, policies, role name)."""
    asked_system = sorted(p["name"] for p in body["policies"] if "name" in p)
    shown_system = sorted(p["name"] for p in reply["policies"] if p["type"] == "System")
    asked_custom = sum(1 for p in body["policies"] if "document" in p)
    shown_custom = sum(1 for p in reply["policies"] if p["type"] == "Custom")
    return (reply["principal"] == body["principal"] and asked_system == shown_system
            and asked_custom == shown_custom and reply["role_name"] == body.get("role_name", reply["role_name"]))


def test_fifty_concurrent_creates_converge(emulator: Any, fc_env: Any, fc_context: FakeContext, owner: Account,
                                           partner: Partner) -> None:
    """Duplicates collapse onto one role, contenders get 409 naming the winner, no answer contradicts RAM."""
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    hook = Webhook(onboard.handler, fc_context)
    bodies = workload(partner)
    now = int(time.time())
    seen: Counter[str] = Counter()
    events = []
    for body in bodies:  # copies of one body are signed at different seconds: distinct requests, not replays
        key = json.dumps(body, sort_keys=True)
        events.append(hook.event("POST", "/grants", body, timestamp=now - seen[key]))
        seen[key] += 1
    gate = threading.Barrier(REQUESTS)

    def send(event: dict[str, Any]) -> tuple[int, str]:
        gate.wait()
        response = onboard.handler(json.dumps(event).encode(), fc_context)
        return response["statusCode"], response["body"]

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        replies = list(pool.map(send, events))

    state = snapshot(emulator, owner.root)
    listed = hook.call("GET", "/grants").json["grants"]
    grants = {g["grant_id"]: g for g in listed}
    roles = managed_role_names(state)
    assert {g["role_name"] for g in listed} == roles
    assert audit(state, owner.account_id, record_keyring(emulator, owner.root)) == []

    statuses = Counter(status for status, _ in replies)
    assert set(statuses) <= {200, 201, 409}, statuses
    for (status, text), body in zip(replies, bodies):
        assert "Traceback" not in text and 'File "' not in text
        reply = json.loads(text)
        if status in (200, 201):
            assert reply["grant_id"] in grants, reply
            assert same_content(grants[reply["grant_id"]], body), (reply, body)
            assert same_content(reply, body)
        else:
            named = NAMED.findall(reply["error"]["message"])
            assert named, reply
            assert all(n in grants or n in state["roles"] for n in named), reply

    # One role per distinct grant: 8 content grants, 4 keyed grants, one winner per contested role name.
    assert len(grants) == 8 + 4 + 2, sorted(grants)
    assert sum(1 for status, _ in replies if status == 201) == len(grants)
    for name in ("rolegate-shared-a", "rolegate-shared-b"):
        assert name in roles
        winners = [b for (s, _), b in zip(replies, bodies) if s in (200, 201) and b.get("role_name") == name]
        assert len({b["principal"]["external_id"] for b in winners}) == 1, winners
