"""Small readers shared by the core tests: the emulator's call log and captured log lines."""
from __future__ import annotations

import json
from typing import Any

from shared.clients import ClientFactory
from shared.credentials import Credentials


def calls_of(emulator: Any, action: str) -> list[dict[str, Any]]:
    return [c for c in emulator.calls() if c["action"] == action]


def log_lines(text: str, event: str | None = None) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if event is None or line.get("event") == event]


def ram_call(factory: ClientFactory, method: str, **params: Any) -> Any:
    """``<method>(<Method>Request(**params)).body`` through the stock RAM SDK, signing as ``factory`` signs."""
    from alibabacloud_ram20150501 import models
    from alibabacloud_ram20150501.client import Client

    from shared.clients import RAM_ENDPOINT

    request_cls = getattr(models, "".join(p.title() for p in method.split("_")) + "Request")
    return getattr(Client(factory.sdk_config(RAM_ENDPOINT)), method)(request_cls(**params)).body


def make_operator(root: Credentials, name: str) -> Credentials:
    """A RAM user of root's account with AliyunSTSAssumeRoleAccess, and its new access key."""
    factory = ClientFactory(root)
    ram_call(factory, "create_user", user_name=name)
    ram_call(factory, "attach_policy_to_user", user_name=name, policy_type="System",
             policy_name="AliyunSTSAssumeRoleAccess")
    key = ram_call(factory, "create_access_key", user_name=name).access_key
    return Credentials(key.access_key_id, key.access_key_secret)
