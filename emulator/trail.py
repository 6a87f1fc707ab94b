"""ActionTrail feed (being written)."""
from typing import Any


def record(world: Any, req: Any, result: Any) -> None:
    return None


def record_failure(world: Any, product: str, action: str, params: Any, caller: Any, request_id: str, err: Any) -> None:
    return None
