"""Fixed sample values and a Grant factory shared by the grant unit tests."""
from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import datetime, timedelta, timezone

from shared.grants.model import Grant, PolicyRef
from shared.grants.naming import role_name_for
from shared.grants.proof import RecordKey, StaticKeyring
from shared.policies.principals import UserPrincipal

OWNER = "1111222233334444"
PARTNER = "5555666677778888"
GID = "g-abcdefghij23"
T0 = datetime(2030, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
KEYRING = StaticKeyring(RecordKey("k1", b"record-key-for-the-unit-tests-01"))
DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}


def make_grant(**changes: object) -> Grant:
    """A valid user-principal grant with ``changes`` applied (validation runs as usual)."""
    values: dict[str, object] = dict(
        grant_id=GID,
        owner_account_id=OWNER,
        partner_account_id=PARTNER,
        principal=UserPrincipal(PARTNER, "Alice"),
        policies=(PolicyRef("AliyunECSReadOnlyAccess", "System"),),
        role_name=role_name_for(PARTNER, GID),
        max_session_duration=3600,
        created_at=T0,
        expires_at=T0 + timedelta(days=7),
        requester="ops@example.com",
        ticket="CHG-42",
        description="read-only ECS for the audit",
    )
    values.update(changes)
    return Grant(**values)  # type: ignore[arg-type]


def as_format_2(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    """The same grant's tags as format 2 wrote them, before records carried a proof.

    Format 2 has the expiry in the record but neither the write time, the
    nonce nor the proof tag. Written independently of the codec from the
    documented format, for the tests that such a record is never believed,
    only adopted.
    """
    chunk = re.compile(r"^rolegate:r([0-9]+)\Z")
    values = {t["Key"]: t["Value"] for t in tags}
    keys = sorted((k for k in values if chunk.match(k)), key=lambda k: int(k[len("rolegate:r"):]))
    data = "".join(values[k] for k in keys).split(".", 2)[2]
    record = json.loads(zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))))
    for key in ("w", "q", "x", "b"):
        record.pop(key, None)
    raw = json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    packed = base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode()
    count = 1
    while True:  # the header grows with the count
        text = f"2.{count}.{packed}"
        needed = -(-len(text) // 256)
        if needed == count:
            break
        count = needed
    kept = [t for t in tags if not chunk.match(t["Key"]) and t["Key"] != "rolegate:proof"]
    return kept + [{"Key": f"rolegate:r{i}", "Value": text[j:j + 256]} for i, j in enumerate(range(0, len(text), 256))]
