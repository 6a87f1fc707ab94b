"""The record key in KMS, through the real KMS SDK against the emulator: init, rotation, forged key ids."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.errors import CloudUnavailable
from shared.grants.model import Grant, PolicyRef
from shared.grants.tags import RecordUnauthenticated, grant_from_tags, grant_to_tags
from shared.kms import KmsKeyring, clear_cache, init_secret, keyring_for, rotate_secret
from shared.policies.principals import AccountPrincipal

NAME = "rolegate-record-key"


def _grant(owner: str) -> Grant:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    partner = "2" * 16
    return Grant(grant_id="g-aaaaaaaaaaaa", owner_account_id=owner, partner_account_id=partner,
                 principal=AccountPrincipal(partner, "ext-1"), policies=(PolicyRef("AliyunECSReadOnlyAccess", "System"),),
                 role_name=f"rolegate-{partner}-g-aaaaaaaaaaaa", max_session_duration=3600, created_at=now,
                 expires_at=now + timedelta(days=1))


def _kms_calls(emulator: Any, since: int) -> list[str]:
    return [c["action"] for c in emulator.calls(since) if c["product"].lower() == "kms"]


def _mark(emulator: Any) -> int:
    calls = emulator.calls()
    return calls[-1]["seq"] if calls else 0


def test_init_is_idempotent(use_emulator: Any, root: Credentials) -> None:
    client = ClientFactory(root).kms()
    first, created = init_secret(client, NAME)
    again, created_again = init_secret(client, NAME)
    assert (created, created_again) == (True, False) and first == again


def test_records_signed_before_a_rotation_still_verify(use_emulator: Any, root: Credentials,
                                                       account_id: str) -> None:
    client = ClientFactory(root).kms()
    init_secret(client, NAME)
    grant = _grant(account_id)
    old_tags = grant_to_tags(grant, KmsKeyring(client, NAME), written_at=grant.created_at)

    rotate_secret(client, NAME)
    fresh = KmsKeyring(client, NAME)  # a new instance after the rotation
    new_tags = grant_to_tags(grant, fresh, written_at=grant.created_at)

    assert new_tags[-1]["Value"].split(".")[0] != old_tags[-1]["Value"].split(".")[0]
    for tags in (old_tags, new_tags):
        assert grant_from_tags(tags, grant.role_name, account_id, keyring=fresh) == grant


def test_made_up_key_ids_cost_no_lookup_each(use_emulator: Any, root: Credentials, account_id: str) -> None:
    """Proofs naming fifty invented key versions: one version listing, no GetSecretValue per id."""
    client = ClientFactory(root).kms()
    init_secret(client, NAME)
    ring = KmsKeyring(client, NAME)
    grant = _grant(account_id)
    tags = grant_to_tags(grant, ring, written_at=grant.created_at)
    mark = _mark(use_emulator)
    for i in range(50):
        forged = [t if t["Key"] != "rolegate:proof" else {"Key": t["Key"], "Value": f"k{i}.{'A' * 43}"} for t in tags]
        with pytest.raises(RecordUnauthenticated):
            grant_from_tags(forged, grant.role_name, account_id, keyring=ring)
    assert _kms_calls(use_emulator, mark) == ["ListSecretVersionIds"]


def test_a_kms_outage_is_not_taken_for_a_forgery(use_emulator: Any, root: Credentials, account_id: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """If KMS fails, reading a genuine record fails too: nothing is judged forged while the key cannot be had."""
    client = ClientFactory(root).kms()
    init_secret(client, NAME)
    grant = _grant(account_id)
    tags = grant_to_tags(grant, KmsKeyring(client, NAME), written_at=grant.created_at)
    monkeypatch.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "1")
    use_emulator.add_fault(kind="error", action="GetSecretValue", code="ServiceUnavailable", status=503, times=None)
    try:
        with pytest.raises(CloudUnavailable):
            grant_from_tags(tags, grant.role_name, account_id, keyring=KmsKeyring(client, NAME))
    finally:
        use_emulator.clear_faults()


def test_the_instance_keyring_follows_the_credentials(use_emulator: Any, root: Credentials,
                                                      account_id: str) -> None:
    """One keyring per instance while the credentials stay; another account's (or a renewed session's)
    credentials get their own, which reads that account's key: a record is never judged by another's key."""
    other = use_emulator.create_account("other")
    other_root = Credentials(other["access_key_id"], other["access_key_secret"])
    factories = [ClientFactory(root), ClientFactory(other_root)]
    for factory in factories:
        init_secret(factory.kms(), NAME)
    clear_cache()
    try:
        mine = keyring_for(factories[0], NAME)
        assert keyring_for(ClientFactory(root), NAME) is mine
        theirs = keyring_for(factories[1], NAME)
        assert theirs is not mine and theirs.signing_key().key_id != mine.signing_key().key_id
        grant = _grant(other["account_id"])
        tags = grant_to_tags(grant, theirs, written_at=grant.created_at)
        assert grant_from_tags(tags, grant.role_name, other["account_id"], keyring=keyring_for(factories[1], NAME)) \
            == grant
        assert keyring_for(factories[0], NAME) is not theirs
    finally:
        clear_cache()
