"""Policy evaluation (being written)."""
from typing import Any


def authorize(world: Any, identity: Any, action: str, resources: list[str], req: Any) -> None:
    return None
