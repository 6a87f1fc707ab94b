"""Grants: the partner-access record (model), its RAM names (naming) and its tag codec (tags).

The modules re-exported here are pure: no SDK import, no I/O.
"""
from shared.grants.model import (
    Grant,
    GrantError,
    PolicyRef,
    is_grant_id,
    new_grant_id,
    parse_iso_z,
    to_iso_z,
)
from shared.grants.naming import (
    MANAGED_PREFIX,
    RESERVED_ROLE_PREFIX,
    custom_policy_grant_id,
    custom_policy_name,
    custom_policy_prefix,
    role_name_for,
)
from shared.grants.tags import (
    MANAGED_TAG,
    MAX_TAGS,
    READ_VERSIONS,
    RECORD_VERSION,
    TAG_PREFIX,
    TagDecodeError,
    TagError,
    TagLimitError,
    expiry_change,
    expiry_from_tags,
    expiry_tag,
    grant_from_tags,
    grant_to_tags,
    is_managed,
    record_expiry,
)

__all__ = [
    "Grant",
    "GrantError",
    "PolicyRef",
    "is_grant_id",
    "new_grant_id",
    "parse_iso_z",
    "to_iso_z",
    "MANAGED_PREFIX",
    "RESERVED_ROLE_PREFIX",
    "custom_policy_grant_id",
    "custom_policy_name",
    "custom_policy_prefix",
    "role_name_for",
    "MANAGED_TAG",
    "MAX_TAGS",
    "READ_VERSIONS",
    "RECORD_VERSION",
    "TAG_PREFIX",
    "TagDecodeError",
    "TagError",
    "TagLimitError",
    "expiry_change",
    "expiry_from_tags",
    "expiry_tag",
    "grant_from_tags",
    "grant_to_tags",
    "is_managed",
    "record_expiry",
]
