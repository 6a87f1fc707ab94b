"""The role is the record: a Grant written to, and read back from, RAM role tags.

Layout (every key under ``rolegate:``, never ``acs:`` or ``aliyun``):

* ``rolegate:managed = true`` marks the role as ours; ``MANAGED_TAG`` is the
  ListRoles filter.
* Readable tags, for operators and for cheap filtering without decoding:
  ``rolegate:grant-id``, ``rolegate:partner``, ``rolegate:expires-at``
  (``YYYY-MM-DDThh:mm:ssZ``), ``rolegate:principal-kind`` and, when it fits,
  ``rolegate:requester``.
* The record ``rolegate:r0``, ``rolegate:r1``, ...: compact JSON of everything
  (principal with all its fields, policies with kind, resource group and
  custom document hash, max session duration, creation and expiry time,
  requester, ticket, description, and the role name when it is not the derived
  default), zlib-compressed, base64url without padding, prefixed with the
  header ``<format version>.<chunk count>.`` and cut into values of at most
  256 characters. A reader joins ``r0`` to ``r<count-1>`` whatever their
  lengths. The header lets a reader tell a partial write (a missing chunk)
  from a complete one; zlib's checksum catches edited or reordered chunks.
  base64url has no ``:`` or ``/``, so no value can contain ``http://``.

Record format versions: 2 (written) holds the expiry as ``e``, in epoch
seconds; 1 (still read, never written) has none, and for it the readable tag
alone says when the grant ends, as it always did.

The record repeats every readable value, so a hand-edited readable tag is
detected instead of believed: ``grant_from_tags`` refuses tags that disagree
with their record, and ``readable_tag_repair`` rewrites them from it. That
matters most for the expiry: ``ram:TagResources`` has no resource-level
permission in RAM, so anyone who may tag anything may push any grant's
readable expiry out. Where the expiry must be read without refusing
(``expiry_from_tags``, the revoke sweep), the earlier of the readable and the
recorded expiry wins: a readable expiry pushed later never extends access, one
pulled earlier only ends it sooner. zlib's checksum makes the record
tamper-evident, not unforgeable: someone who re-encodes a whole record in this
documented format can still write a consistent pair, a deliberate act that
ActionTrail shows as a TagResources of ``rolegate:r*`` keys, and which the
remediation function reports at level critical when anyone but Rolegate's
functions does it.

Moving the expiry (``expiry_change``) rewrites the readable tag and every
record chunk in one TagResources call. The chunk count is kept -- the new
text, a few characters longer or shorter, is spread evenly over the same keys
-- so no chunk is ever left over to remove. Only a record that outgrows its
chunks takes one more, in the same call, when the role has a free tag.

At the 20-tag limit (which counts the caller's own tags, ``extra_tags``), space
is given up in this order, losing as little as possible:
1. the readable ``rolegate:requester`` tag (the record still has the requester);
2. the end of the description; the record then keeps the longest prefix that
   fits plus the original length, and the full text stays in the role's own
   Description, which ``grant_from_tags`` uses when given as ``role_description``.
If the record still does not fit (very long OIDC values or ExternalId with many
policies), ``grant_to_tags`` raises ``TagLimitError`` and nothing is created.
``expiry_change`` on a full role gives up only the description's end (removing
the requester tag would take a second call), and raises ``TagLimitError``
when that is not enough.
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

RECORD_VERSION = 2  # the format written; READ_VERSIONS are the formats read
READ_VERSIONS = (1, 2)
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
_V1_FIELDS = {
    "g": str, "p": str, "pr": dict, "pol": list, "s": int, "c": int,
    "n": str, "rq": str, "t": str, "d": str, "dl": int,
}
_V1_REQUIRED = ("g", "p", "pr", "pol", "s", "c")
_RECORD_FIELDS = {1: _V1_FIELDS, 2: {**_V1_FIELDS, "e": int}}
_REQUIRED_FIELDS = {1: _V1_REQUIRED, 2: (*_V1_REQUIRED, "e")}


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
    """The readable expiry tag (the record holds the same time; ``expiry_change`` moves both)."""
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
        "e": int(grant.expires_at.timestamp()),
    }
    if grant.role_name != role_name_for(grant.partner_account_id, grant.grant_id):
        record["n"] = grant.role_name
    optional = {"rq": grant.requester, "t": grant.ticket, "d": description or None, "dl": truncated_from}
    record.update({k: v for k, v in optional.items() if v is not None})
    return record


def _packed(record: dict[str, Any]) -> str:
    raw = json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode("ascii")


def _chunks(record: dict[str, Any]) -> list[str]:
    """The record in as few chunks as it takes, each filled to the 256-character limit but the last."""
    data = _packed(record)
    count = 1
    while True:  # the header grows with the count; this settles in at most two steps
        body = f"{RECORD_VERSION}.{count}.{data}"
        needed = -(-len(body) // MAX_VALUE_LENGTH)
        if needed == count:
            return [body[i:i + MAX_VALUE_LENGTH] for i in range(0, len(body), MAX_VALUE_LENGTH)]
        count = needed


def _spread(record: dict[str, Any], count: int) -> list[str] | None:
    """The record in exactly ``count`` chunks of near-equal length, or None when it needs more."""
    body = f"{RECORD_VERSION}.{count}.{_packed(record)}"
    if len(body) > count * MAX_VALUE_LENGTH:
        return None
    size, longer = divmod(len(body), count)
    bounds = [i * size + min(i, longer) for i in range(count + 1)]
    return [body[bounds[i]:bounds[i + 1]] for i in range(count)]


def _fit_description(record: dict[str, Any], text: str | None, length: int, free: int) -> list[str] | None:
    """Record chunks keeping the longest prefix of ``text`` that fits in ``free`` tags, if any does.

    ``text`` is the description (or the prefix the record already keeps) and
    ``length`` the full description's length, recorded so that a reader can
    tell the role's own Description is the whole of it.
    """
    if not text:
        return None
    base = {k: v for k, v in record.items() if k not in ("d", "dl")}
    best = _chunks({**base, "dl": length})
    if len(best) > free:
        return None
    low, high = 1, len(text) - 1
    while low <= high:  # compression makes fit only roughly monotonic: any fitting prefix will do
        mid = (low + high) // 2
        chunks = _chunks({**base, "d": text[:mid], "dl": length})
        if len(chunks) <= free:
            low, best = mid + 1, chunks
        else:
            high = mid - 1
    return best


def _chunk_tags(chunks: list[str]) -> list[dict[str, str]]:
    return [_tag(f"{RECORD_KEY_PREFIX}{i}", chunk) for i, chunk in enumerate(chunks)]


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
        text = grant.description
        fitted = _fit_description(_record(grant, None, None), text, len(text or ""), free)
        if fitted is None:
            needed = len(_chunks(_record(grant, None, None)))
            raise TagLimitError(
                f"the grant record needs {needed} tags but only {max(free, 0)} of {MAX_TAGS} are free "
                f"({len(readable)} Rolegate tags, {len(extras)} caller tags); shorten the OIDC issuer, "
                "audiences or subjects, the ExternalId, or the policy list"
            )
        chunks = fitted
    return readable + _chunk_tags(chunks) + [_tag(key, value) for key, value in extras]


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


def _record_parts(ours: dict[str, str]) -> tuple[int, int, str]:
    """(format version, chunk count, base64url text) of the record chunks among ``ours``."""
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
    version = int(header.group(1))
    if version not in READ_VERSIONS:
        raise TagDecodeError(f"record format version {header.group(1)} is not supported "
                             f"(expected one of {', '.join(map(str, READ_VERSIONS))})")
    count = int(header.group(2))
    for index in range(count):
        if index not in chunks:
            raise TagDecodeError(f"record tag {RECORD_KEY_PREFIX}{index} of {count} is missing (partial write?)")
    extra = sorted(set(chunks) - set(range(count)))
    if extra:
        raise TagDecodeError(f"record tag {RECORD_KEY_PREFIX}{extra[0]} is beyond the record's {count} tags")
    return version, count, chunks[0][header.end():] + "".join(chunks[i] for i in range(1, count))


def _decode_record(version: int, text: str) -> dict[str, Any]:
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
    fields = _RECORD_FIELDS[version]
    unknown = sorted(set(record) - set(fields))
    if unknown:
        raise TagDecodeError(f"record has unknown field {unknown[0]!r}")
    for key in _REQUIRED_FIELDS[version]:
        if key not in record:
            raise TagDecodeError(f"record lacks field {key!r}")
    for key, value in record.items():
        kind = fields[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TagDecodeError(f"record field {key!r} has the wrong type (expected {kind.__name__})")
    return record


def _read_record(ours: dict[str, str]) -> dict[str, Any]:
    version, _, text = _record_parts(ours)
    return _decode_record(version, text)


def _timestamp(record: dict[str, Any], key: str, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(record[key], timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise TagDecodeError(f"record {what} time is out of range") from None


def _recorded_expiry(record: dict[str, Any]) -> datetime | None:
    return _timestamp(record, "e", "expiry") if "e" in record else None


def record_expiry(tags: Any) -> datetime | None:
    """The expiry the record holds; None for a format-1 record, which holds none.

    ``TagDecodeError`` when the record chunks are missing or damaged.
    """
    ours = {k: v for k, v in _pairs(tags, TagDecodeError) if k.startswith(TAG_PREFIX)}
    return _recorded_expiry(_read_record(ours))


def expiry_from_tags(tags: Any) -> datetime | None:
    """When a managed role's grant ends, for the revoke sweep, trusting no single tag.

    The earlier of the readable tag and the record: a readable expiry pushed
    later than the record's is not believed, one pulled earlier ends the grant
    sooner (either way ``grant_from_tags`` refuses the pair, so the sweep lists
    the role as unreadable too). The record's alone when the readable tag is
    missing or malformed; the readable tag's alone when the record holds no
    expiry (format 1) or cannot be decoded -- the sweep revokes such a role by
    it and reports its record. Decoding costs CPU only, no call.

    None for a role that is not ours; ``TagDecodeError`` for one of ours whose
    expiry neither the readable tag nor the record gives, so the sweep reports
    it instead of skipping it.
    """
    ours = dict(_pairs(tags, TagDecodeError))
    if ours.get(MANAGED_KEY) != "true":
        return None
    try:
        recorded = _recorded_expiry(_read_record(ours))
    except TagDecodeError:
        recorded = None
    try:
        readable = _parse_expiry(ours.get(EXPIRES_KEY))
    except TagDecodeError:
        if recorded is None:
            raise
        return recorded
    return readable if recorded is None else min(readable, recorded)


def expiry_change(tags: Any, expires_at: datetime) -> list[dict[str, str]]:
    """The tags to write, in one TagResources call, to move a grant's expiry: the readable tag and the record.

    ``tags`` are the role's current tags (all of them: foreign ones count
    toward the 20). The record is re-encoded with the new expiry and nothing
    else changed (a format-1 record becomes format 2), in as many chunks as
    before, so no chunk key is left over and nothing needs removing. A record
    that no longer fits its chunks takes one more if the role has a free tag;
    on a full role the end of the recorded description is given up instead
    (the role's Description keeps the full text). ``TagLimitError`` when
    neither works; ``TagDecodeError`` when the record cannot be read.
    """
    pairs = _pairs(tags, TagDecodeError)
    ours = {k: v for k, v in pairs if k.startswith(TAG_PREFIX)}
    readable = expiry_tag(expires_at)
    version, count, text = _record_parts(ours)
    record = {**_decode_record(version, text), "e": int(parse_iso_z(readable["Value"]).timestamp())}
    chunks = _spread(record, count)
    if chunks is None:
        free = count + MAX_TAGS - len(pairs)
        chunks = _chunks(record)
        if len(chunks) > free:
            description = record.get("d")
            chunks = _fit_description(record, description, record.get("dl", len(description or "")), free)
    if chunks is None:
        raise TagLimitError(f"the grant record with the new expiry needs {len(_chunks(record))} tags but the role "
                            f"has room for {count + MAX_TAGS - len(pairs)} and no description left to shorten")
    return [readable] + _chunk_tags(chunks)


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
    rewritten from the record, and so is the expiry when the record holds one
    (a format-1 record does not: its expiry tag is left as it is); a requester
    tag is rewritten when present (and removed when the record names no
    requester); record chunks beyond the record's own count are removed. Both
    lists are empty when nothing disagrees.
    ``TagDecodeError`` when the record chunks themselves are missing or damaged.
    """
    ours = {k: v for k, v in _pairs(tags, TagDecodeError) if k.startswith(TAG_PREFIX)}
    header = _HEADER_RE.match(ours.get(f"{RECORD_KEY_PREFIX}0", ""))
    count = int(header.group(2)) if header else 1
    chunk_keys = [k for k in ours if _RECORD_KEY_RE.match(k)]
    extra = sorted(k for k in chunk_keys if int(k[len(RECORD_KEY_PREFIX):]) >= count)
    record = _read_record({k: v for k, v in ours.items() if k not in extra})
    kind = record["pr"].get("type")
    if not isinstance(kind, str):
        raise TagDecodeError("record principal has no type")
    wanted = {MANAGED_KEY: "true", GRANT_ID_KEY: record["g"], PARTNER_KEY: record["p"], PRINCIPAL_KIND_KEY: kind}
    recorded_expiry = _recorded_expiry(record)
    if recorded_expiry is not None:
        wanted[EXPIRES_KEY] = to_iso_z(recorded_expiry)
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
    The readable expiry must equal the record's (format 2); a format-1 record
    holds none, and the readable tag is the grant's expiry.
    """
    ours = {k: v for k, v in _pairs(tags, TagDecodeError) if k.startswith(TAG_PREFIX)}
    if ours.get(MANAGED_KEY) != "true":
        raise TagDecodeError(f"role is not managed by Rolegate (no {MANAGED_KEY}=true tag)")
    expires_at = _parse_expiry(ours.get(EXPIRES_KEY))
    record = _read_record(ours)
    _expect(ours, GRANT_ID_KEY, record["g"])
    _expect(ours, PARTNER_KEY, record["p"])
    _expect(ours, PRINCIPAL_KIND_KEY, record["pr"].get("type"))
    if REQUESTER_KEY in ours:
        _expect(ours, REQUESTER_KEY, record.get("rq"))
    recorded_expiry = _recorded_expiry(record)
    if recorded_expiry is not None:
        _expect(ours, EXPIRES_KEY, to_iso_z(recorded_expiry))
    description = record.get("d")
    if "dl" in record:
        full = role_description
        restorable = isinstance(full, str) and len(full) == record["dl"] and full.startswith(description or "")
        description = full if restorable else description
    created_at = _timestamp(record, "c", "creation")
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
