"""KMS Secrets Manager (2016-01-20): generic secrets and their versions.

State per (account, region); ``SecretData`` leaves only in a GetSecretValue
answer. Regions, ARNs, authorization, version stages and deletion windows:
docs/design/emulator.md.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..clock import iso
from ..errors import CloudError
from ..policy import authorize
from ..protocol import ApiRequest
from ..registry import rpc
from ..world import Account, Regional

DEFAULT_REGION = "cn-hangzhou"
CURRENT, PREVIOUS = "ACSCurrent", "ACSPrevious"
MAX_VERSIONS = 10  # ledger: KMS-PUTSECRETVALUE, KMS-VERSION-DROP
MAX_NAME = 192  # ledger: KMS-LIMITS
MAX_VERSION_ID = 64  # ledger: KMS-LIMITS
MAX_DATA_BYTES = 30 * 1024  # ledger: KMS-LIMITS
MAX_DESCRIPTION = 1024
DEFAULT_RECOVERY_DAYS = 30  # ledger: KMS-DELETESECRET, KMS-DELETE-WINDOW
DEFAULT_PAGE_SIZE = 20  # ledger: KMS-LISTVERSIONIDS
MAX_PAGE_SIZE = 100  # ledger: KMS-METADATA
DATA_TYPES = ("text", "binary")  # ledger: KMS-CREATESECRET
_NAME = re.compile(r"^[A-Za-z0-9_/+=.@-]+$")  # ledger: KMS-LIMITS
# ledger: KMS-GETSECRETVALUE, KMS-ARN-ACCOUNT
_ARN = re.compile(r"^acs:kms:(?P<region>[^:]+):(?P<account>[^:]+):secret/(?P<name>.+)$")
_HOST = re.compile(r"^kms(?:-vpc)?\.(?P<region>[a-z0-9-]+)\.aliyuncs\.com(?::\d+)?$")


# ---------------------------------------------------------------------- state
@dataclass
class SecretVersion:
    version_id: str
    data: str
    data_type: str
    created: datetime
    stages: list[str] = field(default_factory=list)


@dataclass
class Secret:
    name: str
    region: str
    account_id: str
    created: datetime
    updated: datetime
    description: str = ""
    encryption_key_id: str = ""
    dkms_instance_id: str = ""
    tags: list[dict[str, str]] = field(default_factory=list)
    versions: list[SecretVersion] = field(default_factory=list)  # oldest first
    planned_delete: datetime | None = None

    @property
    def arn(self) -> str:
        return secret_arn(self.region, self.account_id, self.name)

    def version(self, version_id: str) -> SecretVersion | None:
        return next((v for v in self.versions if v.version_id == version_id), None)

    def staged(self, stage: str) -> SecretVersion | None:
        return next((v for v in self.versions if stage in v.stages), None)


@dataclass
class KmsRegion:
    secrets: dict[str, Secret] = field(default_factory=dict)


def kms_state(account: Account) -> Regional[KmsRegion]:
    return account.state("kms", lambda _account: Regional(KmsRegion))


def secret_arn(region: str, account_id: str, name: str) -> str:
    return f"acs:kms:{region}:{account_id}:secret/{name}"


# ------------------------------------------------------------ request context
def request_region(headers: dict[str, str]) -> str:
    """The region a KMS call addresses (see the module docstring for the order)."""
    # ledger: FC-REGION-HEADER
    if headers.get("x-acs-region-id"):
        return headers["x-acs-region-id"]
    match = _HOST.match(headers.get("host", ""))
    return match["region"] if match else DEFAULT_REGION


@dataclass(frozen=True)
class _Target:
    """The secret a call names: where it lives, and what it is called."""

    region: str
    account_id: str
    name: str

    @property
    def arn(self) -> str:
        return secret_arn(self.region, self.account_id, self.name)


def _invalid(message: str) -> CloudError:
    return CloudError("InvalidParameter", f"The specified parameter is invalid. {message}", 400)


def _not_found(what: str) -> CloudError:  # ledger: KMS-ERRORS, KMS-MISSING-VERSION
    return CloudError("Forbidden.ResourceNotFound", f"The resource is not found. {what}", 404)


def _required(req: ApiRequest, name: str) -> str:  # ledger: KMS-MISSING-VERSION
    value = req.params.get(name)
    if value is None or value == "":
        raise CloudError("MissingParameter",
                         f'The input parameter "{name}" that is mandatory for processing this request '
                         "is not supplied.", 400)
    return value


def _flag(req: ApiRequest, name: str) -> bool:
    raw = req.params.get(name, "")
    if raw.lower() not in ("", "true", "false"):
        raise _invalid(f"{name} must be true or false.")
    return raw.lower() == "true"


def _target(req: ApiRequest) -> _Target:
    """The secret ``SecretName`` names, as a name or as an ARN."""
    given = _required(req, "SecretName")
    region = request_region(req.headers)
    if given.startswith("acs:"):
        match = _ARN.match(given)
        if match is None or not match["account"].isdigit():
            raise _invalid(f"{given} is not a secret ARN (acs:kms:<region>:<account>:secret/<name>).")
        return _Target(match["region"], match["account"], match["name"])
    return _Target(region, req.caller.account_id, given)


def _authorize(req: ApiRequest, resource: str) -> None:
    """The caller's identity policies must allow ``kms:<Action>`` on ``resource`` (root always may)."""
    # ledger: KMS-AUTH
    if not req.world.enforce_authorization or req.caller.kind == "root":
        return
    try:
        authorize(req.world, req.caller, f"kms:{req.action}", [resource], req)
    except CloudError as err:
        if err.status != 403:
            raise
        raise CloudError("Forbidden.NoPermission", err.message, 403, detail=err.detail) from None


def _denied_cross_account(req: ApiRequest, target: _Target) -> CloudError:  # ledger: KMS-ARN-ACCOUNT
    detail = f"Action: kms:{req.action}, Resource: {target.arn}, Reason: the secret belongs to another account"
    return CloudError("Forbidden.NoPermission",
                      f"You are not authorized to perform the operation. {detail}", 403, detail=detail)


def _secret(req: ApiRequest, *, usable: bool) -> Secret:
    """The named secret after authorization; ``usable`` refuses one scheduled for deletion."""
    target = _target(req)
    _authorize(req, target.arn)
    if target.account_id != req.caller.account_id:
        raise _denied_cross_account(req, target)
    if target.region != request_region(req.headers):
        raise _not_found(f"Secret {target.name} does not exist in this region.")
    region = kms_state(req.account).region(target.region)
    secret = _live(req, region, target.name)
    if secret is None:
        raise _not_found(f"Secret {target.name} does not exist.")
    if usable and secret.planned_delete is not None:  # ledger: KMS-DELETE-WINDOW
        raise CloudError("Rejected.ResourceInDeleteWindow",
                         f"The secret is planned to be deleted. It will be deleted at {iso(secret.planned_delete)}.",
                         409)
    return secret


def _live(req: ApiRequest, region: KmsRegion, name: str) -> Secret | None:
    """The secret of that name, forgetting it first if its scheduled deletion time has passed."""
    secret = region.secrets.get(name)
    if secret is not None and secret.planned_delete is not None and req.world.clock.now() >= secret.planned_delete:
        del region.secrets[name]
        return None
    return secret


def _name(value: str) -> str:
    if len(value) > MAX_NAME or not _NAME.match(value) or value.startswith("acs/"):
        raise _invalid(f"SecretName must be 1-{MAX_NAME} letters, digits or _/+=.@- and may not start with acs/.")
    return value


def _version_id(req: ApiRequest) -> str:
    value = _required(req, "VersionId")
    if len(value) > MAX_VERSION_ID:
        raise _invalid(f"VersionId may be at most {MAX_VERSION_ID} characters.")
    return value


def _data(req: ApiRequest) -> tuple[str, str]:
    data = _required(req, "SecretData")
    data_type = req.params.get("SecretDataType") or "text"
    if data_type not in DATA_TYPES:
        raise _invalid("SecretDataType must be text or binary.")
    if len(data.encode()) > MAX_DATA_BYTES:
        raise _invalid(f"SecretData may be at most {MAX_DATA_BYTES} bytes.")
    return data, data_type


def _tags(req: ApiRequest) -> list[dict[str, str]]:
    raw = req.params.get("Tags")
    if not raw:
        return []
    try:
        tags = json.loads(raw)
    except ValueError:
        tags = None
    if not isinstance(tags, list) or not all(
            isinstance(t, dict) and isinstance(t.get("TagKey"), str) and t["TagKey"]
            and isinstance(t.get("TagValue", ""), str) for t in tags):
        raise _invalid('Tags must be a JSON array of {"TagKey": ..., "TagValue": ...}.')
    return [{"TagKey": t["TagKey"], "TagValue": t.get("TagValue", "")} for t in tags]


def _stages(req: ApiRequest) -> list[str]:
    raw = req.params.get("VersionStages")
    if not raw:
        return [CURRENT]
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        parsed = parsed.get("VersionStage")
    if not isinstance(parsed, list) or not parsed or not all(isinstance(s, str) and s for s in parsed):
        raise _invalid('VersionStages must be a JSON array of stage labels, e.g. ["ACSCurrent"].')
    return list(dict.fromkeys(parsed))


def _stage_list(stages: list[str]) -> dict[str, list[str]]:
    return {"VersionStage": list(stages)}


# -------------------------------------------------------------------- actions
@rpc("kms", "CreateSecret", write=True)  # ledger: KMS-CREATESECRET
def create_secret(req: ApiRequest) -> dict[str, Any]:
    region_id = request_region(req.headers)
    name = _required(req, "SecretName")
    _authorize(req, f"acs:kms:{region_id}:{req.caller.account_id}:secret")
    _name(name)
    version_id = _version_id(req)
    data, data_type = _data(req)
    secret_type = req.params.get("SecretType") or "Generic"
    if secret_type != "Generic":  # ledger: KMS-METADATA
        raise _invalid(f"SecretType {secret_type} is not supported here; only Generic secrets are emulated.")
    description = req.params.get("Description", "")
    if len(description) > MAX_DESCRIPTION:
        raise _invalid(f"Description may be at most {MAX_DESCRIPTION} characters.")
    tags = _tags(req)
    region = kms_state(req.account).region(region_id)
    existing = _live(req, region, name)
    if existing is not None and existing.planned_delete is not None:
        raise CloudError("Rejected.ResourceInDeleteWindow", "The secret is planned to be deleted.", 409)
    if existing is not None:
        # ledger: KMS-ERRORS
        raise CloudError("Rejected.ResourceExist", f"The resource already exists. Secret {name} exists.", 409)
    now = req.world.clock.now()
    secret = Secret(name, region_id, req.caller.account_id, now, now, description,
                    req.params.get("EncryptionKeyId", ""), req.params.get("DKMSInstanceId", ""), tags)
    secret.versions.append(SecretVersion(version_id, data, data_type, now, [CURRENT]))
    region.secrets[name] = secret
    return {"Arn": secret.arn, "SecretName": name, "VersionId": version_id, "SecretType": "Generic"}


@rpc("kms", "GetSecretValue")  # ledger: KMS-GETSECRETVALUE
def get_secret_value(req: ApiRequest) -> dict[str, Any]:
    secret = _secret(req, usable=True)
    version_id = req.params.get("VersionId") or None
    stage = req.params.get("VersionStage") or None
    if version_id is not None:
        version = secret.version(version_id)
        if version is None:
            raise _not_found(f"Version {version_id} of secret {secret.name} does not exist.")
        if stage is not None and stage not in version.stages:  # ledger: KMS-VERSION-STAGE-MISMATCH
            raise _invalid(f"Version {version_id} of secret {secret.name} is not marked {stage}.")
    else:
        version = secret.staged(stage or CURRENT)
        if version is None:
            raise _not_found(f"No version of secret {secret.name} is marked {stage or CURRENT}.")
    return {"SecretName": secret.name, "SecretType": "Generic", "VersionId": version.version_id,
            "SecretData": version.data, "SecretDataType": version.data_type,
            "VersionStages": _stage_list(version.stages), "CreateTime": iso(version.created)}


@rpc("kms", "PutSecretValue", write=True)  # ledger: KMS-PUTSECRETVALUE, AT-SELFGUARD-KMS
def put_secret_value(req: ApiRequest) -> dict[str, Any]:
    secret = _secret(req, usable=True)
    version_id = _version_id(req)
    data, data_type = _data(req)
    stages = _stages(req)
    existing = secret.version(version_id)
    if existing is not None:
        if existing.data != data:  # ledger: KMS-PUT-CONFLICT-CODE
            raise CloudError("Rejected.ResourceExist",
                             f"The resource already exists. Version {version_id} of secret {secret.name} "
                             "holds a different value.", 409)
        return {"SecretName": secret.name, "VersionId": version_id, "VersionStages": _stage_list(existing.stages)}
    now = req.world.clock.now()
    previous_current = secret.staged(CURRENT) if CURRENT in stages else None
    for version in secret.versions:
        version.stages = [s for s in version.stages if s not in stages]
    if previous_current is not None and PREVIOUS not in stages:
        for version in secret.versions:
            version.stages = [s for s in version.stages if s != PREVIOUS]
        previous_current.stages.append(PREVIOUS)
    secret.versions.append(SecretVersion(version_id, data, data_type, now, list(stages)))
    while len(secret.versions) > MAX_VERSIONS:  # ledger: KMS-VERSION-DROP
        oldest = next(v for v in secret.versions if CURRENT not in v.stages)
        secret.versions.remove(oldest)
    secret.updated = now
    return {"SecretName": secret.name, "VersionId": version_id, "VersionStages": _stage_list(stages)}


@rpc("kms", "DescribeSecret")  # ledger: KMS-DESCRIBESECRET
def describe_secret(req: ApiRequest) -> dict[str, Any]:
    secret = _secret(req, usable=False)
    body: dict[str, Any] = {"Arn": secret.arn, "SecretName": secret.name, "SecretType": "Generic",
                            "Description": secret.description, "CreateTime": iso(secret.created),
                            "UpdateTime": iso(secret.updated)}
    if secret.encryption_key_id:
        body["EncryptionKeyId"] = secret.encryption_key_id
    if secret.dkms_instance_id:
        body["DKMSInstanceId"] = secret.dkms_instance_id
    if secret.planned_delete is not None:
        body["PlannedDeleteTime"] = iso(secret.planned_delete)
    if _flag(req, "FetchTags"):
        body["Tags"] = {"Tag": [dict(t) for t in secret.tags]}
    return body


@rpc("kms", "ListSecretVersionIds")  # ledger: KMS-LISTVERSIONIDS, KMS-METADATA
def list_secret_version_ids(req: ApiRequest) -> dict[str, Any]:
    secret = _secret(req, usable=False)
    include_deprecated = _flag(req, "IncludeDeprecated")
    page_number = req.int_param("PageNumber", 1, lo=1, hi=100_000, code="InvalidParameter") or 1
    page_size = req.int_param("PageSize", DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE,
                              code="InvalidParameter") or DEFAULT_PAGE_SIZE
    versions = [v for v in secret.versions if include_deprecated or v.stages]
    start = (page_number - 1) * page_size
    rows = [{"VersionId": v.version_id, "CreateTime": iso(v.created), "VersionStages": _stage_list(v.stages)}
            for v in versions[start:start + page_size]]
    return {"SecretName": secret.name, "TotalCount": len(versions), "PageNumber": page_number,
            "PageSize": page_size, "VersionIds": {"VersionId": rows}}


@rpc("kms", "DeleteSecret", write=True)  # ledger: KMS-DELETESECRET, KMS-DELETE-WINDOW, AT-SELFGUARD-KMS
def delete_secret(req: ApiRequest) -> dict[str, Any]:
    secret = _secret(req, usable=False)
    now = req.world.clock.now()
    region = kms_state(req.account).region(secret.region)
    if _flag(req, "ForceDeleteWithoutRecovery"):
        del region.secrets[secret.name]
        return {"SecretName": secret.name, "PlannedDeleteTime": iso(now)}
    if secret.planned_delete is not None:
        raise CloudError("Rejected.ResourceInDeleteWindow", "The secret is planned to be deleted.", 409)
    days = req.int_param("RecoveryWindowInDays", DEFAULT_RECOVERY_DAYS, lo=1, hi=DEFAULT_RECOVERY_DAYS,
                         code="InvalidParameter")
    secret.planned_delete = now + timedelta(days=days or DEFAULT_RECOVERY_DAYS)
    return {"SecretName": secret.name, "PlannedDeleteTime": iso(secret.planned_delete)}
