"""KMS generic secrets in the emulator, through the real KMS SDK over HTTP."""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as m
from alibabacloud_kms20160120.client import Client as KmsClient

from emulator import EmulatorServer
from tests.emulator.helpers import Creds, create_user_with_policy, events, kms_client
from tests.emulator.ram_support import DATE, assert_fully_read, cloud_error

REGION = "cn-hangzhou"
NAME = "rolegate/grant-hmac"
VALUE = "hmac-key-value-7f3a9c"  # distinctive, so a leak into a log or event is found by search
ROTATION_EXTRAS = ("automatic_rotation", "ciphertext_for_recipient", "extended_config", "last_rotation_date",
                   "next_rotation_date", "rotation_interval")




@pytest.fixture
def root(emulator: EmulatorServer) -> Creds:
    return emulator.create_account("secret-owner")


@pytest.fixture
def kms(emulator: EmulatorServer, root: Creds) -> KmsClient:
    return kms_client(emulator, root)


def create(kms: KmsClient, name: str = NAME, data: str = VALUE, version: str = "v1", **extra: Any) -> Any:
    return kms.create_secret(m.CreateSecretRequest(secret_name=name, secret_data=data, version_id=version,
                                                   **extra)).body


def get(kms: KmsClient, name: str = NAME, **extra: Any) -> Any:
    return kms.get_secret_value(m.GetSecretValueRequest(secret_name=name, **extra)).body


def put(kms: KmsClient, version: str, data: str, name: str = NAME, **extra: Any) -> Any:
    return kms.put_secret_value(m.PutSecretValueRequest(secret_name=name, version_id=version, secret_data=data,
                                                        **extra)).body


def versions(kms: KmsClient, name: str = NAME, **extra: Any) -> dict[str, list[str]]:
    body = kms.list_secret_version_ids(m.ListSecretVersionIdsRequest(secret_name=name, **extra)).body
    return {v.version_id: v.version_stages.version_stage for v in body.version_ids.version_id}


def arn(account_id: str, name: str = NAME, region: str = REGION) -> str:
    return f"acs:kms:{region}:{account_id}:secret/{name}"


def policy(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


# ------------------------------------------------------------ create and get
def test_create_then_get_returns_the_current_version(kms: KmsClient, root: Creds) -> None:
    """CreateSecret answers with the ARN; GetSecretValue returns the value marked ACSCurrent with every field."""
    created = create(kms, description="grant record key", encryption_key_id="key-123")
    assert (created.arn, created.secret_name, created.version_id, created.secret_type) == \
        (arn(root["account_id"]), NAME, "v1", "Generic")
    got = get(kms)
    assert_fully_read(got, absent=ROTATION_EXTRAS)
    assert (got.secret_name, got.version_id, got.secret_data, got.secret_data_type, got.secret_type) == \
        (NAME, "v1", VALUE, "text", "Generic")
    assert got.version_stages.version_stage == ["ACSCurrent"] and DATE.match(got.create_time)
    described = kms.describe_secret(m.DescribeSecretRequest(secret_name=NAME, fetch_tags="true")).body
    assert (described.arn, described.description, described.encryption_key_id) == \
        (arn(root["account_id"]), "grant record key", "key-123")
    assert described.planned_delete_time is None


def test_binary_values_and_tags_round_trip(kms: KmsClient) -> None:
    """A binary secret comes back with its type; tags given at creation are described on request."""
    tags = json.dumps([{"TagKey": "app", "TagValue": "rolegate"}])
    create(kms, data="AAECAw==", secret_data_type="binary", tags=tags)
    got = get(kms)
    assert (got.secret_data, got.secret_data_type) == ("AAECAw==", "binary")
    described = kms.describe_secret(m.DescribeSecretRequest(secret_name=NAME, fetch_tags="true")).body
    assert [(t.tag_key, t.tag_value) for t in described.tags.tag] == [("app", "rolegate")]


def test_get_accepts_the_secret_arn(kms: KmsClient, root: Creds) -> None:
    """SecretName may be the ARN acs:kms:<region>:<account>:secret/<name>; an ARN of another region finds nothing."""
    create(kms)
    assert (get(kms, arn(root["account_id"])).secret_data, get(kms, arn(root["account_id"])).secret_name) == \
        (VALUE, NAME)
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(kms, arn(root["account_id"], region="cn-shanghai"))
    with cloud_error("InvalidParameter", 400):
        get(kms, "acs:kms:cn-hangzhou:not-an-account:secret/x")


def test_create_refuses_an_existing_name_and_keeps_the_value(kms: KmsClient) -> None:
    """A second CreateSecret of the same name is Rejected.ResourceExist (409); the first value stands."""
    create(kms)
    with cloud_error("Rejected.ResourceExist", 409):
        create(kms, data="other", version="v9")
    assert (get(kms).secret_data, versions(kms)) == (VALUE, {"v1": ["ACSCurrent"]})


def test_create_validates_its_parameters(kms: KmsClient) -> None:
    """Required parameters, the name rules, the data type and the generic-only secret type are enforced."""
    with cloud_error("MissingParameter", 400):
        kms.create_secret(m.CreateSecretRequest(secret_name=NAME, version_id="v1"))
    for bad in ("has space", "acs/reserved", "x" * 193):
        with cloud_error("InvalidParameter", 400):
            create(kms, name=bad)
    with cloud_error("InvalidParameter", 400):
        create(kms, secret_data_type="json")
    with cloud_error("InvalidParameter", 400):
        create(kms, secret_type="Rds")
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(kms)


def test_secrets_are_kept_per_region(emulator: EmulatorServer, kms: KmsClient, root: Creds) -> None:
    """A secret made in one region is not seen from another; each region's ARN names its own region."""
    create(kms)
    shanghai = kms_client(emulator, root, "cn-shanghai")
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(shanghai)
    assert create(shanghai, data="elsewhere").arn == arn(root["account_id"], region="cn-shanghai")
    assert (get(kms).secret_data, get(shanghai).secret_data) == (VALUE, "elsewhere")


# --------------------------------------------------------- versions and stages
def test_put_moves_current_to_the_new_version_and_previous_to_the_old(kms: KmsClient) -> None:
    """Each put becomes ACSCurrent, the former ACSCurrent becomes ACSPrevious, and older versions lose their stage."""
    create(kms)
    assert put(kms, "v2", "second").version_stages.version_stage == ["ACSCurrent"]
    put(kms, "v3", "third")
    assert versions(kms) == {"v2": ["ACSPrevious"], "v3": ["ACSCurrent"]}
    assert versions(kms, include_deprecated="true") == {"v1": [], "v2": ["ACSPrevious"], "v3": ["ACSCurrent"]}
    assert (get(kms).version_id, get(kms).secret_data) == ("v3", "third")
    assert get(kms, version_stage="ACSPrevious").secret_data == "second"
    old = get(kms, version_id="v1")
    assert (old.secret_data, old.version_stages.version_stage) == (VALUE, [])
    assert get(kms, version_id="v2", version_stage="ACSPrevious").secret_data == "second"


def test_put_with_its_own_stage_leaves_current_alone(kms: KmsClient) -> None:
    """A version stored with VersionStages=["ACSPending"] takes that stage only; ACSCurrent does not move."""
    create(kms)
    assert put(kms, "v2", "next", version_stages='["ACSPending"]').version_stages.version_stage == ["ACSPending"]
    assert get(kms).version_id == "v1"
    assert get(kms, version_stage="ACSPending").secret_data == "next"
    put(kms, "v3", "later", version_stages='["ACSPending"]')
    assert versions(kms, include_deprecated="true") == {"v1": ["ACSCurrent"], "v2": [], "v3": ["ACSPending"]}


def test_a_secret_keeps_at_most_ten_versions(kms: KmsClient) -> None:
    """The eleventh version pushes out the earliest one; the rest are still readable."""
    create(kms, data="value-0", version="v0")
    for n in range(1, 11):
        put(kms, f"v{n}", f"value-{n}")
    kept = versions(kms, include_deprecated="true", page_size=50)
    assert sorted(kept, key=lambda v: int(v[1:])) == [f"v{n}" for n in range(1, 11)]
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(kms, version_id="v0")
    assert get(kms, version_id="v1").secret_data == "value-1"
    assert (get(kms).version_id, get(kms, version_stage="ACSPrevious").version_id) == ("v10", "v9")


def test_put_of_an_existing_version_with_the_same_value_is_idempotent(kms: KmsClient) -> None:
    """Repeating a put (same VersionId, same value) succeeds and changes nothing."""
    create(kms)
    put(kms, "v2", "second")
    again = put(kms, "v2", "second")
    assert (again.version_id, again.version_stages.version_stage) == ("v2", ["ACSCurrent"])
    assert versions(kms, include_deprecated="true") == {"v1": ["ACSPrevious"], "v2": ["ACSCurrent"]}
    assert put(kms, "v1", VALUE).version_stages.version_stage == ["ACSPrevious"]
    assert get(kms).version_id == "v2"


def test_put_of_an_existing_version_with_another_value_is_refused(kms: KmsClient) -> None:
    """The same VersionId with different data is rejected, and the stored version keeps its value."""
    create(kms)
    put(kms, "v2", "second")
    with cloud_error("Rejected.ResourceExist", 409):
        put(kms, "v2", "tampered")
    assert (get(kms, version_id="v2").secret_data, get(kms).version_id) == ("second", "v2")


def test_missing_secrets_versions_and_stages(kms: KmsClient) -> None:
    """Unknown secrets, versions and stages are not found; a VersionId/VersionStage pair that disagrees is invalid."""
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(kms, "no-such-secret")
    with cloud_error("Forbidden.ResourceNotFound", 404):
        put(kms, "v1", "x", name="no-such-secret")
    with cloud_error("Forbidden.ResourceNotFound", 404):
        kms.describe_secret(m.DescribeSecretRequest(secret_name="no-such-secret"))
    create(kms)
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(kms, version_id="v7")
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(kms, version_stage="ACSPrevious")
    with cloud_error("InvalidParameter", 400):
        get(kms, version_id="v1", version_stage="ACSPrevious")


# ------------------------------------------------------------------ deletion
def test_deletion_is_scheduled_and_then_final(emulator: EmulatorServer, kms: KmsClient) -> None:
    """DeleteSecret schedules the deletion: the value is refused meanwhile, the name is free once the time passes."""
    create(kms)
    planned = kms.delete_secret(m.DeleteSecretRequest(secret_name=NAME, recovery_window_in_days="7")).body
    assert planned.secret_name == NAME and DATE.match(planned.planned_delete_time)
    described = kms.describe_secret(m.DescribeSecretRequest(secret_name=NAME)).body
    assert described.planned_delete_time == planned.planned_delete_time
    with cloud_error("Rejected.ResourceInDeleteWindow", 409):
        get(kms)
    with cloud_error("Rejected.ResourceInDeleteWindow", 409):
        put(kms, "v2", "second")
    with cloud_error("Rejected.ResourceInDeleteWindow", 409):
        create(kms)
    emulator.advance_clock(7 * 86400 + 1)
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(kms)
    create(kms, data="fresh")
    assert get(kms).secret_data == "fresh"


def test_forced_deletion_is_immediate(kms: KmsClient) -> None:
    """ForceDeleteWithoutRecovery removes the secret at once."""
    create(kms)
    kms.delete_secret(m.DeleteSecretRequest(secret_name=NAME, force_delete_without_recovery="true"))
    with cloud_error("Forbidden.ResourceNotFound", 404):
        kms.describe_secret(m.DescribeSecretRequest(secret_name=NAME))


# ------------------------------------------------------------- authorization
def test_a_ram_user_without_a_policy_naming_the_secret_is_denied(emulator: EmulatorServer, kms: KmsClient,
                                                                 root: Creds) -> None:
    """A user needs kms:<Action> on acs:kms:<region>:<account>:secret/<name>; a grant on another secret is no help."""
    create(kms)
    create(kms, name="other", data="other-value")
    bare = kms_client(emulator, create_user_with_policy(emulator, root, "bare", None))
    with cloud_error("Forbidden.NoPermission", 403) as denied:
        get(bare)
    assert f"Resource: {arn(root['account_id'])}" in denied.value.message
    reader = kms_client(emulator, create_user_with_policy(
        emulator, root, "reader", policy("kms:GetSecretValue", arn(root["account_id"], "other"))))
    with cloud_error("Forbidden.NoPermission", 403):
        get(reader)
    with cloud_error("Forbidden.NoPermission", 403):
        put(reader, "v2", "written by a reader", name="other")
    assert get(reader, "other").secret_data == "other-value"
    assert get(kms).version_id == "v1" and versions(kms, "other") == {"v1": ["ACSCurrent"]}


def test_create_secret_is_authorized_on_the_secret_container(emulator: EmulatorServer, root: Creds) -> None:
    """CreateSecret needs kms:CreateSecret on acs:kms:<region>:<account>:secret, not on the secret's own ARN."""
    on_secret = kms_client(emulator, create_user_with_policy(
        emulator, root, "narrow", policy("kms:CreateSecret", arn(root["account_id"]))))
    with cloud_error("Forbidden.NoPermission", 403):
        create(on_secret)
    container = f"acs:kms:{REGION}:{root['account_id']}:secret"
    creator = kms_client(emulator, create_user_with_policy(
        emulator, root, "creator", policy("kms:CreateSecret", container)))
    assert create(creator).secret_name == NAME
    with cloud_error("Forbidden.NoPermission", 403):
        get(creator)


def test_another_account_is_denied_even_by_arn(emulator: EmulatorServer, kms: KmsClient, root: Creds) -> None:
    """Another account's root, or its user allowed kms:* on everything, cannot read or write the secret."""
    create(kms)
    stranger = emulator.create_account("stranger")
    outsider = kms_client(emulator, stranger)
    with cloud_error("Forbidden.NoPermission", 403):
        get(outsider, arn(root["account_id"]))
    with cloud_error("Forbidden.NoPermission", 403):
        put(outsider, "v2", "planted", name=arn(root["account_id"]))
    broad = kms_client(emulator, create_user_with_policy(emulator, stranger, "broad", policy("kms:*", "*")))
    with cloud_error("Forbidden.NoPermission", 403):
        get(broad, arn(root["account_id"]))
    with cloud_error("Forbidden.ResourceNotFound", 404):
        get(outsider)  # a bare name means the caller's own account, which has no such secret
    assert (get(kms).version_id, versions(kms)) == ("v1", {"v1": ["ACSCurrent"]})


def test_authorization_switched_off_lets_a_bare_user_through(emulator: EmulatorServer, kms: KmsClient,
                                                              root: Creds) -> None:
    """With permission checks off, a user without any policy reads the secret."""
    create(kms)
    bare = kms_client(emulator, create_user_with_policy(emulator, root, "bare", None))
    emulator.admin("POST", "/_emulator/settings", {"authorization": False})
    assert get(bare).secret_data == VALUE


# ----------------------------------------------------------------- the trail
def test_write_calls_are_events_without_the_secret_value(emulator: EmulatorServer, kms: KmsClient,
                                                         root: Creds) -> None:
    """Create, Put and Delete (refusals included) become acs.kms events; no value reaches an event or the call log."""
    create(kms)
    put(kms, "v2", VALUE + "-2")
    with cloud_error("Rejected.ResourceExist", 409):
        put(kms, "v2", VALUE + "-tampered")
    get(kms)
    kms.delete_secret(m.DeleteSecretRequest(secret_name=NAME, force_delete_without_recovery="true"))
    feed = events(emulator)
    assert [(e["data"]["eventName"], e["data"].get("errorCode")) for e in feed] == [
        ("CreateSecret", None), ("PutSecretValue", None), ("PutSecretValue", "Rejected.ResourceExist"),
        ("DeleteSecret", None)]
    first = feed[0]
    assert (first["source"], first["type"], first["aliyunregionid"], first["aliyunaccountid"]) == \
        ("acs.kms", "kms:ActionTrail:ApiCall", REGION, root["account_id"])
    data = first["data"]
    assert (data["serviceName"], data["eventSource"], data["acsRegion"], data["apiVersion"], data["isGlobal"]) == \
        ("Kms", f"kms.{REGION}.aliyuncs.com", REGION, "2016-01-20", False)
    assert data["requestParameters"]["SecretName"] == NAME and data["requestParameters"]["SecretData"] == "******"
    assert data["responseElements"]["Arn"] == arn(root["account_id"])
    assert data["referencedResources"] == {"ACS::KMS::Secret": [NAME]}
    assert all(e["data"]["requestParameters"]["SecretData"] == "******" for e in feed if
               e["data"]["eventName"] != "DeleteSecret")
    assert VALUE not in json.dumps(feed)
    calls = emulator.calls()
    assert [c["action"] for c in calls][-5:] == ["CreateSecret", "PutSecretValue", "PutSecretValue",
                                                 "GetSecretValue", "DeleteSecret"]
    assert VALUE not in json.dumps(calls) and not any("SecretData" in c["params"] for c in calls)


def test_a_denied_write_is_an_event_naming_the_user(emulator: EmulatorServer, kms: KmsClient, root: Creds) -> None:
    """A PutSecretValue refused by RAM is recorded with Forbidden.NoPermission and the caller, value masked."""
    create(kms)
    since = len(events(emulator))
    bare = kms_client(emulator, create_user_with_policy(emulator, root, "bare", None))
    with cloud_error("Forbidden.NoPermission", 403):
        put(bare, "v2", VALUE + "-denied")
    denied = [e["data"] for e in events(emulator, since) if e["data"]["eventName"] == "PutSecretValue"]
    assert len(denied) == 1
    assert (denied[0]["errorCode"], denied[0]["userIdentity"]["userName"]) == ("Forbidden.NoPermission", "bare")
    assert denied[0]["requestParameters"]["SecretData"] == "******"
    assert VALUE not in json.dumps(events(emulator))
