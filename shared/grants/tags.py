"""The role is the record: a Grant written to, and read back from, RAM role tags.

Layout (every key under ``rolegate:``, never ``acs:`` or ``aliyun``):

* ``rolegate:managed = true`` marks the role as ours; ``MANAGED_TAG`` is the
  ListRoles filter.
* Readable tags, for operators and for cheap filtering without decoding:
  ``rolegate:grant-id``, ``rolegate:partner``, ``rolegate:expires-at``
  (``YYYY-MM-DDThh:mm:ssZ``), ``rolegate:principal-kind`` and, when it fits,
  ``rolegate:requester``.
* The record ``rolegate:r0``, ``rolegate:r1``, ...: compact JSON of everything
  else (principal with all its fields, policies with kind, resource group and
  custom document hash, max session duration, creation time, requester, ticket,
  description, and the role name when it is not the derived default),
  zlib-compressed, base64url without padding, prefixed with the header
  ``<format version>.<chunk count>.`` and cut into values of at most 256
  characters. The header lets a reader tell a partial write (a missing chunk)
  from a complete one; zlib's checksum catches edited or reordered chunks.
  base64url has no ``:`` or ``/``, so no value can contain ``http://``.

The expiry lives only in the readable ``rolegate:expires-at`` tag, not in the
record: extending or shortening a grant is then a single TagResources call
(``expiry_tag``) that cannot leave the two disagreeing. The record repeats the
grant id, partner, principal kind and requester so a hand-edited readable tag is
detected instead of believed.

At the 20-tag limit (which counts the caller's own tags, ``extra_tags``), space
is given up in this order, losing as little as possible:
1. the readable ``rolegate:requester`` tag (the record still has the requester);
2. the end of the description; the record then keeps the longest prefix that
   fits plus the original length, and the full text stays in the role's own
   Description, which ``grant_from_tags`` uses when given as ``role_description``.
If the record still does not fit (very long OIDC values or ExternalId with many
policies), ``grant_to_tags`` raises ``TagLimitError`` and nothing is created.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from shared.grants.model import Grant, GrantError, PolicyRef, parse_iso_z, to_iso_z
from shared.grants.naming import role_name_for
from shared.policies.principals import PrincipalError, principal_from_dict

TAG_PREFIX = "rolegate:"
MANAGED_KEY = "rolegate:managed"
GRANT_ID_KEY = "rolegate:grant-id"
PARTNER_KEY = "rolegate:partner"
EXPIRES_KEY = "rolegate:expires-at"
PRINCIPAL_KIND_KEY = "rolegate:principal-kind"
REQUESTER_KEY = "rolegate:requester"
RECORD_KEY_PREFIX = "rolegate:r"
MANAGED_TAG = {"Key": MANAGED_KEY, "Value": "true"}

RECORD_VERSION = 1
MAX_TAGS = 20
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
RESERVED_KEY_PREFIXES = ("acs:", "aliyun")
FORBIDDEN_VALUE_PARTS = ("http://", "https://")

_RECORD_KEY_RE = re.compile(r"^rolegate:r(0|[1-9][0-9]?)\Z")
_HEADER_RE = re.compile(r"^([0-9]{1,3})\.([1-9][0-9]?)\.")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*\Z")
_MAX_RECORD_BYTES = 64 * 1024  # far above any real record; stops a zlib bomb in a tag
_SYSTEM, _CUSTOM = "S", "C"
_RECORD_FIELDS = {
    "g": str, "p": str, "pr": dict, "pol": list, "s": int, "c": int,
    "n": str, "rq": str, "t": str, "d": str, "dl": int,
}
_REQUIRED_FIELDS = ("g", "p", "pr", "pol", "s", "c")


class TagError(ValueError):
    """Tags that cannot be written as asked (a caller tag under a reserved prefix, too long, ...)."""


class TagLimitError(TagError):
    """The grant does not fit in the 20 tags RAM allows per role."""


class TagDecodeError(TagError):
    """Tags that do not hold a complete, consistent Rolegate record; ``reason`` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _pairs(tags: Any, error: type[TagError]) -> list[tuple[str, str]]:
    """(key, value) pairs from ``[{"Key","Value"}]`` or ListRoles' ``[{"TagKey","TagValue"}]``.

    ListRoles' ``{"Tag": [...]}`` wrapper is unwrapped too. A missing value is
    read as "" (RAM allows empty values and omits them in some replies).
    """
    if isinstance(tags, Mapping) and set(tags) == {"Tag"}:
        tags = tags["Tag"]
    if not isinstance(tags, (list, tuple)):
        raise error("tags must be a list of {Key, Value} objects")
    out: dict[str, str] = {}
    for entry in tags:
        if not isinstance(entry, Mapping):
            raise error("each tag must be an object")
        key = entry.get("Key", entry.get("TagKey"))
        value = entry.get("Value", entry.get("TagValue", ""))
        if not isinstance(key, str) or not isinstance(value, str):
            raise error("each tag needs a string Key and Value")
        if out.setdefault(key, value) != value:
            raise error(f"tag {key} appears twice with different values")
    return list(out.items())


def _check_tag(key: str, value: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or len(value) > MAX_VALUE_LENGTH:
        raise TagError(f"tag {key[:40]!r}: keys are 1-{MAX_KEY_LENGTH} chars, values at most {MAX_VALUE_LENGTH}")
    if key.lower().startswith(RESERVED_KEY_PREFIXES):
        raise TagError(f"tag key {key[:40]!r} uses a reserved prefix (acs:, aliyun)")
    if any(part in value.lower() for part in FORBIDDEN_VALUE_PARTS):
        raise TagError(f"tag {key[:40]!r}: values must not contain http:// or https://")


def _tag(key: str, value: str) -> dict[str, str]:
    return {"Key": key, "Value": value}


def expiry_tag(expires_at: datetime) -> dict[str, str]:
    """The one tag to rewrite when a grant's expiry changes (see module docstring)."""
    return _tag(EXPIRES_KEY, to_iso_z(expires_at))


def _readable_requester(requester: str | None) -> bool:
    if requester is None:
        return False
    try:
        _check_tag(REQUESTER_KEY, requester)
    except TagError:
        return False
    return True


def _record(grant: Grant, description: str | None, truncated_from: int | None) -> dict[str, Any]:
    policies: list[list[Any]] = []
    for policy in grant.policies:
        item: list[Any] = [policy.name, _CUSTOM if policy.kind == PolicyRef.CUSTOM else _SYSTEM]
        if policy.resource_group_id is not None or policy.document_hash is not None:
            item.append(policy.resource_group_id)
        if policy.document_hash is not None:
            item.append(policy.document_hash)
        policies.append(item)
    record: dict[str, Any] = {
        "g": grant.grant_id,
        "p": grant.partner_account_id,
        "pr": grant.principal.to_dict(),
        "pol": policies,
        "s": grant.max_session_duration,
        "c": int(grant.created_at.timestamp()),
    }
    if grant.role_name != role_name_for(grant.partner_account_id, grant.grant_id):
        record["n"] = grant.role_name
    optional = {"rq": grant.requester, "t": grant.ticket, "d": description or None, "dl": truncated_from}
    record.update({k: v for k, v in optional.items() if v is not None})
    return record


def _chunks(record: dict[str, Any]) -> list[str]:
    raw = json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    data = base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode("ascii")
    count = 1
    while True:  # the header grows with the count; this settles in at most two steps
        body = f"{RECORD_VERSION}.{count}.{data}"
        needed = -(-len(body) // MAX_VALUE_LENGTH)
        if needed == count:
            return [body[i:i + MAX_VALUE_LENGTH] for i in range(0, len(body), MAX_VALUE_LENGTH)]
        count = needed


def _fit_description(grant: Grant, free: int) -> list[str] | None:
    """Record chunks with the longest description prefix that fits in ``free`` tags, if any does."""
    text = grant.description
    if not text:
        return None
    best = _chunks(_record(grant, None, len(text)))
    if len(best) > free:
        return None
    low, high = 1, len(text) - 1
    while low <= high:  # compression makes fit only roughly monotonic: any fitting prefix will do
        mid = (low + high) // 2
        chunks = _chunks(_record(grant, text[:mid], len(text)))
        if len(chunks) <= free:
            low, best = mid + 1, chunks
        else:
            high = mid - 1
    return best


def grant_to_tags(grant: Grant, extra_tags: Iterable[Mapping[str, str]] = ()) -> list[dict[str, str]]:
    """All tags the grant's role carries: Rolegate's, then ``extra_tags`` (the caller's own, kept as given).

    Raises ``TagError`` for an unusable caller tag and ``TagLimitError`` when the
    grant cannot be recorded in the 20 tags (see module docstring for what is
    given up first).
    """
    extras = _pairs(list(extra_tags), TagError)
    for key, value in extras:
        if key.startswith(TAG_PREFIX):
            raise TagError(f"tag key {key[:40]!r} is reserved for Rolegate's own record")
        _check_tag(key, value)
    readable = [
        dict(MANAGED_TAG),
        _tag(GRANT_ID_KEY, grant.grant_id),
        _tag(PARTNER_KEY, grant.partner_account_id),
        expiry_tag(grant.expires_at),
        _tag(PRINCIPAL_KIND_KEY, grant.principal.kind),
    ]
    free = MAX_TAGS - len(extras) - len(readable)
    chunks = _chunks(_record(grant, grant.description, None))
    if _readable_requester(grant.requester) and len(chunks) + 1 <= free:
        readable.append(_tag(REQUESTER_KEY, grant.requester or ""))
    elif len(chunks) > free:
        fitted = _fit_description(grant, free)
        if fitted is None:
            needed = len(_chunks(_record(grant, None, None)))
            raise TagLimitError(
                f"the grant record needs {needed} tags but only {max(free, 0)} of {MAX_TAGS} are free "
                f"({len(readable)} Rolegate tags, {len(extras)} caller tags); shorten the OIDC issuer, "
                "audiences or subjects, the ExternalId, or the policy list"
            )
        chunks = fitted
    tags = readable + [_tag(f"{RECORD_KEY_PREFIX}{i}", chunk) for i, chunk in enumerate(chunks)]
    return tags + [_tag(key, value) for key, value in extras]


def grant_id_from_tags(tags: Any) -> str | None:
    """The readable grant-id tag of a managed role, or None; never raises (used on damaged records too)."""
    try:
        ours = dict(_pairs(tags, TagError))
    except TagError:
        return None
    return ours.get(GRANT_ID_KEY) if ours.get(MANAGED_KEY) == "true" else None


def is_managed(tags: Any) -> bool:
    """Whether the tags carry ``rolegate:managed=true``; never raises, so any role can be asked."""
    try:
        return dict(_pairs(tags, TagError)).get(MANAGED_KEY) == "true"
    except TagError:
        return False


def _parse_expiry(value: str | None) -> datetime:
    if value is None:
        raise TagDecodeError(f"tag {EXPIRES_KEY} is missing")
    try:
        return parse_iso_z(value)
    except ValueError:
        raise TagDecodeError(f"tag {EXPIRES_KEY} is not a YYYY-MM-DDThh:mm:ssZ time: {value[:40]!r}") from None


def expiry_from_tags(tags: Any) -> datetime | None:
    """The expiry of a managed role from its readable tag alone (the sweep's cheap path).

    None for a role that is not ours; ``TagDecodeError`` for one of ours whose
    expiry is missing or malformed, so the sweep reports it instead of skipping it.
    """
    ours = dict(_pairs(tags, TagDecodeError))
    if ours.get(MANAGED_KEY) != "true":
        return None
    return _parse_expiry(ours.get(EXPIRES_KEY))


def _record_text(ours: dict[str, str]) -> str:
    chunks: dict[int, str] = {}
    for key, value in ours.items():
        match = _RECORD_KEY_RE.match(key)
        if match:
            chunks[int(match.group(1))] = value
    if 0 not in chunks:
        raise TagDecodeError(f"record tag {RECORD_KEY_PREFIX}0 is missing")
    header = _HEADER_RE.match(chunks[0])
    if header is None:
        raise TagDecodeError(f"record tag {RECORD_KEY_PREFIX}0 has no <version>.<count>. header")
    if int(header.group(1)) != RECORD_VERSION:
        raise TagDecodeError(f"record format version {header.group(1)} is not supported (expected {RECORD_VERSION})")
    count = int(header.group(2))
    for index in range(count):
        if index not in chunks:
            raise TagDecodeError(f"record tag {RECORD_KEY_PREFIX}{index} of {count} is missing (partial write?)")
    extra = sorted(set(chunks) - set(range(count)))
    if extra:
        raise TagDecodeError(f"record tag {RECORD_KEY_PREFIX}{extra[0]} is beyond the record's {count} tags")
    return chunks[0][header.end():] + "".join(chunks[i] for i in range(1, count))


def _decode_record(text: str) -> dict[str, Any]:
    if not _B64URL_RE.match(text):
        raise TagDecodeError("record is not base64url")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TagDecodeError("record is not valid base64url") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, _MAX_RECORD_BYTES)
    except zlib.error:
        raise TagDecodeError("record is corrupt (zlib data or checksum invalid)") from None
    if inflater.unconsumed_tail:
        raise TagDecodeError("record is implausibly large")
    if not inflater.eof or inflater.unused_data:
        raise TagDecodeError("record is truncated or has trailing data")
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TagDecodeError("record is not valid JSON") from None
    if not isinstance(record, dict):
        raise TagDecodeError("record is not a JSON object")
    unknown = sorted(set(record) - set(_RECORD_FIELDS))
    if unknown:
        raise TagDecodeError(f"record has unknown field {unknown[0]!r}")
    for key in _REQUIRED_FIELDS:
        if key not in record:
            raise TagDecodeError(f"record lacks field {key!r}")
    for key, value in record.items():
        kind = _RECORD_FIELDS[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TagDecodeError(f"record field {key!r} has the wrong type (expected {kind.__name__})")
    return record


def _policies(items: list[Any]) -> tuple[PolicyRef, ...]:
    out = []
    for item in items:
        if not isinstance(item, list) or not 2 <= len(item) <= 4 or item[1] not in (_SYSTEM, _CUSTOM):
            raise TagDecodeError("record policy entries must be [name, S|C, resource group?, hash?]")
        name, kind, group, digest = (item + [None, None])[:4]
        out.append(PolicyRef(
            name=name,
            kind=PolicyRef.CUSTOM if kind == _CUSTOM else PolicyRef.SYSTEM,
            resource_group_id=group,
            document_hash=digest,
        ))
    return tuple(out)


def _expect(ours: dict[str, str], key: str, recorded: str | None) -> None:
    value = ours.get(key)
    if value is None:
        raise TagDecodeError(f"tag {key} is missing")
    if value != recorded:
        raise TagDecodeError(f"tag {key}={value[:64]!r} disagrees with the record ({str(recorded)[:64]!r})")


def readable_tag_repair(tags: Any) -> tuple[list[dict[str, str]], list[str]]:
    """(tags to set, keys to remove) that make the readable tags agree with the record again.

    For a role whose readable tags were edited or removed while its record
    chunks survived: the marker, grant id, partner and principal kind are
    rewritten from the record; a requester tag is rewritten when present (and
    removed when the record names no requester); record chunks beyond the
    record's own count are removed. The expiry is not in the record, so it is
    left as it is. Both lists are empty when nothing disagrees.
    ``TagDecodeError`` when the record chunks themselves are missing or damaged.
    """
    ours = {k: v for k, v in _pairs(tags, TagDecodeError) if k.startswith(TAG_PREFIX)}
    header = _HEADER_RE.match(ours.get(f"{RECORD_KEY_PREFIX}0", ""))
    count = int(header.group(2)) if header else 1
    chunk_keys = [k for k in ours if _RECORD_KEY_RE.match(k)]
    extra = sorted(k for k in chunk_keys if int(k[len(RECORD_KEY_PREFIX):]) >= count)
    record = _decode_record(_record_text({k: v for k, v in ours.items() if k not in extra}))
    kind = record["pr"].get("type")
    if not isinstance(kind, str):
        raise TagDecodeError("record principal has no type")
    wanted = {MANAGED_KEY: "true", GRANT_ID_KEY: record["g"], PARTNER_KEY: record["p"], PRINCIPAL_KIND_KEY: kind}
    remove = list(extra)
    if REQUESTER_KEY in ours:
        if _readable_requester(record.get("rq")):
            wanted[REQUESTER_KEY] = record["rq"]
        else:
            remove.append(REQUESTER_KEY)
    return [_tag(k, v) for k, v in wanted.items() if ours.get(k) != v], remove


def grant_from_tags(
    tags: Any,
    role_name: str,
    owner_account_id: str,
    *,
    role_description: str | None = None,
) -> Grant:
    """The Grant recorded in a role's tags; ``TagDecodeError`` if they are foreign, partial or inconsistent.

    Tags outside ``rolegate:`` are ignored. ``role_description`` (the role's own
    Description) restores a description that had to be truncated in the tags.
    """
    ours = {k: v for k, v in _pairs(tags, TagDecodeError) if k.startswith(TAG_PREFIX)}
    if ours.get(MANAGED_KEY) != "true":
        raise TagDecodeError(f"role is not managed by Rolegate (no {MANAGED_KEY}=true tag)")
    expires_at = _parse_expiry(ours.get(EXPIRES_KEY))
    record = _decode_record(_record_text(ours))
    _expect(ours, GRANT_ID_KEY, record["g"])
    _expect(ours, PARTNER_KEY, record["p"])
    _expect(ours, PRINCIPAL_KIND_KEY, record["pr"].get("type"))
    if REQUESTER_KEY in ours:
        _expect(ours, REQUESTER_KEY, record.get("rq"))
    description = record.get("d")
    if "dl" in record:
        full = role_description
        restorable = isinstance(full, str) and len(full) == record["dl"] and full.startswith(description or "")
        description = full if restorable else description
    try:
        created_at = datetime.fromtimestamp(record["c"], timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise TagDecodeError("record creation time is out of range") from None
    try:
        grant = Grant(
            grant_id=record["g"],
            owner_account_id=owner_account_id,
            partner_account_id=record["p"],
            principal=principal_from_dict(record["pr"], record["p"]),
            policies=_policies(record["pol"]),
            role_name=role_name,
            max_session_duration=record["s"],
            created_at=created_at,
            expires_at=expires_at,
            requester=record.get("rq"),
            ticket=record.get("t"),
            description=description,
        )
    except (GrantError, PrincipalError) as exc:
        raise TagDecodeError(f"record holds an invalid grant ({exc.field}: {exc.message})") from None
    recorded_name = record.get("n") or role_name_for(grant.partner_account_id, grant.grant_id)
    if recorded_name.lower() != role_name.lower():
        raise TagDecodeError(f"tags were written for role {recorded_name!r}, not {role_name!r}")
    return grant
