"""The request as a service handler sees it, after routing and authentication."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import CloudError
from .identity import Identity

if TYPE_CHECKING:
    from .world import Account, World


@dataclass
class ApiRequest:
    product: str
    action: str
    version: str
    params: dict[str, str]
    caller: Identity
    world: "World"
    request_id: str
    method: str = "POST"
    path: str = "/"
    path_params: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    source_ip: str = "127.0.0.1"
    user_agent: str = ""

    @property
    def account(self) -> "Account":
        """The caller's own account: every RAM, ECS and FC call acts there."""
        return self.world.account(self.caller.account_id)

    def param(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.params.get(name)
        if value is None or value == "":
            if required:
                raise CloudError(f"MissingParameter.{name}" if self.product != "sts" else "MissingParameter",
                                 f"The input parameter \"{name}\" that is mandatory for processing this request is not supplied.",
                                 400)
            return default
        return value

    def int_param(self, name: str, default: int | None = None, *, lo: int | None = None,
                  hi: int | None = None, code: str | None = None) -> int | None:
        raw = self.param(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise CloudError(code or f"InvalidParameter.{name}", f"The parameter {name} is invalid.", 400) from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise CloudError(code or f"InvalidParameter.{name}",
                             f"The parameter {name} must be between {lo} and {hi}.", 400)
        return value
