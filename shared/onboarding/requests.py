"""Webhook bodies into grants, and the rules that refuse a grant before any cloud call.

Order of judgement, each failure a distinct answer:

1. shape: the JSON schema in ``schemas/`` (400, ``field`` is the JSON path
   such as ``principal.external_id`` or ``policies[2].name``), which also
   bounds every number; a whole number written as a float (``3600.0``) is
   refused too, although JSON Schema counts it an integer;
2. values the schema cannot express: principal details, duplicate policies,
   role name rules (400);
3. expiry: past instants are 422 ``ExpiryInPast``; lifetimes outside the
   deployment's minimum/maximum, and instants a datetime cannot hold (beyond
   year 9999 or before year 1 in UTC), are 422 ``ExpiryOutOfRange``;
4. policy: principal kind not allowed, missing ExternalId when required, a
   system policy or custom document the judgment (``shared.policies.judgment``)
   refuses: a denied name, a policy outside a non-empty allow-list, a system
   policy with write power (or not catalogued) without an allow-list entry,
   a critical finding (never granted), a custom document with a high or
   critical finding (403, with the findings); lower findings come back as
   ``warnings``.

Whether the grant's record fits in the role's tags is judged where the record
is built and sealed, once, by ``GrantStore.create`` (422 ``GrantTooLarge``,
before any call).

The grant id is derived (``derive_grant_id``) from the owner account and the
idempotency key, or, without one, from the canonical JSON of partner,
principal, policies and requested role name: the same request always names
the same role, so a retry or a concurrent twin converges on it. Policies are
put in a canonical order and custom documents in canonical form first, so
reordering them does not make a second grant. Expiry, session length and the
descriptive fields are not part of the identity: a repeated create returns the
grant as it exists; PATCH moves its expiry.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared import schema
from shared.errors import InvalidInput, Refused, Unprocessable
from shared.grants.lifecycle import derive_grant_id
from shared.grants.model import MIN_SESSION_DURATION, Grant, GrantError, PolicyRef
from shared.grants.naming import custom_policy_name, role_name_for
from shared.jsontext import canonical
from shared.onboarding.settings import OnboardSettings
from shared.policies.document import canonical_json
from shared.policies.principals import AccountPrincipal, Principal, PrincipalError, principal_from_dict

if TYPE_CHECKING:  # the linter and its catalogue load with the first custom document, not with this module
    from shared.policies.findings import Finding

SCHEMA_DIR = Path(__file__).parent / "schemas"
CREATE_SCHEMA = "create_grant"
UPDATE_SCHEMA = "update_grant"
# Built once: on Python 3.12 a new Path and its hash (the validators' cache key) cost about 12 µs a request.
_SCHEMA_PATHS = {name: SCHEMA_DIR / f"{name}.json" for name in (CREATE_SCHEMA, UPDATE_SCHEMA)}
DEFAULT_MAX_SESSION_DURATION = MIN_SESSION_DURATION
INTEGER_FIELDS = ("duration_seconds", "max_session_duration")
REFUSE_FROM = "high"  # the least severe finding that refuses a grant


def load_schema(name: str) -> dict[str, Any]:
    """The JSON schema ``schemas/<name>.json`` (also embedded in the OpenAPI description)."""
    return schema.load_schema(_SCHEMA_PATHS[name])


def validate(body: Any, name: str) -> None:
    """Raise ``InvalidInput`` naming the most relevant problem with the body (see ``shared.schema``)."""
    schema.validate(body, _SCHEMA_PATHS[name],
                    one_of=("duration_seconds", "give exactly one of duration_seconds and expires_at"))
    for key in INTEGER_FIELDS:  # JSON Schema counts 3600.0 an integer; seconds here are ints, never floats
        if isinstance(body.get(key), float):
            raise InvalidInput(f"{key}: must be of type integer", field=key)


# ------------------------------------------------------------------------ expiry
def parse_instant(text: str, name: str) -> datetime:
    """An ISO 8601 instant with an explicit offset, as aware UTC; naive times are refused, not guessed."""
    text = text.strip()
    if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not read the Z suffix
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} is not an ISO 8601 date-time", field=name) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{name} needs a UTC offset, e.g. 2030-01-31T12:00:00Z", field=name)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise _out_of_range(name) from None


def _out_of_range(name: str) -> Unprocessable:
    return Unprocessable(f"{name} lies beyond the times a grant can hold (years 1-9999 in UTC)",
                         code="ExpiryOutOfRange", field=name)


def resolve_expiry(body: dict[str, Any], settings: OnboardSettings, now: datetime) -> datetime:
    """The requested end of a grant, checked against ``now`` and the deployment's limits.

    Grant times are whole seconds (RAM's timestamp format), so ``now`` is
    truncated too: a lifetime of exactly the minimum must not come out a
    fraction of a second short.
    """
    now = now.replace(microsecond=0)
    if "duration_seconds" in body:
        name = "duration_seconds"
        try:
            expires = now + timedelta(seconds=body[name])
        except OverflowError:  # the schema bounds the seconds; this is for a clock near the year 9999
            raise _out_of_range(name) from None
    else:
        name = "expires_at"
        expires = parse_instant(body[name], name)
    expires = expires.replace(microsecond=0)
    if expires <= now:
        raise Unprocessable(f"{name} lies in the past", code="ExpiryInPast", field=name)
    lifetime = (expires - now).total_seconds()
    if not settings.min_grant_seconds <= lifetime <= settings.max_grant_seconds:
        raise Unprocessable(
            f"a grant must last between {settings.min_grant_seconds} and {settings.max_grant_seconds} seconds "
            f"from now; {name} asks for {int(lifetime)}", code="ExpiryOutOfRange", field=name,
            details={"min_seconds": settings.min_grant_seconds, "max_seconds": settings.max_grant_seconds})
    return expires


# ------------------------------------------------------------------------ create
@dataclass(frozen=True)
class CreateRequest:
    grant: Grant
    dry_run: bool
    idempotency_key: str | None
    warnings: list[Finding] = field(default_factory=list)


def _principal(body: dict[str, Any], settings: OnboardSettings, owner: str) -> Principal:
    try:
        principal = principal_from_dict(body["principal"], body["partner_account_id"], owner_account_id=owner)
    except PrincipalError as exc:
        raise InvalidInput(exc.message, field=exc.field) from None
    if principal.kind not in settings.allowed_principal_kinds:
        raise Refused(f"principal type {principal.kind} is not allowed by this deployment",
                      code="PrincipalKindNotAllowed", field="principal.type",
                      details={"allowed": list(settings.allowed_principal_kinds)})
    if isinstance(principal, AccountPrincipal) and principal.external_id is None and settings.require_external_id:
        raise Refused("an account principal needs an external_id (confused-deputy protection)",
                      code="ExternalIdRequired", field="principal.external_id")
    return principal


def _check_system_policy(name: str, where: str, settings: OnboardSettings) -> list[Finding]:
    """Judge a system policy by its published document; return the tolerated findings."""
    from shared.policies.judgment import judge_system_grant

    verdict = judge_system_grant(name, allowed=settings.allowed_policies, denied=settings.denied_policies,
                                 protected=settings.protected)
    if not verdict.granted:
        raise Refused(verdict.message, code=verdict.code, field=where, findings=list(verdict.findings))
    return list(verdict.findings)


def _check_custom_document(document: dict[str, Any], where: str, settings: OnboardSettings) -> list[Finding]:
    """Judge the document as submitted (finding paths point into it); return the tolerated findings."""
    from shared.policies.judgment import judge

    judgment = judge(document, settings.protected)
    serious = judgment.at_least(REFUSE_FROM)
    if serious:
        raise Refused(f"the custom policy document has {len(serious)} high or critical finding(s)",
                      code="PolicyDocumentRefused", field=where, findings=serious)
    return list(judgment.findings)


def _policy_entries(body: dict[str, Any], settings: OnboardSettings) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Checked policy entries in canonical order: system by name, then custom by canonical document."""
    system: dict[str, dict[str, Any]] = {}
    custom: dict[str, dict[str, Any]] = {}
    warnings: list[Finding] = []
    for index, item in enumerate(body["policies"]):
        where = f"policies[{index}]"
        group = item.get("resource_group_id")
        if "name" in item:
            warnings += _check_system_policy(item["name"], f"{where}.name", settings)
            key = item["name"].casefold()
            if key in system:
                raise InvalidInput(f"system policy {item['name']} is listed twice", field=f"{where}.name")
            system[key] = {"name": item["name"], "resource_group_id": group}
        else:
            warnings += _check_custom_document(item["document"], f"{where}.document", settings)
            text = canonical_json(item["document"])
            if text in custom:
                raise InvalidInput("the same custom document is listed twice", field=f"{where}.document")
            custom[text] = {"document": json.loads(text), "resource_group_id": group}
    ordered = [system[k] for k in sorted(system)]
    ordered += [custom[k] for k in sorted(custom)]
    return ordered, warnings


def identity_key(partner: str, principal: Principal, entries: list[dict[str, Any]], role_name: str | None) -> str:
    """Canonical JSON of what makes two create requests the same grant."""
    return canonical({"partner": partner, "principal": principal.to_dict(), "policies": entries,
                      "role_name": role_name})


def _policy_refs(grant_id: str, entries: list[dict[str, Any]]) -> tuple[PolicyRef, ...]:
    refs: list[PolicyRef] = []
    custom_index = 0
    for entry in entries:
        if "name" in entry:
            refs.append(PolicyRef(entry["name"], PolicyRef.SYSTEM, entry["resource_group_id"]))
        else:
            name = custom_policy_name(grant_id, custom_index)
            custom_index += 1
            refs.append(PolicyRef(name, PolicyRef.CUSTOM, entry["resource_group_id"], entry["document"]))
    return tuple(refs)


def _key_pattern() -> str:
    return load_schema(CREATE_SCHEMA)["properties"]["idempotency_key"]["pattern"]


def idempotency_key_of(body: dict[str, Any], header: str | None) -> str | None:
    """The body's ``idempotency_key`` or the ``Idempotency-Key`` header; both given must agree."""
    from_body = body.get("idempotency_key")
    from_header = header.strip() if header and header.strip() else None
    if from_header is not None and not re.match(_key_pattern(), from_header):
        raise InvalidInput("the Idempotency-Key header is malformed", field="Idempotency-Key")
    if from_body is not None and from_header is not None and from_body != from_header:
        raise InvalidInput("the Idempotency-Key header and idempotency_key differ", field="idempotency_key")
    return from_body or from_header


def parse_create(body: Any, settings: OnboardSettings, now: datetime,
                 idempotency_header: str | None = None) -> CreateRequest:
    """Judge a ``POST /grants`` body; the Grant returned is ready for ``GrantStore.create``.

    The grant belongs to the body's ``account_id`` (default: the deployment's
    own account); whether that account may be served is the caller's to check.
    """
    validate(body, CREATE_SCHEMA)
    key = idempotency_key_of(body, idempotency_header)
    partner = body["partner_account_id"]
    owner = body.get("account_id", settings.owner_account_id)
    principal = _principal(body, settings, owner)
    entries, warnings = _policy_entries(body, settings)
    expires = resolve_expiry(body, settings, now)
    requested_name = body.get("role_name")
    grant_id = derive_grant_id(owner,
                               key if key is not None else identity_key(partner, principal, entries, requested_name))
    try:
        grant = Grant(
            grant_id=grant_id,
            owner_account_id=owner,
            partner_account_id=partner,
            principal=principal,
            policies=_policy_refs(grant_id, entries),
            role_name=role_name_for(partner, grant_id, requested_name),
            max_session_duration=body.get("max_session_duration", DEFAULT_MAX_SESSION_DURATION),
            created_at=now,
            expires_at=expires,
            requester=body.get("requester"),
            ticket=body.get("ticket"),
            description=body.get("description"),
        )
    except GrantError as exc:
        raise InvalidInput(exc.message, field=exc.field) from None
    return CreateRequest(grant, bool(body.get("dry_run", False)), key, warnings)


def same_grant(existing: Grant, wanted: Grant) -> bool:
    """Whether an existing grant is the one a create asks for (what the grant id stands for)."""
    return (existing.partner_account_id, existing.principal, existing.policies, existing.role_name.lower()) == \
        (wanted.partner_account_id, wanted.principal, wanted.policies, wanted.role_name.lower())


# ------------------------------------------------------------------------ update
@dataclass(frozen=True)
class UpdateRequest:
    expires_at: datetime
    dry_run: bool


def parse_update(body: Any, settings: OnboardSettings, now: datetime) -> UpdateRequest:
    """Judge a ``PATCH /grants/{id}`` body: a new expiry within the same limits as a create."""
    validate(body, UPDATE_SCHEMA)
    return UpdateRequest(resolve_expiry(body, settings, now), bool(body.get("dry_run", False)))


__all__ = ["CREATE_SCHEMA", "CreateRequest", "UPDATE_SCHEMA", "UpdateRequest", "identity_key",
           "idempotency_key_of", "load_schema", "parse_create", "parse_instant", "parse_update",
           "resolve_expiry", "same_grant", "validate"]
