"""Fixtures of the reliability tests: the handler tests' accounts, identities and events, reused as they are."""
from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.helpers import Creds, create_user_with_policy
from tests.functions.conftest import (  # noqa: F401  (fixtures, registered by import)
    Account,
    clean_env,
    fc_context,
    fc_env,
    function_policy,
    owner,
    partner,
    query_env,
    remediate_env,
    remediate_lab,
)


@pytest.fixture
def revoke_identity(emulator: Any, owner: Account) -> Creds:  # noqa: F811  (the owner fixture)
    """The revoke function's identity in the owner account: a RAM user holding deploy/policies/revoke.json.

    (The revoke function's own tests build their accounts differently, so there is no shared fixture to reuse.)
    """
    return create_user_with_policy(emulator, owner.root, "revoke-fn", function_policy("revoke"))
