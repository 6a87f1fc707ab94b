"""Fixed sample values and a Grant factory shared by the grant unit tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.grants import Grant, PolicyRef, role_name_for
from shared.policies.principals import UserPrincipal

OWNER = "1111222233334444"
PARTNER = "5555666677778888"
GID = "g-abcdefghij23"
T0 = datetime(2030, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
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
