"""Names of the RAM resources a grant creates.

Names are derived from the grant id, never random, so a create that is retried
after a timeout finds the role and policies its first attempt made, and revoke
can find custom policies left behind by a half-finished create by prefix alone.
"""
from __future__ import annotations

from shared.grants.model import (
    MAX_CUSTOM_POLICIES,
    ROLE_NAME_RE,
    GrantError,
    is_grant_id,
)
from shared.policies.principals import ACCOUNT_ID_RE

# Every derived role and custom-policy name starts with this.
MANAGED_PREFIX = "rolegate-"


def role_name_for(partner_account_id: str, grant_id: str, requested: str | None = None) -> str:
    """The grant's role name: ``requested`` if valid, else ``rolegate-<partner>-<grant id>``.

    The default (40 chars) names the partner so an operator browsing the RAM
    console can tell grants apart without reading tags.
    """
    if requested is None:
        if not isinstance(partner_account_id, str) or not ACCOUNT_ID_RE.match(partner_account_id):
            raise GrantError("partner_account_id", "partner_account_id must be a 16-digit account id")
        if not is_grant_id(grant_id):
            raise GrantError("grant_id", "grant_id must be g- and 12 lowercase base32 characters")
        return f"{MANAGED_PREFIX}{partner_account_id}-{grant_id}"
    if not isinstance(requested, str) or not ROLE_NAME_RE.match(requested):
        raise GrantError("role_name", "role_name must be 1-64 letters, digits, '.' or '-'")
    if requested != requested.lower():
        # The functions' policies name their roles role/rolegate-*; whether RAM matches that pattern without
        # regard to case is not documented, so a requested name is lower-case like the derived ones.
        raise GrantError("role_name", "role_name must be lower-case, like the role names Rolegate derives")
    if not is_grant_role_name(requested):
        raise GrantError("role_name", f"a grant's role name must start with {MANAGED_PREFIX!r}, Rolegate's "
                                      "namespace (its functions may change nothing outside it)")
    return requested


def is_grant_role_name(name: str) -> bool:
    """Whether a role name lies in Rolegate's namespace, where every role is a grant's and nothing else's."""
    return isinstance(name, str) and name.lower().startswith(MANAGED_PREFIX)


def grant_id_in_role_name(name: str) -> str | None:
    """The grant id a derived role name ends with (``rolegate-<partner>-<grant id>``), or None.

    A hint, like the readable tags: it links a role to a grant's custom
    policies when the role's record and tags can no longer say so.
    """
    if not is_grant_role_name(name):
        return None
    tail = name.lower()[-14:]
    return tail if len(name) > len(MANAGED_PREFIX) + 14 and name[-15] == "-" and is_grant_id(tail) else None


def custom_policy_prefix(grant_id: str) -> str:
    """Prefix shared by all custom policies of one grant, and by no other grant's (ids are fixed-length)."""
    if not is_grant_id(grant_id):
        raise GrantError("grant_id", "grant_id must be g- and 12 lowercase base32 characters")
    return f"{MANAGED_PREFIX}{grant_id}-"


def custom_policy_name(grant_id: str, index: int) -> str:
    """Name of the grant's ``index``-th custom policy, e.g. ``rolegate-g-abcdefghijkl-p0`` (27 chars)."""
    if type(index) is not int or not 0 <= index < MAX_CUSTOM_POLICIES:
        raise GrantError("policies", f"custom policy index must be 0-{MAX_CUSTOM_POLICIES - 1}")
    return f"{custom_policy_prefix(grant_id)}p{index}"


def custom_policy_grant_id(name: str) -> str | None:
    """The grant id in a name made by :func:`custom_policy_name`, or None for any other name.

    The inverse is exact (the index included), so only names Rolegate itself
    would give a grant's custom policy are read as one.
    """
    if not isinstance(name, str) or not name.startswith(MANAGED_PREFIX):
        return None
    grant_id, _, index = name[len(MANAGED_PREFIX):].rpartition("-p")
    if not is_grant_id(grant_id) or not index.isdecimal():
        return None
    try:
        return grant_id if custom_policy_name(grant_id, int(index)) == name else None
    except (GrantError, ValueError):
        return None
