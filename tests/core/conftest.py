"""Fixtures for the shared core against the emulator: accounts, a RAM user, an isolated credential chain."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from shared import clients, credentials
from shared.credentials import Credentials

from .helpers import make_operator, ram_call

CHAIN_ENV = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
             "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_ROLE_ARN",
             "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_CREDENTIALS_URI",
             "ALIBABA_CLOUD_ECS_METADATA", "ROLEGATE_ENDPOINT", "ROLEGATE_REGION", "FC_REGION", "FC_ACCOUNT_ID")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ambient credentials or endpoint leak into a test; process-wide caches start empty."""
    for name in CHAIN_ENV:
        monkeypatch.delenv(name, raising=False)
    clients.clear_cache()
    credentials.reset_default_chain()
    yield
    clients.clear_cache()
    credentials.reset_default_chain()


@pytest.fixture
def isolated_chain(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """The credentials library's default chain with every source switched off.

    The library reads its environment once at import, so the switches are set
    on its settings module, not (only) in the environment.
    """
    from alibabacloud_credentials.utils import auth_util

    monkeypatch.setenv("HOME", str(tmp_path))
    for attr in ("environment_access_key_id", "environment_access_key_secret", "environment_security_token",
                 "environment_credentials_file", "environment_credentials_uri", "environment_ecs_metadata"):
        monkeypatch.setattr(auth_util, attr, None)
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")
    monkeypatch.setattr(auth_util, "enable_oidc_credential", False)
    return auth_util


@pytest.fixture
def use_emulator(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """ROLEGATE_ENDPOINT pointing at the emulator, retries fast."""
    monkeypatch.setenv("ROLEGATE_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("ROLEGATE_RETRY_BASE_MS", "1")
    return emulator


@pytest.fixture
def account(use_emulator: Any) -> dict[str, str]:
    """A fresh emulated account (admin API answer: account_id and its root key)."""
    return use_emulator.create_account()


@pytest.fixture
def root(account: dict[str, str]) -> Credentials:
    return Credentials(account["access_key_id"], account["access_key_secret"])


@pytest.fixture
def account_id(account: dict[str, str]) -> str:
    return account["account_id"]


@pytest.fixture
def operator(root: Credentials, account_id: str) -> Credentials:
    """A RAM user allowed to call sts:AssumeRole (root accounts may not assume roles)."""
    return make_operator(root, "operator")


@pytest.fixture
def partner_role(root: Credentials, account_id: str) -> str:
    """The ARN of a role any principal of the account may assume, for up to an hour."""
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{account_id}:root"]}}]}
    body = ram_call(clients.ClientFactory(root), "create_role", role_name="partner-access",
                     assume_role_policy_document=json.dumps(trust))
    return body.role.arn
