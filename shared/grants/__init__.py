"""Grants: the partner-access record (model), its RAM names (naming) and its tag codec (tags).

The modules re-exported here are pure: no SDK import, no I/O. The names are
loaded from their modules on first access, so importing one module of the
package does not load the others.
"""
from __future__ import annotations

from shared.lazy import lazy_exports

_EXPORTS = {
    "shared.grants.model": ("Grant", "GrantError", "PolicyRef", "is_grant_id", "new_grant_id", "parse_iso_z",
                            "to_iso_z"),
    "shared.grants.naming": ("MANAGED_PREFIX", "custom_policy_grant_id", "is_grant_role_name",
                             "custom_policy_name", "custom_policy_prefix", "role_name_for"),
    "shared.grants.tags": ("MANAGED_TAG", "MAX_TAGS", "READ_VERSIONS", "RECORD_VERSION", "TAG_PREFIX",
                           "RecordUnauthenticated", "TagDecodeError", "TagError", "TagLimitError", "expiry_tag",
                           "grant_from_tags", "grant_to_tags", "is_managed", "legacy_grant_from_tags",
                           "record_change"),
    "shared.grants.proof": ("Keyring", "RecordKey", "StaticKeyring"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
