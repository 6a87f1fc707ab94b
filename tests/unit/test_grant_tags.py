"""The tag codec (shared.grants.tags): a Grant stored in, and read back from, RAM role tags, and its proof."""
from __future__ import annotations

import base64
import dataclasses
import json
import random
import string
import zlib
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.grants.model import Grant, PolicyRef, to_iso_z
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.proof import RecordKey, StaticKeyring, seal
from shared.grants.tags import (
    MANAGED_TAG,
    RecordUnauthenticated,
    TagDecodeError,
    TagError,
    TagLimitError,
    expiry_tag,
    grant_from_tags,
    grant_to_tags,
    is_managed,
    legacy_grant_from_tags,
    record_change,
    proof_of,
    readable_tag_repair,
    record_written_at,
)
from shared.policies.principals import (
    AccountPrincipal,
    OidcPrincipal,
    RolePrincipal,
    SamlPrincipal,
    ServicePrincipal,
    UserPrincipal,
)
from tests.strategies import grants
from tests.unit.grant_samples import GID, KEYRING, OWNER, PARTNER, T0, as_format_2, make_grant

RNG = random.Random(20300501)
ROLE = role_name_for(PARTNER, GID)
W = T0 + timedelta(hours=1)  # when the sample records are written (the cloud's clock)
W2 = T0 + timedelta(days=2)  # when they are changed


def rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def tags_of(grant: Grant, extra: Any = (), *, keyring: Any = KEYRING, written_at: datetime = W) -> list[dict[str, str]]:
    """The grant's tags as Rolegate writes them, signed with the sample key."""
    return grant_to_tags(grant, keyring, written_at=written_at, extra_tags=extra)


def read(tags: Any, role_name: str = ROLE, owner: str = OWNER, **kwargs: Any) -> Grant:
    return grant_from_tags(tags, role_name, owner, keyring=KEYRING, **kwargs)


def change(tags: Any, role_name: str = ROLE, **kwargs: Any) -> list[dict[str, str]]:
    return record_change(tags, role_name, OWNER, KEYRING, written_at=W2, **kwargs)


def assert_valid_tags(tags: list[dict[str, str]]) -> None:
    """RAM's tag rules, checked on every tag list the codec produces."""
    assert len(tags) <= 20
    assert len({t["Key"] for t in tags}) == len(tags)
    for tag in tags:
        assert set(tag) == {"Key", "Value"}
        assert 1 <= len(tag["Key"]) <= 128 and len(tag["Value"]) <= 256
        assert not tag["Key"].lower().startswith(("acs:", "aliyun"))
        assert "http://" not in tag["Value"].lower() and "https://" not in tag["Value"].lower()


def as_map(tags: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def chunk_keys(tags: list[dict[str, str]]) -> list[str]:
    return [t["Key"] for t in tags if t["Key"].startswith("rolegate:r") and t["Key"][10:].isdigit()]


def read_record(tags: list[dict[str, str]]) -> dict[str, Any]:
    """Independent decoder of the documented record format (header, base64url, zlib, JSON)."""
    values = as_map(tags)
    text = "".join(values[k] for k in sorted(chunk_keys(tags), key=lambda k: int(k[10:])))
    version, count, data = text.split(".", 2)
    assert (version, int(count)) == ("3", len(chunk_keys(tags)))
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))))


def with_data(tags: list[dict[str, str]], data: str, version: int = 3) -> list[dict[str, str]]:
    """Replace the record chunks with ``data`` behind a correct ``<version>.<count>.`` header."""
    count = -(-(len(data) + 5) // 256)
    text = f"{version}.{count}.{data}"
    kept = [t for t in tags if t["Key"] not in chunk_keys(tags)]
    return kept + [{"Key": f"rolegate:r{i}", "Value": text[j:j + 256]} for i, j in enumerate(range(0, len(text), 256))]


def packed(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode()


def with_record(tags: list[dict[str, str]], record: Any, version: int = 3) -> list[dict[str, str]]:
    return with_data(tags, packed(json.dumps(record).encode()), version)


def replace(tags: list[dict[str, str]], key: str, value: str | None) -> list[dict[str, str]]:
    out = [t for t in tags if t["Key"] != key]
    return out if value is None else out + [{"Key": key, "Value": value}]


def resealed(tags: list[dict[str, str]], role_name: str = ROLE, owner: str = OWNER) -> list[dict[str, str]]:
    """``tags`` with a valid proof of whatever record they hold: what only a holder of the key can write."""
    return replace(tags, "rolegate:proof", seal(KEYRING.signing_key(), owner, role_name, read_record(tags)))


def applied(tags: list[dict[str, str]], changes: list[dict[str, str]]) -> list[dict[str, str]]:
    """``tags`` after one TagResources call writing ``changes`` (same key: new value; new key: added)."""
    keys = {t["Key"] for t in changes}
    return [t for t in tags if t["Key"] not in keys] + changes


def round_trip(grant: Grant, **kwargs: Any) -> Grant:
    tags = tags_of(grant)
    assert_valid_tags(tags)
    return read(tags, grant.role_name, grant.owner_account_id, **kwargs)


NONCE = SimpleNamespace(token_urlsafe=lambda n: "n0nce-AB")  # stands in for the secrets module: one fixed nonce


@pytest.fixture
def fixed_nonce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write uses the same nonce, so a record's length depends on the grant alone."""
    monkeypatch.setattr("shared.grants.tags.secrets", NONCE)


def long_oidc() -> OidcPrincipal:
    return OidcPrincipal(
        OWNER,
        "github-actions-" + rand(40),
        "https://" + rand(200).lower() + ".oidc.example.com/tenant/" + rand(24),
        tuple(rand(64) for _ in range(10)),
        tuple(f"repo:{rand(12)}/{rand(24)}:ref:refs/heads/{rand(24)}" for _ in range(10)),
    )


def full_policies() -> tuple[PolicyRef, ...]:
    system = tuple(PolicyRef(f"Aliyun{rand(24)}Access", "System", f"rg-{rand(17).lower()}") for _ in range(20))
    custom = tuple(
        PolicyRef(custom_policy_name(GID, i), "Custom", f"rg-{rand(17).lower()}",
                  document={"Version": "1",
                            "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": rand(40)}]})
        for i in range(10)
    )
    return system + custom


# --- layout -----------------------------------------------------------------

def test_readable_tags_and_marker() -> None:
    """Operators and the ListRoles filter see the grant without decoding the record."""
    grant = make_grant()
    values = as_map(tags_of(grant))
    assert values["rolegate:managed"] == "true" == MANAGED_TAG["Value"]
    assert MANAGED_TAG["Key"] == "rolegate:managed"
    assert values["rolegate:grant-id"] == GID
    assert values["rolegate:partner"] == PARTNER
    assert values["rolegate:expires-at"] == "2030-05-08T12:00:00Z"
    assert values["rolegate:principal-kind"] == "user"
    assert values["rolegate:requester"] == "ops@example.com"
    assert values["rolegate:proof"].startswith("k1.")
    assert all(k.startswith("rolegate:") for k in values)


def test_record_has_version_header_expiry_write_time_and_nonce() -> None:
    """The record is format 3: it holds the expiry, when it was written, and a nonce of this write."""
    grant = make_grant()
    tags = tags_of(grant)
    assert as_map(tags)["rolegate:r0"].startswith("3.")
    record = read_record(tags)
    assert record["g"] == GID and record["c"] == int(T0.timestamp())
    assert record["e"] == int((T0 + timedelta(days=7)).timestamp())
    assert record["w"] == int(W.timestamp()) and isinstance(record["q"], str) and "x" not in record
    assert record_written_at(tags, ROLE, OWNER, KEYRING) == W


def test_two_writes_of_one_grant_have_different_proofs() -> None:
    """A twin request writing the same grant is told apart by its proof (the nonce differs), yet both read back."""
    grant = make_grant()
    first, second = tags_of(grant), tags_of(grant)
    assert proof_of(first) and proof_of(second) and proof_of(first) != proof_of(second)
    assert read(first) == read(second) == grant
    assert proof_of("junk") is None and proof_of([{"Key": "env", "Value": "prod"}]) is None


# --- proof --------------------------------------------------------------------

def test_a_record_without_its_proof_is_not_believed() -> None:
    """The record alone, however well-formed, is anyone's to write: without the proof it is not a grant."""
    tags = replace(tags_of(make_grant()), "rolegate:proof", None)
    with pytest.raises(RecordUnauthenticated, match="no proof"):
        read(tags)


def test_a_record_signed_with_another_key_is_not_believed() -> None:
    """A proof made with a key of the same id but other bytes does not verify."""
    forger = StaticKeyring(RecordKey("k1", b"an attacker's guess at the key!!"))
    with pytest.raises(RecordUnauthenticated, match="does not match"):
        read(tags_of(make_grant(), keyring=forger))


def test_a_proof_naming_an_unknown_key_is_not_believed() -> None:
    other = StaticKeyring(RecordKey("k9", b"some other key that is not ours!"))
    with pytest.raises(RecordUnauthenticated, match="'k9', which does not exist"):
        read(tags_of(make_grant(), keyring=other))


@pytest.mark.parametrize("proof", ["", "k1", "k1.", "k1.short", "k 1." + "A" * 43, ".".join(["k1", "A" * 44])])
def test_a_malformed_proof_is_not_believed(proof: str) -> None:
    tags = replace(tags_of(make_grant()), "rolegate:proof", proof)
    with pytest.raises(RecordUnauthenticated):
        read(tags)


def test_a_record_copied_to_another_role_or_account_is_not_believed() -> None:
    """The proof is bound to the owner account and the role: a copy elsewhere does not verify."""
    grant = make_grant(role_name="rolegate-audit-reader")
    tags = tags_of(grant)
    assert read(tags, "rolegate-audit-reader") == grant
    with pytest.raises(RecordUnauthenticated, match="does not match"):
        read(tags, "rolegate-admin")
    with pytest.raises(RecordUnauthenticated, match="does not match"):
        read(tags, "rolegate-audit-reader", "9999888877776666")


def test_a_changed_record_is_not_believed() -> None:
    """A later expiry or another policy written into the record breaks its proof."""
    tags = tags_of(make_grant())
    record = read_record(tags)
    for changed in ({**record, "e": record["e"] + 86400 * 3650}, {**record, "pol": [["AdministratorAccess", "S"]]}):
        with pytest.raises(RecordUnauthenticated, match="does not match"):
            read(with_record(tags, changed))


def test_records_signed_before_a_rotation_keep_verifying() -> None:
    """After a rotation new records are signed with the new key; the old key still proves the old records."""
    old_key, new_key = KEYRING.signing_key(), RecordKey("k2", b"the record key after a rotation!")
    grant = make_grant()
    old = tags_of(grant)
    rotated = StaticKeyring(new_key, old_key)
    assert grant_from_tags(old, ROLE, OWNER, keyring=rotated) == grant
    new = tags_of(grant, keyring=rotated)
    assert as_map(new)["rolegate:proof"].startswith("k2.")
    assert grant_from_tags(new, ROLE, OWNER, keyring=rotated) == grant
    moved = applied(old, record_change(old, ROLE, OWNER, rotated, written_at=W2, expires_at=T0 + timedelta(days=9)))
    assert as_map(moved)["rolegate:proof"].startswith("k2.")
    with pytest.raises(RecordUnauthenticated, match="'k2', which does not exist"):
        read(moved)


def test_records_written_before_proofs_are_not_believed() -> None:
    """Format 2 records carry no proof: they are only adopted, by an operator who has seen them."""
    old = as_format_2(tags_of(make_grant()))
    assert as_map(old)["rolegate:r0"].startswith("2.") and "rolegate:proof" not in as_map(old)
    with pytest.raises(RecordUnauthenticated, match="format 2.*grants adopt"):
        read(old)
    with pytest.raises(RecordUnauthenticated, match="format 2"):
        read(resealed_legacy(old))


def resealed_legacy(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    """An old record with a proof tag that would verify its content: still not believed (the format says when)."""
    values = as_map(tags)
    text = "".join(values[k] for k in sorted(chunk_keys(tags), key=lambda k: int(k[10:])))
    data = text.split(".", 2)[2]
    record = json.loads(zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))))
    return replace(tags, "rolegate:proof", seal(KEYRING.signing_key(), OWNER, ROLE, record))


# --- readable tags ------------------------------------------------------------

READABLE_EDITS = {
    "expiry pushed later": ("rolegate:expires-at", "2099-01-01T00:00:00Z"),
    "expiry removed": ("rolegate:expires-at", None),
    "expiry garbled": ("rolegate:expires-at", "forever"),
    "grant id changed": ("rolegate:grant-id", "g-zzzzzzzzzzzz"),
    "partner changed": ("rolegate:partner", "9" * 16),
    "kind changed": ("rolegate:principal-kind", "account"),
    "kind removed": ("rolegate:principal-kind", None),
    "requester changed": ("rolegate:requester", "mallory"),
}


@pytest.mark.parametrize("case", sorted(READABLE_EDITS))
def test_readable_tags_play_no_part_in_the_grant(case: str) -> None:
    """Anyone may tag a role: the proven record is the grant, whatever the readable tags say."""
    key, value = READABLE_EDITS[case]
    grant = make_grant()
    assert read(replace(tags_of(grant), key, value)) == grant


def test_record_change_rewrites_readable_tag_and_record_in_one_write() -> None:
    """Moving the expiry writes the readable tag, the same chunk keys and a new proof, all in one call."""
    grant = make_grant(policies=full_policies())
    before = tags_of(grant)
    later = grant.with_expiry(T0 + timedelta(days=90))
    changes = change(before, expires_at=later.expires_at)
    assert changes[0] == expiry_tag(later.expires_at) and changes[-1]["Key"] == "rolegate:proof"
    assert sorted(chunk_keys(changes)) == sorted(chunk_keys(before)) and len(changes) <= 20
    after = applied(before, changes)
    assert_valid_tags(after)
    assert read(after) == later
    assert record_written_at(after, ROLE, OWNER, KEYRING) == W2


def test_record_change_marks_a_grant_revoked() -> None:
    """A tombstone's record says when it was revoked; the rest of the grant is unchanged."""
    grant = make_grant()
    before = tags_of(grant)
    after = applied(before, change(before, revoked_at=W2))
    back = read(after)
    assert back.is_tombstone and back.revoked_at == W2
    assert dataclasses.replace(back, revoked_at=None) == grant and not grant.is_tombstone
    assert back.to_public_dict()["revoked_at"] == to_iso_z(W2)


def test_record_change_refuses_an_unproven_record() -> None:
    """Only a proven record is ever changed (and signed again)."""
    tags = tags_of(make_grant())
    with pytest.raises(RecordUnauthenticated):
        change(replace(tags, "rolegate:proof", None), expires_at=T0 + timedelta(days=9))
    with pytest.raises(RecordUnauthenticated, match="format 2"):
        change(as_format_2(tags), expires_at=T0 + timedelta(days=9))


def test_readable_tag_repair_restores_the_readable_tags_from_the_record() -> None:
    """Edited or removed readable tags are rewritten from the proven record."""
    grant = make_grant()
    tags = tags_of(grant)
    for damaged in (replace(tags, "rolegate:expires-at", "2099-01-01T00:00:00Z"),
                    replace(tags, "rolegate:expires-at", None)):
        to_set, to_remove = readable_tag_repair(damaged, ROLE, OWNER, KEYRING)
        assert (to_set, to_remove) == ([expiry_tag(grant.expires_at)], [])
        assert as_map(applied(damaged, to_set)) == as_map(tags)
    damaged = replace(replace(tags, "rolegate:partner", "9" * 16), "rolegate:requester", "mallory")
    to_set, to_remove = readable_tag_repair(damaged, ROLE, OWNER, KEYRING)
    assert sorted(t["Key"] for t in to_set) == ["rolegate:partner", "rolegate:requester"] and to_remove == []
    assert as_map(applied(damaged, to_set)) == as_map(tags)
    assert readable_tag_repair(tags, ROLE, OWNER, KEYRING) == ([], [])


def test_readable_tag_repair_removes_chunks_beyond_the_record() -> None:
    tags = tags_of(make_grant())
    extra = tags + [{"Key": "rolegate:r7", "Value": "AAAA"}]
    assert readable_tag_repair(extra, ROLE, OWNER, KEYRING) == ([], ["rolegate:r7"])


def test_readable_tag_repair_needs_a_proven_record() -> None:
    tags = replace(tags_of(make_grant()), "rolegate:proof", None)
    with pytest.raises(RecordUnauthenticated):
        readable_tag_repair(tags, ROLE, OWNER, KEYRING)


# --- adopting records written before proofs ------------------------------------

def test_legacy_format_2_reads_strictly() -> None:
    """Nothing vouches for an old record, so every readable tag must agree with it."""
    grant = make_grant(policies=full_policies())
    old = as_format_2(tags_of(grant))
    assert as_map(old)["rolegate:r0"].startswith("2.")
    assert legacy_grant_from_tags(old, ROLE, OWNER) == grant
    for key, value, reason in [
        ("rolegate:expires-at", "2099-01-01T00:00:00Z", "expires-at='2099-01-01T00:00:00Z' disagrees"),
        ("rolegate:expires-at", None, "expires-at is missing"),
        ("rolegate:grant-id", "g-zzzzzzzzzzzz", "grant-id"),
        ("rolegate:partner", "9" * 16, "partner"),
        ("rolegate:principal-kind", None, "principal-kind is missing"),
        ("rolegate:managed", None, "not managed"),
    ]:
        with pytest.raises(TagDecodeError, match=reason):
            legacy_grant_from_tags(replace(old, key, value), ROLE, OWNER)


def test_legacy_read_refuses_a_current_record() -> None:
    with pytest.raises(TagDecodeError, match="already in format 3"):
        legacy_grant_from_tags(tags_of(make_grant()), ROLE, OWNER)


def test_legacy_read_still_validates_the_grant() -> None:
    grant = make_grant()
    record = read_record(tags_of(grant))
    record["c"] = int((T0 + timedelta(days=8)).timestamp())
    with pytest.raises(TagDecodeError, match="expires_at"):
        legacy_grant_from_tags(as_format_2(with_record(tags_of(grant), record)), ROLE, OWNER)


def test_adopted_record_reads_back_as_proven() -> None:
    """What adoption writes (the legacy grant, signed now) is the same grant, proven."""
    grant = make_grant()
    old = as_format_2(tags_of(grant))
    adopted = tags_of(legacy_grant_from_tags(old, ROLE, OWNER))
    assert read(adopted) == grant


# --- moving the expiry ----------------------------------------------------------

def _crossing(grow: bool, field: str = "description") -> tuple[Grant, datetime]:
    """A grant and a new expiry with which its record needs one chunk more (``grow``) or fewer than now.

    The grant's ``field`` (description, or ticket with no description) is cut
    from random letters, which do not compress, so the record's length steps
    with it until the expiry's few bytes tip it over a 256-character boundary.
    Needs ``fixed_nonce`` (and a fixed write time) so the length depends on the grant alone.
    """
    rng = random.Random(field)
    text = "".join(rng.choice(string.ascii_letters) for _ in range(1024 if field == "description" else 128))
    moments = [T0 + timedelta(seconds=1), T0 + timedelta(days=7), T0 + timedelta(days=29, seconds=7),
               T0 + timedelta(days=3650, seconds=12345), T0 + timedelta(days=7300)]
    for length in range(1, len(text) + 1):
        for start in moments[1:]:
            grant = make_grant(**{"description": None, field: text[:length]}, expires_at=start)
            count = len(chunk_keys(tags_of(grant)))
            for moment in moments:
                needed = len(chunk_keys(tags_of(grant.with_expiry(moment), written_at=W2)))
                if needed == count + (1 if grow else -1):
                    return grant, moment
    raise AssertionError(f"no {field} length makes the record cross a chunk boundary")


def test_record_change_keeps_the_chunk_count_when_the_record_shrinks(fixed_nonce: None) -> None:
    """A record that would fit in fewer chunks is spread over the same keys: nothing is left over to remove."""
    grant, moment = _crossing(grow=False)
    before = tags_of(grant)
    changes = change(before, expires_at=moment)
    assert sorted(chunk_keys(changes)) == sorted(chunk_keys(before))
    after = applied(before, changes)
    assert_valid_tags(after)
    assert read(after) == grant.with_expiry(moment)


def test_record_change_adds_a_chunk_in_the_same_write_when_there_is_room(fixed_nonce: None) -> None:
    """A record that outgrows its chunks takes one more key, written by the same call."""
    grant, moment = _crossing(grow=True)
    before = tags_of(grant)
    changes = change(before, expires_at=moment)
    assert len(chunk_keys(changes)) == len(chunk_keys(before)) + 1
    after = applied(before, changes)
    assert_valid_tags(after)
    assert read(after) == grant.with_expiry(moment)


def test_record_change_on_a_full_role_shortens_the_recorded_description(fixed_nonce: None) -> None:
    """With all 20 tags taken, the record keeps its chunks and gives up the description's end instead."""
    grant, moment = _crossing(grow=True)
    room = 20 - len(tags_of(grant))
    before = tags_of(grant, [{"Key": f"team{i}", "Value": "x"} for i in range(room)])
    changes = change(before, expires_at=moment)
    assert sorted(chunk_keys(changes)) == sorted(chunk_keys(before))
    after = applied(before, changes)
    assert_valid_tags(after)
    full = read(after, role_description=grant.description)
    assert full == grant.with_expiry(moment)
    alone = read(after)
    assert grant.description.startswith(alone.description or "") and alone.description != grant.description


def test_record_change_on_a_full_role_without_description_raises_tag_limit_error(fixed_nonce: None) -> None:
    """Nothing left to give up within one call: TagLimitError, and the caller writes nothing."""
    grant, moment = _crossing(grow=True, field="ticket")
    room = 20 - len(tags_of(grant))
    full = tags_of(grant, [{"Key": f"team{i}", "Value": "x"} for i in range(room)])
    with pytest.raises(TagLimitError, match="no description left to shorten"):
        change(full, expires_at=moment)


@pytest.mark.parametrize(
    "principal",
    [
        AccountPrincipal(PARTNER, None),
        AccountPrincipal(PARTNER, "ext-123"),
        UserPrincipal(PARTNER, "Alice@corp_1.x"),
        RolePrincipal(PARTNER, "ci-deployer"),
        SamlPrincipal(OWNER, "okta.prod"),
        OidcPrincipal(OWNER, "gh", "https://token.actions.githubusercontent.com", ("sts.aliyuncs.com",)),
        ServicePrincipal("ecs.aliyuncs.com"),
    ],
)
def test_every_principal_kind_round_trips(principal: Any) -> None:
    """The record restores every principal field, and the readable kind matches."""
    grant = make_grant(principal=principal)
    tags = tags_of(grant)
    assert as_map(tags)["rolegate:principal-kind"] == principal.kind
    assert read(tags) == grant


def test_optional_fields_absent_round_trip() -> None:
    """None stays None: no empty strings are invented for requester, ticket or description."""
    grant = make_grant(requester=None, ticket=None, description=None)
    tags = tags_of(grant)
    assert "rolegate:requester" not in as_map(tags)
    assert round_trip(grant) == grant


# --- limits -------------------------------------------------------------------

def test_oidc_at_limits_round_trips() -> None:
    """10 audiences, 10 subjects and a long https issuer survive, with no URL in any value."""
    grant = make_grant(principal=long_oidc())
    assert round_trip(grant) == grant


def test_longest_external_id_round_trips() -> None:
    """A 1224-char ExternalId (STS maximum) is kept exactly."""
    external_id = rand(1224, string.ascii_letters + string.digits + "_+=,.@:/-")
    grant = make_grant(principal=AccountPrincipal(PARTNER, external_id))
    assert round_trip(grant) == grant


def test_full_policy_set_with_resource_groups_round_trips() -> None:
    """20 system + 10 custom policies keep names, kinds, resource groups and hashes."""
    grant = make_grant(policies=full_policies())
    back = round_trip(grant)
    assert back == grant
    assert [p.document_hash for p in back.policies] == [p.document_hash for p in grant.policies]
    assert [p.resource_group_id for p in back.policies] == [p.resource_group_id for p in grant.policies]
    assert all(p.document is None for p in back.policies)


def test_longest_description_and_role_name_round_trip() -> None:
    """A 1024-char description and a 64-char role name fit alongside an ordinary grant."""
    grant = make_grant(description=rand(1024, string.ascii_letters + " "), role_name="rolegate-" + "x" * 55)
    assert len(grant.role_name) == 64
    assert round_trip(grant) == grant


def test_worst_case_drops_requester_tag_then_truncates_description() -> None:
    """At the limit the redundant requester tag goes first, then the description's end."""
    grant = make_grant(principal=long_oidc(), policies=full_policies(),
                       description=rand(1024, string.ascii_letters + " "), role_name="rolegate-" + "y" * 55)
    tags = tags_of(grant)
    assert_valid_tags(tags)
    assert len(tags) == 20
    assert "rolegate:requester" not in as_map(tags)
    restored = read(tags, grant.role_name, role_description=grant.description)
    assert restored == grant
    alone = read(tags, grant.role_name)
    assert alone.requester == grant.requester
    assert alone.description and grant.description.startswith(alone.description)
    assert len(alone.description) < 1024
    assert alone.with_expiry(grant.expires_at).principal == grant.principal


def test_truncated_description_ignores_a_different_role_description() -> None:
    """An edited role Description is not taken as the grant's description."""
    grant = make_grant(principal=long_oidc(), policies=full_policies(), description=rand(1024, string.ascii_letters))
    tags = tags_of(grant)
    other = "Z" + grant.description[1:]
    back = read(tags, role_description=other)
    assert back.description != other and grant.description.startswith(back.description or "")


def test_requester_is_kept_readable_when_it_fits() -> None:
    """With room to spare the requester gets its readable tag."""
    assert "rolegate:requester" in as_map(tags_of(make_grant(policies=full_policies())))


def test_requester_with_url_is_recorded_but_not_readable() -> None:
    """Tag values must not contain https://; the requester then lives only in the record."""
    grant = make_grant(requester="https://idp.example.com/users/7")
    tags = tags_of(grant)
    assert "rolegate:requester" not in as_map(tags)
    assert read(tags).requester == grant.requester


@pytest.mark.parametrize("requester", ["acs:ram::1234567890123456:user/alice", "ACS:RAM::1:root"])
def test_requester_starting_with_acs_is_recorded_but_not_readable(requester: str) -> None:
    """Tag values must not start with acs: (the tag rules), so an ARN requester lives only in the record."""
    grant = make_grant(requester=requester)
    tags = tags_of(grant)
    assert "rolegate:requester" not in as_map(tags)
    assert all(not t["Value"].lower().startswith("acs:") for t in tags)
    assert read(tags).requester == requester


def test_oversized_grant_raises_tag_limit_error() -> None:
    """A record that cannot fit is refused before anything is created, with counts in the message."""
    principal = OidcPrincipal(OWNER, "gh", "https://" + rand(250), tuple(rand(300) for _ in range(10)),
                              tuple(rand(300) for _ in range(10)))
    with pytest.raises(TagLimitError, match=r"needs \d+ tags but only 14 of 20 are free"):
        tags_of(make_grant(principal=principal, description=None))


# --- caller tags ----------------------------------------------------------------

def test_extra_tags_are_kept_and_counted() -> None:
    """Caller tags are appended unchanged and count toward the 20."""
    extras = [{"Key": "team", "Value": "audit"}, {"TagKey": "cost-center", "TagValue": "42"}]
    tags = tags_of(make_grant(), extras)
    assert_valid_tags(tags)
    assert tags[-2:] == [{"Key": "team", "Value": "audit"}, {"Key": "cost-center", "Value": "42"}]
    assert read(tags) == make_grant()


def test_extra_tags_shrink_the_room_for_the_record() -> None:
    """With 13 caller tags only one record tag is left, which an ordinary grant exceeds."""
    extras = [{"Key": f"k{i}", "Value": "v"} for i in range(13)]
    with pytest.raises(TagLimitError, match="only 1 of 20 are free.*13 caller tags"):
        tags_of(make_grant(principal=long_oidc(), description=None), extras)


@pytest.mark.parametrize(
    "extra",
    [
        {"Key": "rolegate:managed", "Value": "false"},
        {"Key": "rolegate:proof", "Value": "k1.x"},
        {"Key": "acs:owner", "Value": "x"},
        {"Key": "AliyunThing", "Value": "x"},
        {"Key": "link", "Value": "see https://example.com"},
        {"Key": "see https://example.com", "Value": "x"},
        {"Key": "owner", "Value": "acs:ram::1234567890123456:user/alice"},
        {"Key": "owner", "Value": "Acs:x"},
        {"Key": "k" * 129, "Value": "x"},
        {"Key": "k", "Value": "v" * 257},
        {"Key": "", "Value": "x"},
        {"Key": 5, "Value": "x"},
    ],
)
def test_unusable_extra_tags_are_refused(extra: dict[str, str]) -> None:
    """Caller tags may not impersonate the record or break RAM's tag rules."""
    with pytest.raises(TagError):
        tags_of(make_grant(), [extra])


# --- reading ------------------------------------------------------------------

def test_list_roles_shape_and_wrapper_are_accepted() -> None:
    """ListRoles returns {"Tag": [{"TagKey","TagValue"}]}; both it and the bare list decode."""
    grant = make_grant()
    tags = tags_of(grant)
    listed = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]
    assert read(listed) == grant
    assert read({"Tag": listed}) == grant
    assert is_managed({"Tag": listed})
    assert proof_of({"Tag": listed}) == proof_of(listed) == as_map(tags)["rolegate:proof"]


def test_foreign_tags_are_ignored() -> None:
    """Tags set by other tools, even odd ones, do not disturb decoding."""
    grant = make_grant()
    tags = [{"Key": "env", "Value": "prod"}, {"TagKey": "owner"}] + tags_of(grant)
    tags.append({"Key": "rolegate:note", "Value": "added by hand"})
    assert read(tags) == grant


def test_role_name_is_matched_case_insensitively() -> None:
    """RAM may report the role name in another case; the record (and its proof) still belong to it."""
    grant = make_grant()
    back = read(tags_of(grant), grant.role_name.upper())
    assert back.role_name == grant.role_name.upper()


def test_is_managed() -> None:
    """Only the exact marker counts, and garbage never raises."""
    assert is_managed(tags_of(make_grant()))
    assert is_managed([MANAGED_TAG])
    assert not is_managed([{"Key": "rolegate:managed", "Value": "false"}])
    assert not is_managed([{"Key": "env", "Value": "prod"}])
    assert not is_managed(None)
    assert not is_managed([7])


# --- decode errors --------------------------------------------------------------

GOOD_GRANT = make_grant(principal=long_oidc(), description=None)
GOOD_TAGS = tags_of(GOOD_GRANT)


def _good() -> list[dict[str, str]]:
    return [dict(tag) for tag in GOOD_TAGS]


def _swap(tags: list[dict[str, str]], a: str, b: str) -> list[dict[str, str]]:
    values = as_map(tags)
    return replace(replace(tags, a, values[b]), b, values[a])


def _flip(value: str, index: int) -> str:
    return value[:index] + ("A" if value[index] != "A" else "B") + value[index + 1:]


def _record_changed(**changes: Any) -> list[dict[str, str]]:
    tags = _good()
    record = read_record(tags)
    record.update(changes)
    return with_record(tags, {k: v for k, v in record.items() if v is not None})


def _signed(**changes: Any) -> list[dict[str, str]]:
    """A changed record signed with the key: what is wrong is then the record itself, not who wrote it."""
    return resealed(_record_changed(**changes))


DECODE_CASES = {
    "not a list": (lambda: "rolegate:managed=true", "list"),
    "entry not an object": (lambda: _good() + ["x"], "object"),
    "non-string value": (lambda: _good() + [{"Key": "k", "Value": 3}], "string"),
    "conflicting duplicate": (lambda: _good() + [{"Key": "rolegate:partner", "Value": "1" * 16}], "twice"),
    "foreign role": (lambda: [{"Key": "env", "Value": "prod"}], "r0 is missing"),
    "missing r0": (lambda: replace(_good(), "rolegate:r0", None), "r0 is missing"),
    "missing chunk": (lambda: replace(_good(), "rolegate:r1", None), "r1 of"),
    "extra chunk": (lambda: _good() + [{"Key": "rolegate:r19", "Value": "AAAA"}], "beyond"),
    "no header": (lambda: replace(_good(), "rolegate:r0", "eJzLSM3JyQcABiwCFQ"), "header"),
    "unknown version": (lambda: with_record(_good(), {"g": GID}, version=4), "version 4"),
    "format 1 record": (lambda: with_record(_good(), read_record(_good()), version=1), "version 1 is not supported"),
    "format 2 record": (lambda: as_format_2(_good()), "format 2"),
    "record without expiry": (lambda: _record_changed(e=None), "lacks field 'e'"),
    "record without write time": (lambda: _record_changed(w=None), "lacks field 'w'"),
    "expiry wrong type": (lambda: _record_changed(e="2030-05-08T12:00:00Z"), "'e' has the wrong type"),
    "nonce wrong type": (lambda: _record_changed(q=7), "'q' has the wrong type"),
    "expiry out of range": (lambda: _signed(e=10 ** 20), "expiry time is out of range"),
    "revocation out of range": (lambda: _signed(x=10 ** 20), "revocation time is out of range"),
    "record expiry moved": (lambda: _record_changed(e=int((T0 + timedelta(days=9)).timestamp())),
                            "does not match its content"),
    "proof missing": (lambda: replace(_good(), "rolegate:proof", None), "no proof"),
    "proof of another record": (lambda: replace(_good(), "rolegate:proof", as_map(tags_of(make_grant()))[
        "rolegate:proof"]), "does not match"),
    "bad base64 chars": (lambda: replace(_good(), "rolegate:r1", "!!" + as_map(_good())["rolegate:r1"][2:]),
                         "base64url"),
    "bad base64 length": (lambda: with_data(_good(), "AAAAA"), "base64url"),
    "newline in chunk": (lambda: replace(_good(), "rolegate:r1", as_map(_good())["rolegate:r1"] + "\n"), "base64url"),
    "corrupt chunk": (lambda: replace(_good(), "rolegate:r1", _flip(as_map(_good())["rolegate:r1"], 100)),
                      "corrupt"),
    "swapped chunks": (lambda: _swap(_good(), "rolegate:r1", "rolegate:r2"), "corrupt"),
    "chunk shortened": (lambda: replace(_good(), "rolegate:r2", as_map(_good())["rolegate:r2"][:-8]), "corrupt"),
    "record cut short": (lambda: with_data(_good(), packed(json.dumps(read_record(_good())).encode())[:-12]),
                         "truncated"),
    "trailing data": (lambda: with_data(_good(), base64.urlsafe_b64encode(
        zlib.compress(b"{}") + b"xx").decode().rstrip("=")), "trailing"),
    "zlib bomb": (lambda: with_data(_good(), packed(b" " * 200_000)), "large"),
    "not json": (lambda: with_data(_good(), packed(b"\xff{")), "JSON"),
    "json not object": (lambda: with_record(_good(), [1, 2]), "not a JSON object"),
    "unknown field": (lambda: _record_changed(zz=1), "unknown field"),
    "missing field": (lambda: _record_changed(pr=None), "lacks field 'pr'"),
    "wrong type": (lambda: _record_changed(s="3600"), "'s' has the wrong type"),
    "bool as int": (lambda: _record_changed(c=True), "'c' has the wrong type"),
    "bad policy entry": (lambda: _signed(pol=[["AliyunX", "X"]]), "policy entries"),
    "invalid policy": (lambda: _signed(pol=[["Bad_Name", "S"]]), "invalid grant"),
    "custom without hash": (lambda: _signed(pol=[["p1", "C"]]), "document_hash"),
    "invalid principal": (lambda: _signed(pr={"type": "oidc", "provider": "gh", "issuer": "http://x",
                                             "audiences": ["a"]}), "principal.issuer"),
    "wildcard principal": (lambda: _signed(pr={"type": "oidc", "provider": "gh", "issuer": "https://x",
                                              "audiences": ["*"]}), "wildcards"),
    "session out of range": (lambda: _signed(s=99), "max_session_duration"),
    "created out of range": (lambda: _signed(c=10 ** 20), "out of range"),
    "expiry before creation": (lambda: _signed(c=int((T0 + timedelta(days=8)).timestamp())), "expires_at"),
    "record for other role": (lambda: _signed(n="other-role"), "written for role 'other-role'"),
    "unsigned record for other role": (lambda: _record_changed(n="other-role"), "does not match"),
}


@pytest.mark.parametrize("case", sorted(DECODE_CASES))
def test_decode_errors(case: str) -> None:
    """Malformed, foreign, partial, unproven or inconsistent tags raise TagDecodeError naming the problem."""
    build, reason = DECODE_CASES[case]
    tags = build()
    with pytest.raises(TagDecodeError) as info:
        read(tags)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


@pytest.mark.parametrize("marker", ["false", None])
def test_the_marker_is_a_hint_the_proof_decides(marker: str | None) -> None:
    """A proven record reads as its grant whatever the readable marker says (it is only a listing filter)."""
    assert read(replace(_good(), "rolegate:managed", marker)) == read(_good())


def test_decode_cases_start_from_a_decodable_grant() -> None:
    """The error cases mutate a record that is valid and spans several chunks."""
    assert len(chunk_keys(_good())) >= 3
    assert read(_good()) == GOOD_GRANT
    assert read(resealed(_good())) == GOOD_GRANT


# --- properties -----------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(grants())
def test_any_valid_grant_round_trips(grant: Grant) -> None:
    """Every valid grant is recorded within RAM's tag rules and read back equal.

    From the tags alone (no role Description) only a truncated description's end may be missing.
    """
    tags = tags_of(grant, written_at=grant.created_at)
    assert_valid_tags(tags)
    back = read(tags, grant.role_name, grant.owner_account_id, role_description=grant.description)
    assert back == grant
    assert is_managed(tags)
    assert record_written_at(tags, grant.role_name, grant.owner_account_id, KEYRING) == grant.created_at
    alone = read(tags, grant.role_name, grant.owner_account_id)
    assert grant.description is None or grant.description.startswith(alone.description or "")
    assert alone == dataclasses.replace(grant, description=alone.description)


@settings(max_examples=40, deadline=None)
@given(grants(), st.lists(st.tuples(st.from_regex(r"[a-z]{1,20}", fullmatch=True), st.text(max_size=40)),
                          max_size=16, unique_by=lambda kv: kv[0]))
def test_extra_tags_either_fit_or_raise_tag_limit_error(grant: Grant, extras: list[tuple[str, str]]) -> None:
    """Caller tags never push the total past 20: the codec fits or refuses."""
    extra_tags = [{"Key": k, "Value": v} for k, v in extras if "http" not in v and not v.lower().startswith("acs:")]
    try:
        tags = tags_of(grant, extra_tags)
    except TagLimitError:
        return
    assert_valid_tags(tags)
    assert tags[len(tags) - len(extra_tags):] == extra_tags
    back = read(tags, grant.role_name, grant.owner_account_id, role_description=grant.description)
    assert back == grant


@settings(max_examples=60, deadline=None)
@given(grants(), st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3650)))
def test_any_grant_moves_to_any_expiry_in_one_write(grant: Grant, lifetime: timedelta) -> None:
    """record_change keeps every chunk key (adding at most one) and the result reads back as the moved grant."""
    tags = tags_of(grant)
    moment = grant.created_at + lifetime
    try:
        changes = record_change(tags, grant.role_name, grant.owner_account_id, KEYRING, written_at=W2,
                                expires_at=moment)
    except TagLimitError:
        assert len(tags) == 20 and not grant.description  # a full role with nothing left to give up
        return
    assert len(changes) <= 20
    after = applied(tags, changes)
    assert_valid_tags(after)
    assert set(chunk_keys(tags)) <= set(chunk_keys(after)) and len(chunk_keys(after)) <= len(chunk_keys(tags)) + 1
    back = read(after, grant.role_name, grant.owner_account_id, role_description=grant.description)
    assert back == grant.with_expiry(moment)
    assert as_map(after)["rolegate:expires-at"] == to_iso_z(back.expires_at)


_MUTATIONS = st.sampled_from(["drop", "value", "truncate", "duplicate", "rekey"])


@settings(max_examples=100, deadline=None)
@given(grants(), st.data())
def test_tampered_tags_read_as_the_proven_grant_or_not_at_all(grant: Grant, data: st.DataObject) -> None:
    """Whatever is done to the tags, reading yields the grant as written or TagDecodeError, never another grant."""
    with mock.patch("shared.grants.tags.secrets", NONCE):  # the draws below must not depend on a random nonce
        tags = tags_of(grant)
    original = read(tags, grant.role_name, grant.owner_account_id)
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(tags) - 1))
        tag = tags[index]
        action = data.draw(_MUTATIONS)
        if action == "drop" and len(tags) > 1:
            tags = tags[:index] + tags[index + 1:]
        elif action == "value":
            tags[index] = {"Key": tag["Key"], "Value": data.draw(st.text(max_size=300))}
        elif action == "truncate":
            tags[index] = {"Key": tag["Key"], "Value": tag["Value"][: data.draw(st.integers(0, 255))]}
        elif action == "duplicate":
            tags.append({"Key": data.draw(st.sampled_from([t["Key"] for t in tags])), "Value": tag["Value"]})
        else:
            tags[index] = {"Key": data.draw(st.sampled_from(["rolegate:r0", "rolegate:r1", "rolegate:r7",
                                                             "rolegate:proof", "x"])),
                           "Value": tag["Value"]}
    try:
        back = read(tags, grant.role_name, grant.owner_account_id)
    except TagDecodeError as exc:
        assert exc.reason
    else:
        assert back == original


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["Key", "Value", "TagKey", "TagValue", "x"]),
                                st.one_of(st.text(max_size=20), st.integers(), st.none()), max_size=4),
                max_size=6))
def test_arbitrary_tag_lists_never_crash(tags: list[dict[str, Any]]) -> None:
    """Junk input from any source is reported as TagDecodeError, and is_managed just says False."""
    assert is_managed(tags) in (True, False)
    with pytest.raises(TagDecodeError):
        read(tags, "r")
    with pytest.raises(TagDecodeError):
        legacy_grant_from_tags(tags, "r", OWNER)
