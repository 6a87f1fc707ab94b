"""Throttle rules of the fault injector: one shared bucket, or one bucket per calling account."""
from __future__ import annotations

import pytest
from alibabacloud_ram20150501 import models as ram_models
from Tea.exceptions import TeaException

from emulator.errors import CloudError
from emulator.faults import Faults
from tests.emulator.helpers import ram_client


def _admitted(faults: Faults, account_id: str, calls: int) -> int:
    ok = 0
    for _ in range(calls):
        try:
            faults.check_throttle("ram", "ListRoles", account_id)
            ok += 1
        except CloudError as err:
            assert err.code == "Throttling.User"
    return ok


def test_shared_bucket_throttles_all_accounts_together() -> None:
    """Without per_account, a burst from one account uses up the bucket for every other account."""
    faults = Faults()
    faults.add({"kind": "throttle", "action": "*", "per_second": 5})
    assert _admitted(faults, "1111111111111111", 5) == 5
    assert _admitted(faults, "2222222222222222", 3) == 0


def test_per_account_buckets_are_independent() -> None:
    """With per_account, each calling account gets its own burst and refill; one account's burst spares the others."""
    faults = Faults()
    faults.add({"kind": "throttle", "action": "*", "per_second": 5, "per_account": True})
    assert _admitted(faults, "1111111111111111", 8) == 5
    assert _admitted(faults, "2222222222222222", 8) == 5
    assert _admitted(faults, "1111111111111111", 1) == 0
    assert faults.rules()[0]["per_account"] is True
    assert faults.rules()[0]["fired"] == 7


def test_per_account_must_be_boolean() -> None:
    """A misspelt flag is refused instead of silently meaning a shared bucket."""
    with pytest.raises(ValueError, match="per_account"):
        Faults().add({"kind": "throttle", "per_second": 5, "per_account": "yes"})


def test_per_account_throttle_through_the_api(emulator) -> None:
    """Over HTTP the bucket is chosen by the signing account: a throttled account does not throttle another."""
    first, second = emulator.create_account("a"), emulator.create_account("b")
    emulator.add_fault(kind="throttle", action="ram:ListRoles", per_second=2, per_account=True)
    ram_a, ram_b = ram_client(emulator, first), ram_client(emulator, second)
    for _ in range(2):
        ram_a.list_roles(ram_models.ListRolesRequest())
    with pytest.raises(TeaException) as caught:
        ram_a.list_roles(ram_models.ListRolesRequest())
    assert caught.value.code == "Throttling.User"
    ram_b.list_roles(ram_models.ListRolesRequest())
    outcomes = [(c["account_id"], c["outcome"]) for c in emulator.calls() if c["action"] == "ListRoles"]
    assert outcomes == [(first["account_id"], "ok")] * 2 + [(first["account_id"], "Throttling.User"),
                                                             (second["account_id"], "ok")]
