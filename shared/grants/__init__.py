"""Grants: the partner-access record (model), its RAM names (naming) and its tag codec (tags).

The modules re-exported here are pure: no SDK import, no I/O. The names are
loaded from their modules on first access, so importing one module of the
package does not load the others.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "shared.grants.model": ("Grant", "GrantError", "PolicyRef", "is_grant_id", "new_grant_id", "parse_iso_z",
                            "to_iso_z"),
    "shared.grants.naming": ("MANAGED_PREFIX", "RESERVED_ROLE_PREFIX", "custom_policy_grant_id",
                             "custom_policy_name", "custom_policy_prefix", "role_name_for"),
    "shared.grants.tags": ("MANAGED_TAG", "MAX_TAGS", "READ_VERSIONS", "RECORD_VERSION", "TAG_PREFIX",
                           "TagDecodeError", "TagError", "TagLimitError", "expiry_change", "expiry_from_tags",
                           "expiry_tag", "grant_from_tags", "grant_to_tags", "is_managed", "record_expiry"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
