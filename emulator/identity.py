"""Who is calling: the identity a verified signature resolves to."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Identity:
    """A caller of the emulated APIs.

    ``kind`` is one of ``root``, ``user``, ``assumed-role``. For an assumed
    role, ``name`` is the role name, ``session_name`` the RoleSessionName,
    ``session_policy`` the optional AssumeRole ``Policy``, and ``role_id`` the
    role's id.
    """

    kind: str
    account_id: str
    name: str = ""
    access_key_id: str = ""
    principal_id: str = ""
    session_name: str = ""
    role_id: str = ""
    session_policy: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    source_identity: str = ""

    @property
    def arn(self) -> str:
        if self.kind == "root":
            return f"acs:ram::{self.account_id}:root"
        if self.kind == "user":
            return f"acs:ram::{self.account_id}:user/{self.name}"
        return f"acs:ram::{self.account_id}:assumed-role/{self.name}/{self.session_name}"

    @property
    def role_arn(self) -> str:
        """The ARN of the role behind an assumed-role session (``role/<name>``)."""
        return f"acs:ram::{self.account_id}:role/{self.name.lower()}"
