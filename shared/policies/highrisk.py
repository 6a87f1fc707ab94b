"""System policies too powerful to hand to a partner, whatever the request says.

RAM's console itself singles out AdministratorAccess and AliyunRAMFullAccess
as high-risk; deployments may add their own names through configuration.
"""
from __future__ import annotations

from collections.abc import Iterable

DEFAULT_HIGH_RISK_POLICIES: tuple[str, ...] = ("AdministratorAccess", "AliyunRAMFullAccess")


def is_high_risk_system_policy(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether system policy ``name`` is on the default list or in ``extra``.

    Compared without regard to case, so a differently-cased request cannot
    slip past the list.
    """
    wanted = name.casefold()
    return any(wanted == listed.casefold() for listed in (*DEFAULT_HIGH_RISK_POLICIES, *extra))
