"""Quarantine of a role whose trust policy was widened: nobody may assume it until an operator decides.

The action (``ROLEGATE_QUARANTINE_ACTION=deny-trust``) is a trust-policy swap,
chosen because it is the smallest change that stops new sessions and the
easiest to undo: the role, its policies, its tags and every existing
reference to it stay as they are.

1. The trust policy found on the role is saved in the role's own tags
   (``rolegate:quarantined-at`` and ``rolegate:original-trust-0``, ``-1``, ...:
   zlib-compressed, base64url, cut into 256-character values; the first value
   starts with ``<count>.`` so a partial copy is detected). If the role has no
   room for these tags (20 per role), it is not quarantined: the original
   must stay recoverable.
2. Only then is the trust policy replaced with :func:`shared.policies.trust.nobody_trust`: an
   Allow to the owner account's own identities on a condition no request can meet, a form
   every part of which RAM's documentation shows valid.

:func:`release` puts the saved trust policy back and removes the tags. The
saved copy is the policy as found -- the widened one -- since an event does
not carry the document it replaced; the operator narrows it after release.
Sessions issued before the swap live until they expire (at most the role's
maximum session duration); RAM cannot revoke them.

A role quarantined before carries the Deny-only form written then; it is
still recognised (:func:`admits_nobody`) and released the same way.
"""
from __future__ import annotations

import base64
import re
import zlib
from datetime import datetime
from typing import Any

from shared.grants.model import to_iso_z
from shared.grants.tags import MAX_TAGS, MAX_VALUE_LENGTH
from shared.policies.document import canonical_json
from shared.policies.trust import admits_nobody, nobody_trust
from shared.ram import RamGateway, Tags

QUARANTINED_AT_KEY = "rolegate:quarantined-at"
TRUST_KEY_PREFIX = "rolegate:original-trust-"
_TRUST_KEY_RE = re.compile(rf"^{re.escape(TRUST_KEY_PREFIX)}([0-9]{{1,2}})\Z")
_HEADER_RE = re.compile(r"^([1-9][0-9]?)\.")


class NoRoom(Exception):
    """The role's tags cannot hold a copy of its trust policy."""


def nobody_trust_text(owner_account_id: str) -> str:
    """The trust policy a quarantined role gets: nobody can satisfy it."""
    return canonical_json(nobody_trust(owner_account_id))


def _ours(key: str) -> bool:
    return key == QUARANTINED_AT_KEY or bool(_TRUST_KEY_RE.match(key))


def quarantine_keys(tags: Tags) -> list[str]:
    """Keys of the quarantine tags a role carries."""
    return [t["Key"] for t in tags if _ours(t["Key"])]


def saved_trust_tags(trust_text: str, quarantined_at: datetime, existing: Tags) -> Tags:
    """The tags holding ``trust_text``; ``NoRoom`` when they would not fit beside ``existing``."""
    data = base64.urlsafe_b64encode(zlib.compress(trust_text.encode("utf-8"), 9)).rstrip(b"=").decode("ascii")
    count = 1
    while True:  # the header grows with the count; settles in at most two steps
        body = f"{count}.{data}"
        needed = -(-len(body) // MAX_VALUE_LENGTH)
        if needed == count:
            break
        count = needed
    chunks = [body[i:i + MAX_VALUE_LENGTH] for i in range(0, len(body), MAX_VALUE_LENGTH)]
    kept = [t for t in existing if not _ours(t["Key"])]
    if len(kept) + len(chunks) + 1 > MAX_TAGS or len(chunks) > 99:
        raise NoRoom(f"{len(chunks) + 1} tags needed, {MAX_TAGS - len(kept)} free")
    return [{"Key": QUARANTINED_AT_KEY, "Value": to_iso_z(quarantined_at)}] + [
        {"Key": f"{TRUST_KEY_PREFIX}{i}", "Value": c} for i, c in enumerate(chunks)]


def saved_trust(tags: Tags) -> str | None:
    """The trust policy saved in ``tags``, or None when there is no complete, intact copy."""
    chunks = {int(m.group(1)): t["Value"] for t in tags if (m := _TRUST_KEY_RE.match(t["Key"]))}
    header = _HEADER_RE.match(chunks.get(0, ""))
    if header is None:
        return None
    count = int(header.group(1))
    if sorted(chunks) != list(range(count)):
        return None
    data = chunks[0][header.end():] + "".join(chunks[i] for i in range(1, count))
    try:
        return zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))).decode("utf-8")
    except (ValueError, zlib.error, UnicodeDecodeError):
        return None


def quarantine(ram: RamGateway, role_name: str, trust_text: str, tags: Tags, now: datetime,
               owner_account_id: str) -> None:
    """Save the trust policy in the role's tags, then make the role trust nobody (``NoRoom``: nothing done)."""
    ram.tag_role(role_name, saved_trust_tags(trust_text, now, tags))
    ram.update_role(role_name, nobody_trust_text(owner_account_id))


def release(ram: RamGateway, role_name: str) -> bool:
    """Undo a quarantine: the saved trust policy back on the role, the quarantine tags removed.

    False when the role is gone or holds no intact saved copy (then nothing is changed).
    """
    if ram.get_role(role_name) is None:
        return False
    tags = ram.role_tags(role_name)
    original = saved_trust(tags)
    if original is None:
        return False
    ram.update_role(role_name, original)
    ram.untag_role(role_name, quarantine_keys(tags))
    return True


__all__ = [
    "QUARANTINED_AT_KEY",
    "TRUST_KEY_PREFIX",
    "NoRoom",
    "admits_nobody",
    "nobody_trust_text",
    "quarantine",
    "quarantine_keys",
    "release",
    "saved_trust",
    "saved_trust_tags",
]
