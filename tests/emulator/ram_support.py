"""Fixtures and checks shared by the RAM emulator tests (imported by each ``test_ram_*`` module)."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.exceptions import ClientException
from Tea.model import TeaModel

from emulator import EmulatorServer
from tests.emulator.helpers import Creds, ram_client

PARTNER = "1234567890123456"
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def account(emulator: EmulatorServer) -> Creds:
    """A fresh account; its root key bypasses authorization, so these tests exercise RAM rules only."""
    return emulator.create_account()


@pytest.fixture
def ram(emulator: EmulatorServer, account: Creds) -> RamClient:
    return ram_client(emulator, account)


def trust_doc(partner: str = PARTNER, **extra: Any) -> str:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{partner}:root"]},
                 **extra}
    return json.dumps({"Version": "1", "Statement": [statement]})


def allow_doc(action: str | list[str] = "ecs:Describe*", resource: str = "*") -> str:
    return json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


def make_role(ram: RamClient, name: str, **fields: Any) -> Any:
    """Create a role trusting the partner account; returns the response body."""
    fields.setdefault("assume_role_policy_document", trust_doc())
    return ram.create_role(m.CreateRoleRequest(role_name=name, **fields)).body


def make_policy(ram: RamClient, name: str, document: str | None = None, **fields: Any) -> Any:
    return ram.create_policy(m.CreatePolicyRequest(policy_name=name, policy_document=document or allow_doc(),
                                                   **fields)).body


def attach_to_role(ram: RamClient, role: str, policy: str, policy_type: str = "System", **fields: Any) -> None:
    ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(role_name=role, policy_name=policy,
                                                          policy_type=policy_type, **fields))


def pages(list_page: Callable[[str | None], Any]) -> list[Any]:
    """Every page of a RAM listing, ``list_page(marker)`` following ``Marker`` until ``IsTruncated`` is false."""
    bodies, marker = [], None
    while True:
        body = list_page(marker)
        bodies.append(body)
        if not body.is_truncated:
            assert body.marker is None, "the last page names no Marker"
            return bodies
        marker = body.marker


@contextmanager
def cloud_error(code: str, status: int) -> Iterator[Any]:
    """Expect the SDK to raise the documented error code with the documented HTTP status."""
    with pytest.raises(ClientException) as info:
        yield info
    assert (info.value.code, info.value.status_code) == (code, status), info.value.message


def assert_fully_read(model: TeaModel, absent: Iterable[str] = ()) -> None:
    """Every field the SDK model knows was filled from the response, except those named in ``absent``.

    The SDK silently leaves a field ``None`` when a key or wrapper is wrong, so
    this is what proves a response shape matches what the SDK parses.
    """
    skip = set(absent)
    for name, value in vars(model).items():
        if name in skip:
            continue
        assert value is not None, f"{type(model).__name__}.{name} was not read from the response"
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, TeaModel):
                assert_fully_read(child, skip)
