"""The tag codec (shared.grants.tags): a Grant stored in, and read back from, RAM role tags."""
from __future__ import annotations

import base64
import dataclasses
import json
import random
import string
import zlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.grants import (
    MANAGED_TAG,
    Grant,
    PolicyRef,
    TagDecodeError,
    TagError,
    TagLimitError,
    custom_policy_name,
    expiry_change,
    expiry_from_tags,
    expiry_tag,
    grant_from_tags,
    grant_to_tags,
    is_managed,
    record_expiry,
    role_name_for,
    to_iso_z,
)
from shared.grants.tags import readable_tag_repair
from shared.policies.principals import (
    AccountPrincipal,
    OidcPrincipal,
    RolePrincipal,
    SamlPrincipal,
    ServicePrincipal,
    UserPrincipal,
)
from tests.strategies import grants
from tests.unit.grant_samples import GID, OWNER, PARTNER, T0, as_format_1, make_grant

RNG = random.Random(20300501)


def rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


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
    text = "".join(values[k] for k in chunk_keys(tags))
    version, count, data = text.split(".", 2)
    assert (version, int(count)) == ("2", len(chunk_keys(tags)))
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))))


def with_data(tags: list[dict[str, str]], data: str, version: int = 2) -> list[dict[str, str]]:
    """Replace the record chunks with ``data`` behind a correct ``<version>.<count>.`` header."""
    count = -(-(len(data) + 5) // 256)
    text = f"{version}.{count}.{data}"
    kept = [t for t in tags if t["Key"] not in chunk_keys(tags)]
    return kept + [{"Key": f"rolegate:r{i}", "Value": text[j:j + 256]} for i, j in enumerate(range(0, len(text), 256))]


def packed(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode()


def with_record(tags: list[dict[str, str]], record: Any, version: int = 2) -> list[dict[str, str]]:
    return with_data(tags, packed(json.dumps(record).encode()), version)


def replace(tags: list[dict[str, str]], key: str, value: str | None) -> list[dict[str, str]]:
    out = [t for t in tags if t["Key"] != key]
    return out if value is None else out + [{"Key": key, "Value": value}]


def applied(tags: list[dict[str, str]], changes: list[dict[str, str]]) -> list[dict[str, str]]:
    """``tags`` after one TagResources call writing ``changes`` (same key: new value; new key: added)."""
    keys = {t["Key"] for t in changes}
    return [t for t in tags if t["Key"] not in keys] + changes


def round_trip(grant: Grant, **kwargs: Any) -> Grant:
    tags = grant_to_tags(grant)
    assert_valid_tags(tags)
    return grant_from_tags(tags, grant.role_name, grant.owner_account_id, **kwargs)


def long_oidc() -> OidcPrincipal:
    return OidcPrincipal(
        PARTNER,
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
    values = as_map(grant_to_tags(grant))
    assert values["rolegate:managed"] == "true" == MANAGED_TAG["Value"]
    assert MANAGED_TAG["Key"] == "rolegate:managed"
    assert values["rolegate:grant-id"] == GID
    assert values["rolegate:partner"] == PARTNER
    assert values["rolegate:expires-at"] == "2030-05-08T12:00:00Z"
    assert values["rolegate:principal-kind"] == "user"
    assert values["rolegate:requester"] == "ops@example.com"
    assert all(k.startswith("rolegate:") for k in values)


def test_record_has_version_header_and_the_expiry() -> None:
    """The record is format 2 and holds the expiry too, so a hand-edited readable expiry can be caught."""
    grant = make_grant()
    tags = grant_to_tags(grant)
    assert as_map(tags)["rolegate:r0"].startswith("2.1.")
    record = read_record(tags)
    assert record["g"] == GID and record["c"] == int(T0.timestamp())
    assert record["e"] == int((T0 + timedelta(days=7)).timestamp())
    assert record_expiry(tags) == grant.expires_at


def test_expiry_change_rewrites_readable_tag_and_record_in_one_write() -> None:
    """Moving the expiry writes the readable tag and the same chunk keys, all in one call, and reads back."""
    grant = make_grant(policies=full_policies())
    before = grant_to_tags(grant)
    later = grant.with_expiry(T0 + timedelta(days=90))
    changes = expiry_change(before, later.expires_at)
    assert changes[0] == expiry_tag(later.expires_at)
    assert sorted(t["Key"] for t in changes[1:]) == sorted(chunk_keys(before)) and len(changes) <= 20
    after = applied(before, changes)
    assert_valid_tags(after)
    assert grant_from_tags(after, grant.role_name, OWNER) == later
    assert record_expiry(after) == later.expires_at == expiry_from_tags(after)


def test_readable_expiry_alone_edited_is_refused() -> None:
    """Only the readable expiry changed (what ram:TagResources by hand does): the grant is refused, not believed."""
    grant = make_grant()
    tampered = replace(grant_to_tags(grant), "rolegate:expires-at", "2099-01-01T00:00:00Z")
    with pytest.raises(TagDecodeError, match="expires-at='2099-01-01T00:00:00Z' disagrees with the record"):
        grant_from_tags(tampered, grant.role_name, OWNER)


@pytest.mark.parametrize("readable,expected", [
    ("2099-01-01T00:00:00Z", "2030-05-08T12:00:00Z"),  # pushed later: the record's time holds
    ("2030-05-02T00:00:00Z", "2030-05-02T00:00:00Z"),  # pulled earlier: the grant ends sooner
])
def test_expiry_from_tags_takes_the_earlier_of_tag_and_record(readable: str, expected: str) -> None:
    """The sweep's read never lets a disagreeing readable tag extend a grant."""
    tags = replace(grant_to_tags(make_grant()), "rolegate:expires-at", readable)
    assert to_iso_z(expiry_from_tags(tags)) == expected


def test_expiry_from_tags_falls_back_on_the_record() -> None:
    """A removed or garbled readable expiry no longer hides a grant from the sweep: the record says when."""
    grant = make_grant()
    tags = grant_to_tags(grant)
    assert expiry_from_tags(replace(tags, "rolegate:expires-at", None)) == grant.expires_at
    assert expiry_from_tags(replace(tags, "rolegate:expires-at", "forever")) == grant.expires_at


def test_format_1_records_still_decode_with_the_readable_expiry() -> None:
    """A grant recorded before format 2 reads as before: its readable tag is its expiry, unchecked."""
    grant = make_grant(policies=full_policies())
    old = as_format_1(grant_to_tags(grant))
    assert as_map(old)["rolegate:r0"].startswith("1.")
    assert grant_from_tags(old, grant.role_name, OWNER) == grant
    assert record_expiry(old) is None
    later = replace(old, "rolegate:expires-at", "2099-01-01T00:00:00Z")
    assert to_iso_z(grant_from_tags(later, grant.role_name, OWNER).expires_at) == "2099-01-01T00:00:00Z"
    assert to_iso_z(expiry_from_tags(later)) == "2099-01-01T00:00:00Z"
    assert readable_tag_repair(later) == ([], [])
    with pytest.raises(TagDecodeError, match="missing"):
        expiry_from_tags(replace(old, "rolegate:expires-at", None))


def test_expiry_change_upgrades_a_format_1_record() -> None:
    """Extending an old grant moves its expiry into the record (format 2) in the same single write."""
    grant = make_grant()
    old = as_format_1(grant_to_tags(grant))
    later = grant.with_expiry(T0 + timedelta(days=30))
    after = applied(old, expiry_change(old, later.expires_at))
    assert as_map(after)["rolegate:r0"].startswith("2.")
    assert grant_from_tags(after, grant.role_name, OWNER) == later and record_expiry(after) == later.expires_at


def test_readable_tag_repair_restores_the_expiry_from_the_record() -> None:
    """An edited or removed readable expiry is rewritten to the recorded time."""
    grant = make_grant()
    tags = grant_to_tags(grant)
    for damaged in (replace(tags, "rolegate:expires-at", "2099-01-01T00:00:00Z"),
                    replace(tags, "rolegate:expires-at", None)):
        to_set, to_remove = readable_tag_repair(damaged)
        assert (to_set, to_remove) == ([expiry_tag(grant.expires_at)], [])
        assert grant_from_tags(applied(damaged, to_set), grant.role_name, OWNER) == grant


def _crossing(grow: bool, field: str = "description") -> tuple[Grant, datetime]:
    """A grant and a new expiry with which its record needs one chunk more (``grow``) or fewer than now.

    The grant's ``field`` (description, or ticket with no description) is cut
    from random letters, which do not compress, so the record's length steps
    with it until the expiry's few bytes tip it over a 256-character boundary.
    """
    rng = random.Random(field)
    text = "".join(rng.choice(string.ascii_letters) for _ in range(1024 if field == "description" else 128))
    moments = [T0 + timedelta(seconds=1), T0 + timedelta(days=7), T0 + timedelta(days=29, seconds=7),
               T0 + timedelta(days=3650, seconds=12345), T0 + timedelta(days=7300)]
    for length in range(1, len(text) + 1):
        for start in moments[1:]:
            grant = make_grant(**{"description": None, field: text[:length]}, expires_at=start)
            count = len(chunk_keys(grant_to_tags(grant)))
            for moment in moments:
                needed = len(chunk_keys(grant_to_tags(grant.with_expiry(moment))))
                if needed == count + (1 if grow else -1):
                    return grant, moment
    raise AssertionError(f"no {field} length makes the record cross a chunk boundary")


def test_expiry_change_keeps_the_chunk_count_when_the_record_shrinks() -> None:
    """A record that would fit in fewer chunks is spread over the same keys: nothing is left over to remove."""
    grant, moment = _crossing(grow=False)
    before = grant_to_tags(grant)
    changes = expiry_change(before, moment)
    assert sorted(t["Key"] for t in changes[1:]) == sorted(chunk_keys(before))
    after = applied(before, changes)
    assert_valid_tags(after)
    assert grant_from_tags(after, grant.role_name, OWNER) == grant.with_expiry(moment)


def test_expiry_change_adds_a_chunk_in_the_same_write_when_there_is_room() -> None:
    """A record that outgrows its chunks takes one more key, written by the same call."""
    grant, moment = _crossing(grow=True)
    before = grant_to_tags(grant)
    changes = expiry_change(before, moment)
    assert len(chunk_keys(changes)) == len(chunk_keys(before)) + 1
    after = applied(before, changes)
    assert_valid_tags(after)
    assert grant_from_tags(after, grant.role_name, OWNER) == grant.with_expiry(moment)


def test_expiry_change_on_a_full_role_shortens_the_recorded_description() -> None:
    """With all 20 tags taken, the record keeps its chunks and gives up the description's end instead."""
    grant, moment = _crossing(grow=True)
    room = 20 - len(grant_to_tags(grant))
    before = grant_to_tags(grant, [{"Key": f"team{i}", "Value": "x"} for i in range(room)])
    changes = expiry_change(before, moment)
    assert sorted(t["Key"] for t in changes[1:]) == sorted(chunk_keys(before))
    after = applied(before, changes)
    assert_valid_tags(after)
    full = grant_from_tags(after, grant.role_name, OWNER, role_description=grant.description)
    assert full == grant.with_expiry(moment)
    alone = grant_from_tags(after, grant.role_name, OWNER)
    assert grant.description.startswith(alone.description or "") and alone.description != grant.description


def test_expiry_change_on_a_full_role_without_description_raises_tag_limit_error() -> None:
    """Nothing left to give up within one call: TagLimitError, and the caller writes nothing."""
    grant, moment = _crossing(grow=True, field="ticket")
    room = 20 - len(grant_to_tags(grant))
    full = grant_to_tags(grant, [{"Key": f"team{i}", "Value": "x"} for i in range(room)])
    with pytest.raises(TagLimitError, match="no description left to shorten"):
        expiry_change(full, moment)


@pytest.mark.parametrize(
    "principal",
    [
        AccountPrincipal(PARTNER, None),
        AccountPrincipal(PARTNER, "ext-123"),
        UserPrincipal(PARTNER, "Alice@corp_1.x"),
        RolePrincipal(PARTNER, "ci-deployer"),
        SamlPrincipal(PARTNER, "okta.prod"),
        OidcPrincipal(PARTNER, "gh", "https://token.actions.githubusercontent.com", ("sts.aliyuncs.com",)),
        ServicePrincipal("ecs.aliyuncs.com"),
    ],
)
def test_every_principal_kind_round_trips(principal: Any) -> None:
    """The record restores every principal field, and the readable kind matches."""
    grant = make_grant(principal=principal)
    tags = grant_to_tags(grant)
    assert as_map(tags)["rolegate:principal-kind"] == principal.kind
    assert grant_from_tags(tags, grant.role_name, OWNER) == grant


def test_optional_fields_absent_round_trip() -> None:
    """None stays None: no empty strings are invented for requester, ticket or description."""
    grant = make_grant(requester=None, ticket=None, description=None)
    tags = grant_to_tags(grant)
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
    assert all(p.document is None for p in back.policies)


def test_longest_description_and_role_name_round_trip() -> None:
    """A 1024-char description and a 64-char role name fit alongside an ordinary grant."""
    grant = make_grant(description=rand(1024, string.ascii_letters + " "), role_name="R." + "x" * 62)
    assert len(grant.role_name) == 64
    assert round_trip(grant) == grant


def test_worst_case_drops_requester_tag_then_truncates_description() -> None:
    """At the limit the redundant requester tag goes first, then the description's end."""
    grant = make_grant(principal=long_oidc(), policies=full_policies(),
                       description=rand(1024, string.ascii_letters + " "), role_name="R." + "y" * 62)
    tags = grant_to_tags(grant)
    assert_valid_tags(tags)
    assert len(tags) == 20
    assert "rolegate:requester" not in as_map(tags)
    restored = grant_from_tags(tags, grant.role_name, OWNER, role_description=grant.description)
    assert restored == grant
    alone = grant_from_tags(tags, grant.role_name, OWNER)
    assert alone.requester == grant.requester
    assert alone.description and grant.description.startswith(alone.description)
    assert len(alone.description) < 1024
    assert alone.with_expiry(grant.expires_at).principal == grant.principal


def test_truncated_description_ignores_a_different_role_description() -> None:
    """An edited role Description is not taken as the grant's description."""
    grant = make_grant(principal=long_oidc(), policies=full_policies(), description=rand(1024, string.ascii_letters))
    tags = grant_to_tags(grant)
    other = "Z" + grant.description[1:]
    back = grant_from_tags(tags, grant.role_name, OWNER, role_description=other)
    assert back.description != other and grant.description.startswith(back.description or "")


def test_requester_is_kept_readable_when_it_fits() -> None:
    """With room to spare the requester gets its readable tag."""
    assert "rolegate:requester" in as_map(grant_to_tags(make_grant(policies=full_policies())))


def test_requester_with_url_is_recorded_but_not_readable() -> None:
    """Tag values must not contain https://; the requester then lives only in the record."""
    grant = make_grant(requester="https://idp.example.com/users/7")
    tags = grant_to_tags(grant)
    assert "rolegate:requester" not in as_map(tags)
    assert grant_from_tags(tags, grant.role_name, OWNER).requester == grant.requester


def test_oversized_grant_raises_tag_limit_error() -> None:
    """A record that cannot fit is refused before anything is created, with counts in the message."""
    principal = OidcPrincipal(PARTNER, "gh", "https://" + rand(250), tuple(rand(300) for _ in range(10)),
                              tuple(rand(300) for _ in range(10)))
    with pytest.raises(TagLimitError, match=r"needs \d+ tags but only 15 of 20 are free"):
        grant_to_tags(make_grant(principal=principal, description=None))


# --- caller tags ----------------------------------------------------------------

def test_extra_tags_are_kept_and_counted() -> None:
    """Caller tags are appended unchanged and count toward the 20."""
    extras = [{"Key": "team", "Value": "audit"}, {"TagKey": "cost-center", "TagValue": "42"}]
    tags = grant_to_tags(make_grant(), extras)
    assert_valid_tags(tags)
    assert tags[-2:] == [{"Key": "team", "Value": "audit"}, {"Key": "cost-center", "Value": "42"}]
    assert grant_from_tags(tags, role_name_for(PARTNER, GID), OWNER) == make_grant()


def test_extra_tags_shrink_the_room_for_the_record() -> None:
    """With 14 caller tags only one record tag is left, which an ordinary grant exceeds."""
    extras = [{"Key": f"k{i}", "Value": "v"} for i in range(14)]
    with pytest.raises(TagLimitError, match="14 caller tags"):
        grant_to_tags(make_grant(principal=long_oidc(), description=None), extras)


@pytest.mark.parametrize(
    "extra",
    [
        {"Key": "rolegate:managed", "Value": "false"},
        {"Key": "acs:owner", "Value": "x"},
        {"Key": "AliyunThing", "Value": "x"},
        {"Key": "link", "Value": "see https://example.com"},
        {"Key": "k" * 129, "Value": "x"},
        {"Key": "k", "Value": "v" * 257},
        {"Key": "", "Value": "x"},
        {"Key": 5, "Value": "x"},
    ],
)
def test_unusable_extra_tags_are_refused(extra: dict[str, str]) -> None:
    """Caller tags may not impersonate the record or break RAM's tag rules."""
    with pytest.raises(TagError):
        grant_to_tags(make_grant(), [extra])


# --- reading ------------------------------------------------------------------

def test_list_roles_shape_and_wrapper_are_accepted() -> None:
    """ListRoles returns {"Tag": [{"TagKey","TagValue"}]}; both it and the bare list decode."""
    grant = make_grant()
    listed = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in grant_to_tags(grant)]
    assert grant_from_tags(listed, grant.role_name, OWNER) == grant
    assert grant_from_tags({"Tag": listed}, grant.role_name, OWNER) == grant
    assert is_managed({"Tag": listed})
    assert expiry_from_tags(listed) == grant.expires_at


def test_foreign_tags_are_ignored() -> None:
    """Tags set by other tools, even odd ones, do not disturb decoding."""
    grant = make_grant()
    tags = [{"Key": "env", "Value": "prod"}, {"TagKey": "owner"}] + grant_to_tags(grant)
    tags.append({"Key": "rolegate:note", "Value": "added by hand"})
    assert grant_from_tags(tags, grant.role_name, OWNER) == grant


def test_role_name_is_matched_case_insensitively() -> None:
    """RAM may report the role name in another case; the record still belongs to it."""
    grant = make_grant()
    back = grant_from_tags(grant_to_tags(grant), grant.role_name.upper(), OWNER)
    assert back.role_name == grant.role_name.upper()


def test_is_managed() -> None:
    """Only the exact marker counts, and garbage never raises."""
    assert is_managed(grant_to_tags(make_grant()))
    assert is_managed([MANAGED_TAG])
    assert not is_managed([{"Key": "rolegate:managed", "Value": "false"}])
    assert not is_managed([{"Key": "env", "Value": "prod"}])
    assert not is_managed(None)
    assert not is_managed([7])


def test_expiry_from_tags() -> None:
    """The sweep's read: expiry for ours, None for foreign roles, an error when neither tag nor record says."""
    grant = make_grant()
    tags = grant_to_tags(grant)
    assert expiry_from_tags(tags) == grant.expires_at
    assert expiry_from_tags([{"Key": "env", "Value": "prod"}]) is None
    broken = replace(tags, "rolegate:r0", "garbage")  # no record to fall back on
    assert expiry_from_tags(broken) == grant.expires_at
    with pytest.raises(TagDecodeError, match="missing"):
        expiry_from_tags(replace(broken, "rolegate:expires-at", None))
    with pytest.raises(TagDecodeError, match="not a YYYY"):
        expiry_from_tags(replace(broken, "rolegate:expires-at", "2030-05-08 12:00"))


# --- decode errors --------------------------------------------------------------

GOOD_GRANT = make_grant(principal=long_oidc(), description=None)
GOOD_TAGS = grant_to_tags(GOOD_GRANT)


def _good() -> list[dict[str, str]]:
    return [dict(tag) for tag in GOOD_TAGS]


def _decode(tags: Any) -> Grant:
    return grant_from_tags(tags, role_name_for(PARTNER, GID), OWNER)


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


DECODE_CASES = {
    "not a list": (lambda: "rolegate:managed=true", "list"),
    "entry not an object": (lambda: _good() + ["x"], "object"),
    "non-string value": (lambda: _good() + [{"Key": "k", "Value": 3}], "string"),
    "conflicting duplicate": (lambda: _good() + [{"Key": "rolegate:partner", "Value": "1" * 16}], "twice"),
    "foreign role": (lambda: [{"Key": "env", "Value": "prod"}], "not managed"),
    "marker false": (lambda: replace(_good(), "rolegate:managed", "false"), "not managed"),
    "missing expiry": (lambda: replace(_good(), "rolegate:expires-at", None), "expires-at is missing"),
    "bad expiry": (lambda: replace(_good(), "rolegate:expires-at", "tomorrow"), "YYYY"),
    "missing r0": (lambda: replace(_good(), "rolegate:r0", None), "r0 is missing"),
    "missing chunk": (lambda: replace(_good(), "rolegate:r1", None), "r1 of"),
    "extra chunk": (lambda: _good() + [{"Key": "rolegate:r19", "Value": "AAAA"}], "beyond"),
    "no header": (lambda: replace(_good(), "rolegate:r0", "eJzLSM3JyQcABiwCFQ"), "header"),
    "wrong version": (lambda: with_record(_good(), {"g": GID}, version=3), "version 3"),
    "format 1 with an expiry": (lambda: with_record(_good(), read_record(_good()), version=1), "unknown field 'e'"),
    "record without expiry": (lambda: _record_changed(e=None), "lacks field 'e'"),
    "expiry wrong type": (lambda: _record_changed(e="2030-05-08T12:00:00Z"), "'e' has the wrong type"),
    "expiry out of range": (lambda: _record_changed(e=10 ** 20), "expiry time is out of range"),
    "expiry disagrees": (lambda: replace(_good(), "rolegate:expires-at", "2099-01-01T00:00:00Z"),
                         "expires-at='2099-01-01T00:00:00Z' disagrees"),
    "record expiry moved": (lambda: _record_changed(e=int((T0 + timedelta(days=9)).timestamp())),
                            "disagrees with the record ('2030-05-10T12:00:00Z')"),
    "bad base64 chars": (lambda: replace(_good(), "rolegate:r1", "!!" + as_map(_good())["rolegate:r1"][2:]),
                         "base64url"),
    "bad base64 length": (lambda: with_data(_good(), "AAAAA"), "base64url"),
    "newline in chunk": (lambda: replace(_good(), "rolegate:r1", as_map(_good())["rolegate:r1"] + "\n"), "base64url"),
    "unpadded expiry": (lambda: replace(_good(), "rolegate:expires-at", "2030-5-8T12:00:00Z"), "YYYY"),
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
    "bad policy entry": (lambda: _record_changed(pol=[["AliyunX", "X"]]), "policy entries"),
    "invalid policy": (lambda: _record_changed(pol=[["Bad_Name", "S"]]), "invalid grant"),
    "custom without hash": (lambda: _record_changed(pol=[["p1", "C"]]), "document_hash"),
    "invalid principal": (lambda: _record_changed(pr={"type": "oidc", "provider": "gh", "issuer": "http://x",
                                                     "audiences": ["a"]}), "principal.issuer"),
    "wildcard principal": (lambda: _record_changed(pr={"type": "oidc", "provider": "gh", "issuer": "https://x",
                                                      "audiences": ["*"]}), "wildcards"),
    "session out of range": (lambda: _record_changed(s=99), "max_session_duration"),
    "created out of range": (lambda: _record_changed(c=10 ** 20), "out of range"),
    "expiry before creation": (lambda: _record_changed(c=int((T0 + timedelta(days=8)).timestamp())), "expires_at"),
    "expiry before creation in format 1": (lambda: as_format_1(_record_changed(
        c=int((T0 + timedelta(days=8)).timestamp()))), "expires_at"),
    "grant id disagrees": (lambda: replace(_good(), "rolegate:grant-id", "g-zzzzzzzzzzzz"), "grant-id"),
    "partner disagrees": (lambda: replace(_good(), "rolegate:partner", "9" * 16), "partner"),
    "kind disagrees": (lambda: replace(_good(), "rolegate:principal-kind", "account"), "principal-kind"),
    "kind missing": (lambda: replace(_good(), "rolegate:principal-kind", None), "principal-kind is missing"),
    "requester disagrees": (lambda: replace(_good(), "rolegate:requester", "mallory"), "requester"),
    "record for other role": (lambda: _record_changed(n="other-role"), "written for role 'other-role'"),
}


@pytest.mark.parametrize("case", sorted(DECODE_CASES))
def test_decode_errors(case: str) -> None:
    """Malformed, foreign, partial or inconsistent tags raise TagDecodeError naming the problem."""
    build, reason = DECODE_CASES[case]
    tags = build()
    with pytest.raises(TagDecodeError) as info:
        _decode(tags)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


def test_decode_cases_start_from_a_decodable_grant() -> None:
    """The error cases mutate a record that is valid and spans several chunks."""
    assert len(chunk_keys(_good())) >= 3
    assert _decode(_good()) == GOOD_GRANT


# --- properties -----------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(grants())
def test_any_valid_grant_round_trips(grant: Grant) -> None:
    """Every valid grant is recorded within RAM's tag rules and read back equal.

    From the tags alone (no role Description) only a truncated description's end may be missing.
    """
    tags = grant_to_tags(grant)
    assert_valid_tags(tags)
    back = grant_from_tags(tags, grant.role_name, grant.owner_account_id, role_description=grant.description)
    assert back == grant
    assert expiry_from_tags(tags) == grant.expires_at and is_managed(tags)
    alone = grant_from_tags(tags, grant.role_name, grant.owner_account_id)
    assert grant.description is None or grant.description.startswith(alone.description or "")
    assert alone == dataclasses.replace(grant, description=alone.description)


@settings(max_examples=40, deadline=None)
@given(grants(), st.lists(st.tuples(st.from_regex(r"[a-z]{1,20}", fullmatch=True), st.text(max_size=40)),
                          max_size=16, unique_by=lambda kv: kv[0]))
def test_extra_tags_either_fit_or_raise_tag_limit_error(grant: Grant, extras: list[tuple[str, str]]) -> None:
    """Caller tags never push the total past 20: the codec fits or refuses."""
    extra_tags = [{"Key": k, "Value": v} for k, v in extras if "http" not in v]
    try:
        tags = grant_to_tags(grant, extra_tags)
    except TagLimitError:
        return
    assert_valid_tags(tags)
    assert tags[len(tags) - len(extra_tags):] == extra_tags
    back = grant_from_tags(tags, grant.role_name, grant.owner_account_id, role_description=grant.description)
    assert back == grant


@settings(max_examples=60, deadline=None)
@given(grants(), st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3650)))
def test_any_grant_moves_to_any_expiry_in_one_write(grant: Grant, lifetime: timedelta) -> None:
    """expiry_change keeps every chunk key (adding at most one) and the result reads back as the moved grant."""
    tags = grant_to_tags(grant)
    moment = grant.created_at + lifetime
    try:
        changes = expiry_change(tags, moment)
    except TagLimitError:
        assert len(tags) == 20 and not grant.description  # a full role with nothing left to give up
        return
    assert len(changes) <= 20
    after = applied(tags, changes)
    assert_valid_tags(after)
    assert set(chunk_keys(tags)) <= set(chunk_keys(after)) and len(chunk_keys(after)) <= len(chunk_keys(tags)) + 1
    back = grant_from_tags(after, grant.role_name, grant.owner_account_id, role_description=grant.description)
    assert back == grant.with_expiry(moment)
    assert expiry_from_tags(after) == back.expires_at == record_expiry(after)


_MUTATIONS = st.sampled_from(["drop", "value", "truncate", "duplicate", "rekey"])


@settings(max_examples=60, deadline=None)
@given(grants(), st.data())
def test_tampered_tags_decode_or_raise_tag_decode_error(grant: Grant, data: st.DataObject) -> None:
    """Whatever is done to the tags, decoding yields a Grant or TagDecodeError, never another exception."""
    tags = grant_to_tags(grant)
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
            tags[index] = {"Key": data.draw(st.sampled_from(["rolegate:r0", "rolegate:r1", "rolegate:r7", "x"])),
                           "Value": tag["Value"]}
    try:
        back = grant_from_tags(tags, grant.role_name, grant.owner_account_id)
    except TagDecodeError as exc:
        assert exc.reason
    else:
        assert isinstance(back, Grant)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["Key", "Value", "TagKey", "TagValue", "x"]),
                                st.one_of(st.text(max_size=20), st.integers(), st.none()), max_size=4),
                max_size=6))
def test_arbitrary_tag_lists_never_crash(tags: list[dict[str, Any]]) -> None:
    """Junk input from any source is reported as TagDecodeError, and is_managed just says False."""
    assert is_managed(tags) in (True, False)
    with pytest.raises(TagDecodeError):
        grant_from_tags(tags, "r", OWNER)
