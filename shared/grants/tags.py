"""The role is the record: a Grant written to, and read back from, RAM role tags under its proof.

Only a record whose proof verifies is read as a grant; the readable tags are
hints. The format, the proof and the tag budget: docs/design/records.md.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from shared.grants.model import Grant, GrantError, PolicyRef, parse_iso_z, to_iso_z
from shared.grants.naming import role_name_for
from shared.grants.proof import Keyring, seal, unseal
from shared.jsontext import canonical
from shared.policies.principals import PrincipalError, principal_from_dict

TAG_PREFIX = "rolegate:"
MANAGED_KEY = "rolegate:managed"
GRANT_ID_KEY = "rolegate:grant-id"
PARTNER_KEY = "rolegate:partner"
EXPIRES_KEY = "rolegate:expires-at"
PRINCIPAL_KIND_KEY = "rolegate:principal-kind"
REQUESTER_KEY = "rolegate:requester"
RECORD_KEY_PREFIX = "rolegate:r"
PROOF_KEY = "rolegate:proof"
MANAGED_TAG = {"Key": MANAGED_KEY, "Value": "true"}

RECORD_VERSION = 3  # the format written; READ_VERSIONS are the formats read (2 only to adopt it)
READ_VERSIONS = (2, 3)
MAX_TAGS = 20
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
# RAM's tag rules (Alibaba Cloud's Tag structure; ledger RAM-TAG-RESERVED-KEY, RAM-TAG-VALUE-ACS): keys do not
# start with acs: or aliyun, values do not start with acs:, and neither contains http:// or https://.
RESERVED_KEY_PREFIXES = ("acs:", "aliyun")
RESERVED_VALUE_PREFIX = "acs:"
FORBIDDEN_VALUE_PARTS = ("http://", "https://")

_RECORD_KEY_RE = re.compile(r"^rolegate:r(0|[1-9][0-9]?)\Z")
_HEADER_RE = re.compile(r"^([0-9]{1,3})\.([1-9][0-9]?)\.")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*\Z")
_MAX_RECORD_BYTES = 64 * 1024  # far above any real record; stops a zlib bomb in a tag
# Deflate with an 8 KiB window: the 20 tags hold about 3.5 KB of record, so a longer window finds nothing more,
# and zlib.compress's 32 KiB window and larger hash table cost three times as long to set up (about 50 us a
# write). Any zlib reader inflates it: the window's size is in the stream's header.
_WINDOW_BITS = 13
_SYSTEM, _CUSTOM = "S", "C"
_V2_FIELDS = {
    "g": str, "p": str, "pr": dict, "pol": list, "s": int, "c": int, "e": int,
    "n": str, "rq": str, "t": str, "d": str, "dl": int,
}
_V2_REQUIRED = ("g", "p", "pr", "pol", "s", "c", "e")
_RECORD_FIELDS = {2: _V2_FIELDS, 3: {**_V2_FIELDS, "w": int, "x": int, "q": str, "b": str}}
_REQUIRED_FIELDS = {2: _V2_REQUIRED, 3: (*_V2_REQUIRED, "w")}


class TagError(ValueError):
    """Tags that cannot be written as asked (a caller tag under a reserved prefix, too long, ...)."""


class TagLimitError(TagError):
    """The grant does not fit in the 20 tags RAM allows per role."""


class TagDecodeError(TagError):
    """Tags that do not hold a complete, consistent Rolegate record; ``reason`` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecordUnauthenticated(TagDecodeError):
    """A record that decodes but whose proof is missing or wrong: not Rolegate's, never acted on."""


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
    if any(part in key.lower() for part in FORBIDDEN_VALUE_PARTS):
        raise TagError(f"tag key {key[:40]!r} must not contain http:// or https://")
    if any(part in value.lower() for part in FORBIDDEN_VALUE_PARTS):
        raise TagError(f"tag {key[:40]!r}: values must not contain http:// or https://")
    if value.lower().startswith(RESERVED_VALUE_PREFIX):
        raise TagError(f"tag {key[:40]!r}: values must not start with {RESERVED_VALUE_PREFIX}")


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


def _record(grant: Grant, description: str | None, truncated_from: int | None, written_at: datetime,
            nonce: str) -> dict[str, Any]:
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
        "w": int(written_at.timestamp()),
        "q": nonce,
    }
    if grant.role_name != role_name_for(grant.partner_account_id, grant.grant_id):
        record["n"] = grant.role_name
    optional = {"rq": grant.requester, "t": grant.ticket, "d": description or None, "dl": truncated_from,
                "x": int(grant.revoked_at.timestamp()) if grant.revoked_at else None}
    record.update({k: v for k, v in optional.items() if v is not None})
    return record


def _packed(record: dict[str, Any]) -> str:
    raw = canonical(record).encode("utf-8")
    deflater = zlib.compressobj(9, zlib.DEFLATED, _WINDOW_BITS)
    return base64.urlsafe_b64encode(deflater.compress(raw) + deflater.flush()).rstrip(b"=").decode("ascii")


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


def _fit_description(record: dict[str, Any], text: str | None, length: int,
                     free: int) -> tuple[dict[str, Any], list[str]] | None:
    """Record chunks keeping the longest prefix of ``text`` that fits in ``free`` tags, if any does.

    ``text`` is the description (or the prefix the record already keeps) and
    ``length`` the full description's length, recorded so that a reader can
    tell the role's own Description is the whole of it.
    """
    if not text:
        return None
    base = {k: v for k, v in record.items() if k not in ("d", "dl")}
    best_record = {**base, "dl": length}
    best = _chunks(best_record)
    if len(best) > free:
        return None
    low, high = 1, len(text) - 1
    while low <= high:  # compression makes fit only roughly monotonic: any fitting prefix will do
        mid = (low + high) // 2
        candidate = {**base, "d": text[:mid], "dl": length}
        chunks = _chunks(candidate)
        if len(chunks) <= free:
            low, best, best_record = mid + 1, chunks, candidate
        else:
            high = mid - 1
    return best_record, best


def _chunk_tags(chunks: list[str]) -> list[dict[str, str]]:
    return [_tag(f"{RECORD_KEY_PREFIX}{i}", chunk) for i, chunk in enumerate(chunks)]


def _stamp(record: dict[str, Any], writer: str | None) -> dict[str, Any]:
    """The record naming who signed it when that is not one of Rolegate's functions (an operator: ``user/<name>``)."""
    record = {k: v for k, v in record.items() if k != "b"}
    if writer:
        record["b"] = writer
    return record


def grant_to_tags(grant: Grant, keyring: Keyring, *, written_at: datetime,
                  extra_tags: Iterable[Mapping[str, str]] = (), writer: str | None = None) -> list[dict[str, str]]:
    """All tags the grant's role carries: Rolegate's with the record's proof, then ``extra_tags`` (kept as given).

    ``written_at`` (the cloud's time now) goes into the record, so a record put
    back later is told from a fresh one. Raises ``TagError`` for an unusable
    caller tag and ``TagLimitError`` when the grant cannot be recorded in the
    20 tags (the readable requester tag, then the end of the description, are
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
    free = MAX_TAGS - len(extras) - len(readable) - 1  # one for the proof
    nonce = secrets.token_urlsafe(6)  # tells this write's record (and proof) from a twin request's
    record = _stamp(_record(grant, grant.description, None, written_at, nonce), writer)
    chunks = _chunks(record)
    if _readable_requester(grant.requester) and len(chunks) + 1 <= free:
        readable.append(_tag(REQUESTER_KEY, grant.requester or ""))
    elif len(chunks) > free:
        text = grant.description
        bare = _stamp(_record(grant, None, None, written_at, nonce), writer)
        fitted = _fit_description(bare, text, len(text or ""), free)
        if fitted is None:
            needed = len(_chunks(_record(grant, None, None, written_at, nonce)))
            raise TagLimitError(
                f"the grant record needs {needed} tags but only {max(free, 0)} of {MAX_TAGS} are free "
                f"({len(readable) + 1} Rolegate tags, {len(extras)} caller tags); shorten the OIDC issuer, "
                "audiences or subjects, the ExternalId, or the policy list"
            )
        record, chunks = fitted
    proof = seal(keyring.signing_key(), grant.owner_account_id, grant.role_name, record)
    return (readable + _chunk_tags(chunks) + [_tag(PROOF_KEY, proof)]
            + [_tag(key, value) for key, value in extras])


def proof_of(tags: Any) -> str | None:
    """The proof tag's value (a write's fingerprint: it covers the record's nonce); never raises."""
    try:
        return dict(_pairs(tags, TagError)).get(PROOF_KEY)
    except TagError:
        return None


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


def _read_record(ours: dict[str, str]) -> tuple[int, dict[str, Any]]:
    version, _, text = _record_parts(ours)
    return version, _decode_record(version, text)


def _ours(tags: Any) -> dict[str, str]:
    return {k: v for k, v in _pairs(tags, TagDecodeError) if k.startswith(TAG_PREFIX)}


def _timestamp(record: dict[str, Any], key: str, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(record[key], timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise TagDecodeError(f"record {what} time is out of range") from None


def _proven_record(ours: dict[str, str], role_name: str, owner_account_id: str, keyring: Keyring) -> dict[str, Any]:
    """The record among ``ours`` once its proof verifies for this role and account.

    ``RecordUnauthenticated`` for a record without a valid proof (forged, copied
    from another role, or written before records carried one), ``TagDecodeError``
    for tags that hold no readable record at all.
    """
    version, record = _read_record(ours)  # the marker is a hint for listings: the proof alone decides
    if version != RECORD_VERSION:
        raise RecordUnauthenticated(f"the record is in format {version}, written before records carried a proof "
                                    "(`rolegate grants adopt` signs it after showing it)")
    why = unseal(keyring, ours.get(PROOF_KEY), owner_account_id, role_name, record)
    if why is not None:
        raise RecordUnauthenticated(why)
    return record


def record_stamp(tags: Any, role_name: str, owner_account_id: str, keyring: Keyring) -> tuple[datetime, str | None]:
    """When the role's proven record was signed (the cloud's time) and by whom, when not by Rolegate's functions."""
    record = _proven_record(_ours(tags), role_name, owner_account_id, keyring)
    return _timestamp(record, "w", "write"), record.get("b")


def record_written_at(tags: Any, role_name: str, owner_account_id: str, keyring: Keyring) -> datetime:
    """When the role's proven record was signed (the cloud's time at the write)."""
    return record_stamp(tags, role_name, owner_account_id, keyring)[0]


def record_change(tags: Any, role_name: str, owner_account_id: str, keyring: Keyring, *, written_at: datetime,
                  expires_at: datetime | None = None, revoked_at: datetime | None = None,
                  writer: str | None = None) -> list[dict[str, str]]:
    """The tags to write, in one TagResources call, to move the expiry or mark the grant revoked.

    Only a proven record is changed, and the result is signed again. The
    record keeps its chunk count, spread evenly over the same keys, so no
    chunk is left over to remove; one that outgrows them takes a free tag, or
    gives up the end of its description. ``TagLimitError`` when neither works.
    """
    pairs = _pairs(tags, TagDecodeError)
    ours = {k: v for k, v in pairs if k.startswith(TAG_PREFIX)}
    record = _stamp(_proven_record(ours, role_name, owner_account_id, keyring), writer)
    count = _record_parts(ours)[1]
    record["w"] = int(written_at.timestamp())
    out: list[dict[str, str]] = []
    if expires_at is not None:
        readable = expiry_tag(expires_at)
        record["e"] = int(parse_iso_z(readable["Value"]).timestamp())
        out.append(readable)
    if revoked_at is not None:
        record["x"] = int(revoked_at.timestamp())
    chunks = _spread(record, count)
    if chunks is None:
        free = count + MAX_TAGS - len(pairs)
        chunks = _chunks(record)
        if len(chunks) > free:
            description = record.get("d")
            fitted = _fit_description(record, description, record.get("dl", len(description or "")), free)
            if fitted is None:
                raise TagLimitError(f"the changed grant record needs {len(chunks)} tags but the role has room for "
                                    f"{free} and no description left to shorten")
            record, chunks = fitted
    proof = seal(keyring.signing_key(), owner_account_id, role_name, record)
    return out + _chunk_tags(chunks) + [_tag(PROOF_KEY, proof)]


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


def readable_tag_repair(tags: Any, role_name: str, owner_account_id: str,
                        keyring: Keyring) -> tuple[list[dict[str, str]], list[str]]:
    """(tags to set, keys to remove) that make the readable tags agree with the proven record again.

    Record chunks beyond the record's own count are removed too. Both lists
    are empty when nothing disagrees; ``TagDecodeError`` when there is no
    proven record to repair from.
    """
    ours = _ours(tags)
    header = _HEADER_RE.match(ours.get(f"{RECORD_KEY_PREFIX}0", ""))
    count = int(header.group(2)) if header else 1
    chunk_keys = [k for k in ours if _RECORD_KEY_RE.match(k)]
    extra = sorted(k for k in chunk_keys if int(k[len(RECORD_KEY_PREFIX):]) >= count)
    record = _proven_record({k: v for k, v in ours.items() if k not in extra}, role_name, owner_account_id, keyring)
    kind = record["pr"].get("type")
    wanted = {MANAGED_KEY: "true", GRANT_ID_KEY: record["g"], PARTNER_KEY: record["p"],
              PRINCIPAL_KIND_KEY: str(kind),
              EXPIRES_KEY: to_iso_z(_timestamp(record, "e", "expiry"))}
    remove = list(extra)
    if REQUESTER_KEY in ours:
        if _readable_requester(record.get("rq")):
            wanted[REQUESTER_KEY] = record["rq"]
        else:
            remove.append(REQUESTER_KEY)
    return [_tag(k, v) for k, v in wanted.items() if ours.get(k) != v], remove


def _grant_from_record(record: dict[str, Any], role_name: str, owner_account_id: str,
                       role_description: str | None) -> Grant:
    description = record.get("d")
    if "dl" in record:
        full = role_description
        restorable = isinstance(full, str) and len(full) == record["dl"] and full.startswith(description or "")
        description = full if restorable else description
    try:
        grant = Grant(
            grant_id=record["g"],
            owner_account_id=owner_account_id,
            partner_account_id=record["p"],
            principal=principal_from_dict(record["pr"], record["p"], owner_account_id=owner_account_id),
            policies=_policies(record["pol"]),
            role_name=role_name,
            max_session_duration=record["s"],
            created_at=_timestamp(record, "c", "creation"),
            expires_at=_timestamp(record, "e", "expiry"),
            requester=record.get("rq"),
            ticket=record.get("t"),
            description=description,
            revoked_at=_timestamp(record, "x", "revocation") if "x" in record else None,
        )
    except (GrantError, PrincipalError) as exc:
        raise TagDecodeError(f"record holds an invalid grant ({exc.field}: {exc.message})") from None
    recorded_name = record.get("n") or role_name_for(grant.partner_account_id, grant.grant_id)
    if recorded_name.lower() != role_name.lower():
        raise TagDecodeError(f"tags were written for role {recorded_name!r}, not {role_name!r}")
    return grant


def grant_from_tags(tags: Any, role_name: str, owner_account_id: str, *, keyring: Keyring,
                    role_description: str | None = None) -> Grant:
    """The Grant a role's proven record holds; the readable tags play no part.

    ``RecordUnauthenticated`` when the proof is missing or wrong,
    ``TagDecodeError`` when there is no readable record. ``role_description``
    (the role's own Description) restores a description that had to be
    truncated in the tags.
    """
    record = _proven_record(_ours(tags), role_name, owner_account_id, keyring)
    return _grant_from_record(record, role_name, owner_account_id, role_description)


def _expect(ours: dict[str, str], key: str, recorded: str | None) -> None:
    value = ours.get(key)
    if value is None:
        raise TagDecodeError(f"tag {key} is missing")
    if value != recorded:
        raise TagDecodeError(f"tag {key}={value[:64]!r} disagrees with the record ({str(recorded)[:64]!r})")


def legacy_grant_from_tags(tags: Any, role_name: str, owner_account_id: str, *,
                           role_description: str | None = None) -> Grant:
    """The Grant in a record written before records carried a proof (format 2), to adopt it.

    Nothing vouches for such a record, so it is read strictly (every readable
    tag must agree with it) and only an operator, after seeing it, signs it.
    """
    ours = _ours(tags)
    if ours.get(MANAGED_KEY) != "true":
        raise TagDecodeError(f"role is not managed by Rolegate (no {MANAGED_KEY}=true tag)")
    version, record = _read_record(ours)
    if version == RECORD_VERSION:
        raise TagDecodeError(f"the record is already in format {RECORD_VERSION}; only format 2 is adopted")
    _expect(ours, GRANT_ID_KEY, record["g"])
    _expect(ours, PARTNER_KEY, record["p"])
    _expect(ours, PRINCIPAL_KIND_KEY, record["pr"].get("type"))
    _expect(ours, EXPIRES_KEY, to_iso_z(_timestamp(record, "e", "expiry")))
    return _grant_from_record(record, role_name, owner_account_id, role_description)
