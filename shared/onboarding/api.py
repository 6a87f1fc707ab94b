"""The onboarding webhook: routes, the checks every request passes, and the grant operations.

Routes (described for clients in ``functions/onboard/openapi.yaml``):

=======  ========================================  ===============================================
POST     /grants                                   create a grant (201; 200 when it already existed)
GET      /grants                                   list grants, every page (``?partner=``, ``?account_id=``)
GET      /grants/{grant_id}                        one grant of the deployment's own account
PATCH    /grants/{grant_id}                        move its expiry (``expires_at`` or ``duration_seconds``)
DELETE   /grants/{grant_id}                        revoke now
GET      /accounts/{account_id}/grants/{grant_id}  the same three for a grant in a member account
=======  ========================================  ===============================================

Member accounts. A hub deployment (``ROLEGATE_MEMBERS``, :mod:`shared.members`)
creates a grant in the member its body's ``account_id`` names, and finds one
by id under ``/accounts/{account_id}/``: the account is part of the signed
path, never an unsigned query parameter, so a signature made for one account's
grant cannot be aimed at another's. A client's scope is judged against that
account; an account that is neither the hub's own nor a member is refused
(403 ``NotAMember``) before anything is looked up or created.

Every request is checked in this order, so the cheapest refusal comes first
and nothing unauthenticated reaches routing or the cloud: body size (413),
signature and client (401, :mod:`shared.onboarding.auth`), route (404) and
method (405), a read-only client's write (403), query parameters on a mutating
request (400), content type of a body-carrying request (415), replay of a
mutating request (409 ``Replayed``), then the operation's own validation
(:mod:`shared.onboarding.requests`) and the client's scope (403,
:mod:`shared.onboarding.clients`). The RAM client is built only after all of
that, on first use.

Failures leave as ``{"error": {"code", "message", "field", ...}}`` through
:func:`shared.events.http.error_response`; a failed create was rolled back by
``GrantStore.create`` and is answered 502/503 with ``retryable``, the cloud's
``request_id`` and what was rolled back. Each request writes exactly one
``onboard_request`` log line (method, path, client, status, decision, grant id,
partner, what was created, revoked or refused), under the invocation's
``request_id``.
"""
from __future__ import annotations

import functools
import re
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from shared import clock, config
from shared.errors import (CloudCallError, ConfigError, Conflict, Gone, InvalidInput, NotFound, PayloadTooLarge,
                           RolegateError, Unprocessable, UnsupportedMediaType, as_rolegate_error, http_status_for)
from shared.grants.lifecycle import GrantStore, ManagedRole
from shared.grants.model import Grant, PolicyRef, is_grant_id, to_iso_z
from shared.events.http import JSON_CONTENT_TYPE, HttpRequest, MethodNotAllowed, error_response, json_response
from shared.logs import log_event
from shared.onboarding import auth
from shared.onboarding.clients import ANY, Client, parse_registry, shared_secret_client
from shared.onboarding.requests import parse_create, parse_update, same_grant
from shared.onboarding.settings import MIN_SECRET_CHARS, OnboardSettings
from shared.policies.principals import ACCOUNT_ID_RE, AccountPrincipal, OidcPrincipal, SamlPrincipal, \
    ServicePrincipal, UserPrincipal
from shared.policies.trust import principal_value, trust_policy
from shared.ram import IdentityProviders, OidcProviderInfo
from shared.site import Site

if TYPE_CHECKING:
    from shared.members import Members
    from shared.notify import Notifier

STS_MIN_DURATION_SECONDS = 900
SESSION_NAME_PATTERN = "^[A-Za-z0-9.@_-]{2,64}$"
SESSION_NAME_RULE = ("2-64 characters: letters, digits, '.', '@', '-', '_'; name the person or system acting, "
                     "since the session name is what the owner's audit log records")
LIST_QUERY = frozenset({"partner", "account_id"})
MAX_LISTED_ACCOUNTS = 20  # GET /grants without account_id reads at most this many accounts (the rest are named)
SESSION_NAME = "rolegate-onboard"  # how the function's sessions in member accounts appear in their audit logs


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    operation: str  # the OpenAPI operationId and the OnboardApi method serving it

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")


ROUTES: tuple[Route, ...] = (
    Route("POST", "/grants", "create_grant"),
    Route("GET", "/grants", "list_grants"),
    Route("GET", "/grants/{grant_id}", "get_grant"),
    Route("PATCH", "/grants/{grant_id}", "update_grant"),
    Route("DELETE", "/grants/{grant_id}", "delete_grant"),
    Route("GET", "/accounts/{account_id}/grants/{grant_id}", "get_member_grant"),
    Route("PATCH", "/accounts/{account_id}/grants/{grant_id}", "update_member_grant"),
    Route("DELETE", "/accounts/{account_id}/grants/{grant_id}", "delete_member_grant"),
)


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route serving ``method path``: 404 when no route has the path, 405 when none has the method."""
    path = path.rstrip("/") or "/"
    on_path = [(r, m.groupdict()) for r in ROUTES if (m := r.pattern.match(path))]
    if not on_path:
        raise NotFound(f"No route {path}.", field="path")
    for route, params in on_path:
        if route.method == method:
            return route, params
    allowed = tuple(r.method for r, _ in on_path)
    raise MethodNotAllowed(f"{path} answers {', '.join(allowed)}, not {method}.", allowed=allowed)


# ------------------------------------------------------------------------ views
def assume_role_info(grant: Grant, site: Site | None = None) -> dict[str, Any]:
    """How the trusted principal obtains credentials: the STS call and the parameters it needs.

    A RAM user of the partner (a ``user`` principal, or any of an ``account``
    principal's users) may also use the role in the console: sign in on the
    site's page, then switch to the role by the owner account and role name.
    """
    principal = grant.principal
    info: dict[str, Any] = {"Api": "AssumeRole", "RoleArn": grant.role_arn}
    if isinstance(principal, SamlPrincipal):
        info.update(Api="AssumeRoleWithSAML", SAMLProviderArn=principal_value(principal))
    elif isinstance(principal, OidcPrincipal):
        info.update(Api="AssumeRoleWithOIDC", OIDCProviderArn=principal_value(principal))
    elif isinstance(principal, ServicePrincipal):
        info["AssumedBy"] = principal.service
    elif isinstance(principal, AccountPrincipal) and principal.external_id is not None:
        info["ExternalId"] = principal.external_id
    info["DurationSeconds"] = {"Min": STS_MIN_DURATION_SECONDS, "Max": grant.max_session_duration}
    if not isinstance(principal, (SamlPrincipal, ServicePrincipal)):
        info["RoleSessionName"] = {"Pattern": SESSION_NAME_PATTERN, "Rule": SESSION_NAME_RULE}
    if isinstance(principal, (AccountPrincipal, UserPrincipal)):
        site = site if site is not None else config.site()
        info["Console"] = {"SigninUrl": site.signin_url,
                           "SwitchRole": {"Account": grant.owner_account_id, "RoleName": grant.role_name}}
    return info


def grant_view(grant: Grant, now: datetime, site: Site | None = None) -> dict[str, Any]:
    """A grant as every route shows it: the record, its state, its trust policy and how to use it.

    ``site`` (default: ``ROLEGATE_SITE``) is the Alibaba Cloud site the trust
    policy and the console sign-in page are written for.
    """
    site = site if site is not None else config.site()
    return {
        **grant.to_public_dict(),
        "status": "revoked" if grant.is_tombstone else "expired" if grant.is_expired(now) else "active",
        "trust_policy": trust_policy(grant.principal, site),
        "assume_role": assume_role_info(grant, site),
    }


def managed_view(found: ManagedRole, now: datetime, account_id: str | None = None) -> dict[str, Any]:
    """A listed role: its grant, or (``account_id`` naming a member's) why it has none."""
    if found.grant is not None:
        return grant_view(found.grant, now)
    where = {"account_id": account_id} if account_id is not None else {}
    return {"role_name": found.role.name, "role_arn": found.role.arn, "status": "unproven",
            "error": found.error, **where}


def check_identity_provider(providers: IdentityProviders | None, principal: Any, owner_account_id: str) -> None:
    """A federated grant names an identity provider of the owner account, which must exist there.

    Without it the role could never be assumed. For OIDC the provider must
    also be the one issuing the grant's tokens: its issuer URL is the grant's
    issuer, and its client ids include every audience the grant names (STS
    checks a token's ``iss`` and ``aud`` against the provider before the
    trust policy's conditions). ``Unprocessable`` (422) names the field.
    """
    if not isinstance(principal, (SamlPrincipal, OidcPrincipal)):
        return
    if providers is None:
        raise ConfigError("This deployment cannot read identity providers, so it cannot check a federated grant.")
    name = principal.provider_name
    kind = "SAML" if isinstance(principal, SamlPrincipal) else "OIDC"
    found = providers.get_saml_provider(name) if kind == "SAML" else providers.get_oidc_provider(name)
    if found is None:
        raise Unprocessable(f"The owner account {owner_account_id} has no {kind} identity provider {name}; register "
                            f"it there first (RAM Create{kind}Provider, or `rolegate idp add`).",
                            code="IdentityProviderNotFound", field="principal.provider")
    if isinstance(principal, OidcPrincipal) and isinstance(found, OidcProviderInfo):
        if found.issuer_url != principal.issuer:
            raise Unprocessable(f"The OIDC identity provider {name} has the issuer {found.issuer_url}, not "
                                f"{principal.issuer}: its tokens could never meet this grant's oidc:iss.",
                                code="IdentityProviderMismatch", field="principal.issuer")
        unknown = [a for a in principal.audiences if a not in found.client_ids]
        if unknown:
            raise Unprocessable(f"The OIDC identity provider {name} has no client id {', '.join(unknown)}: STS "
                                "refuses tokens for audiences the provider does not list.",
                                code="IdentityProviderMismatch", field="principal.audiences")


# ------------------------------------------------------------------- operations
@dataclass
class Outcome:
    """An answer and what the log line should say about it."""

    status: int
    body: dict[str, Any]
    decision: str
    grant_id: str | None = None
    partner: str | None = None
    effects: dict[str, Any] = field(default_factory=dict)


class OnboardApi:
    """One deployment's webhook: settings, a lazily built grant store, and the replay cache.

    ``wall_now`` judges signature freshness (real time); ``cloud_now`` stamps
    and judges grant times (the cloud's time, which is the emulator's clock
    under test). Both are injectable for tests.
    """

    def __init__(self, settings: OnboardSettings, store_factory: Callable[[], GrantStore],
                 replays: auth.ReplayCache, *, wall_now: Callable[[], float] = time.time,
                 cloud_now: Callable[[], datetime] = clock.now,
                 secret_loader: Callable[[str], str] | None = None, notifier: Notifier | None = None,
                 members: Members | None = None) -> None:
        """``members`` knows the member accounts; without it only the own account is served."""
        self.settings = settings
        self._notifier = notifier  # default: from ROLEGATE_NOTIFY_*, read when a grant is revoked
        self._store_factory = store_factory
        self._members = members
        self._secret_loader = secret_loader
        self._store: GrantStore | None = None
        self._member_stores: dict[str, GrantStore] = {}
        self._replays = replays
        self._wall_now = wall_now
        self._cloud_now = cloud_now
        self._now: datetime | None = None
        self._verified: auth.Verified | None = None
        self._client: Client | None = None  # who signed the request, once verified
        self._subject: dict[str, str] = {}  # grant id and partner once known, for a failure's log line

    @property
    def store(self) -> GrantStore:
        """The grants of the deployment's own account."""
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def accounts(self) -> tuple[str, ...]:
        """The own account first, then every member."""
        members = self._members
        return members.everyone() if members is not None else (self.settings.owner_account_id,)

    def store_for(self, account_id: str, where: str = "account_id") -> GrantStore:
        """The grants of ``account_id``: the own account's store, or a member's, sealed with the same record key.

        ``NotAMember`` (403) for any other account, ``MemberNotEnrolled`` when
        the member's manager role cannot be assumed: both before any change.
        """
        if account_id == self.settings.owner_account_id:
            return self.store
        store = self._member_stores.get(account_id)
        if store is None:
            from shared.members import not_a_member

            members = self._members
            if members is None:
                raise not_a_member(account_id, where)
            members.require(account_id, where)
            factory = members.factory_for(account_id)
            store = self._member_stores[account_id] = GrantStore(
                factory.ram(), account_id, self.store.keyring, idp_client=factory.ims())
        return store

    def now(self) -> datetime:
        """The cloud's time, read once per request."""
        if self._now is None:
            self._now = self._cloud_now()
        return self._now

    # ---------------------------------------------------------------- entry
    def handle(self, request: HttpRequest) -> dict[str, Any]:
        """Answer one request and log it; never raises."""
        started = time.perf_counter()
        reserved: str | None = None
        fields: dict[str, Any] = {}
        try:
            route, params = self._admit(request)
            if request.method in auth.MUTATING_METHODS:
                reserved = self._reserve(request)
            outcome = getattr(self, route.operation)(request, **params)
            response = json_response(outcome.status, outcome.body)
            fields.update(status=outcome.status, decision=outcome.decision, grant_id=outcome.grant_id,
                          partner=outcome.partner, **outcome.effects)
        except Exception as exc:  # every failure becomes an answer; the log keeps the type
            error = as_rolegate_error(exc)
            status = http_status_for(error)
            if reserved is not None and (status >= 500 or error.retryable):
                self._replays.release(reserved)  # the same request may be sent again: a retry
            response = error_response(error)
            fields.update(status=status, decision="refused" if status < 500 else "failed", error_code=error.code,
                          error_field=error.field, grant_id=path_grant_id(request))
            fields.update(self._subject)
            if isinstance(error, CloudCallError):
                fields.update(cloud_request_id=error.request_id, cloud_code=error.cloud_code)
            if not isinstance(exc, RolegateError):
                fields.update(error_type=type(exc).__name__,
                              where=traceback.format_tb(exc.__traceback__)[-1].strip() if exc.__traceback__ else None)
        fields["client"] = self._client.name if self._client is not None else None
        log_event("onboard_request", "info" if fields["status"] < 500 else "error", method=request.method,
                  path=request.path, duration_ms=round((time.perf_counter() - started) * 1000, 1),
                  **{k: v for k, v in fields.items() if v not in (None, [], {})})
        return response

    def _admit(self, request: HttpRequest) -> tuple[Route, dict[str, str]]:
        if len(request.body) > self.settings.max_body_bytes:
            raise PayloadTooLarge(f"The body exceeds {self.settings.max_body_bytes} bytes.", field="body")
        self._verified, self._client = auth.authenticate(request, self._client_named, now=self._wall_now)
        route, params = match_route(request.method, request.path)
        if request.method in auth.MUTATING_METHODS:
            self._client.require_write()
        if request.method in auth.MUTATING_METHODS and request.query:
            raise InvalidInput("Query parameters are accepted only on GET; put everything in the signed body.",
                               field="query")
        if request.method in ("POST", "PATCH", "PUT") and request.media_type != JSON_CONTENT_TYPE:
            raise UnsupportedMediaType(f"The body must be {JSON_CONTENT_TYPE}.", field="Content-Type")
        return route, params

    def _client_named(self, name: str | None) -> Client | None:
        """A named client from the clients' KMS secret; without a name, the shared secret's client if there is one."""
        if name is not None:
            source = self.settings.webhook_clients_name
            return None if source is None else parse_registry(self._read_secret(source, "ROLEGATE_WEBHOOK_CLIENTS")
                                                              ).get(name)
        if self.settings.webhook_secret_name is None:
            secret = self.settings.webhook_secret
        else:
            secret = self._read_secret(self.settings.webhook_secret_name, "ROLEGATE_WEBHOOK_SECRET")
            if len(secret) < MIN_SECRET_CHARS:
                raise ConfigError(f"The KMS secret {self.settings.webhook_secret_name} must hold at least "
                                  f"{MIN_SECRET_CHARS} characters.", field="ROLEGATE_WEBHOOK_SECRET")
        return shared_secret_client(secret) if secret else None

    def _read_secret(self, name: str, setting: str) -> str:
        """A KMS secret's text (so a grant that can read function settings cannot see it)."""
        if self._secret_loader is None:
            raise ConfigError(f"{setting} names a KMS secret, but no way to read it was given.", field=setting)
        try:
            return self._secret_loader(name)
        except CloudCallError as exc:
            # Read before the caller is proven, so anyone may cause this answer: the cloud's own text (the
            # secret's ARN, the account) goes to the function's log only.
            log_event("webhook_keys_unreadable", "error", setting=setting, error=exc.to_dict())
            raise type(exc)(f"The webhook's keys ({setting}) cannot be read; the function's log says why.",
                            action=exc.action, cloud_code=exc.cloud_code, field=setting) from exc

    @property
    def client(self) -> Client:
        assert self._client is not None  # _admit ran first
        return self._client

    def _in_scope(self, found: ManagedRole, account_id: str) -> None:
        """403 unless the client's scope holds this grant (a role without a proven record: every partner)."""
        grant = found.grant
        self.client.require(grant.owner_account_id if grant else account_id,
                            grant.partner_account_id if grant else None, "grant_id")

    def _account_in_scope(self, account_id: str, where: str) -> None:
        """403 before any lookup when the client's scope names other accounts only."""
        if ANY not in self.client.accounts and account_id not in self.client.accounts:
            self.client.require(account_id, None, where)

    def _reserve(self, request: HttpRequest) -> str:
        assert self._verified is not None  # _admit ran first
        signature, timestamp = self._verified
        if not self._replays.reserve(signature, timestamp):
            raise Conflict("This exact signed request was already received; sign a new request to repeat it.",
                           code="Replayed", field=auth.SIGNATURE_HEADER)
        return signature

    # ----------------------------------------------------------- operations
    def create_grant(self, request: HttpRequest) -> Outcome:
        parsed = parse_create(request.json(), self.settings, self.now(), request.header("Idempotency-Key"))
        grant = parsed.grant
        account = grant.owner_account_id
        self._subject = {"grant_id": grant.grant_id, "partner": grant.partner_account_id, "account_id": account}
        self._account_in_scope(account, "account_id")
        self.client.require(account, grant.partner_account_id, "partner_account_id")
        store = self.store_for(account)  # a non-member or an unenrolled member is refused here, before any change
        # Without an idempotency key the grant id is a hash of the content, role name included, so
        # GrantStore.create meets any existing twin at CreateRole and no lookup is needed. A key may be
        # reused with other content (another role name), which only a lookup by grant id can catch.
        existing = self._find(store, grant.grant_id) if parsed.idempotency_key or parsed.dry_run else None
        if existing is not None:
            if existing.grant is None:
                raise Conflict(f"Grant {grant.grant_id} exists without a proven record: {existing.error}",
                               code="GrantUnreadable", field="grant_id")
            if existing.grant.is_tombstone:
                raise Gone(f"Grant {grant.grant_id} was revoked; a new grant needs a new request.",
                           field="grant_id")
            if not same_grant(existing.grant, grant):
                raise Conflict(f"Grant {grant.grant_id} already exists for a different request "
                               f"(an idempotency key reused with other content?).", code="GrantConflict",
                               field="idempotency_key" if parsed.idempotency_key else "role_name")
        check_identity_provider(store.identity_providers, grant.principal, account)
        warnings = {"warnings": [f.to_dict() for f in parsed.warnings]} if parsed.warnings else {}
        if parsed.dry_run:
            shown = existing.grant if existing is not None and existing.grant is not None else grant
            plan = [] if existing is not None else store.create(grant, dry_run=True).planned
            body = {"dry_run": True, "exists": existing is not None, **grant_view(shown, self.now()),
                    "plan": plan, **warnings}
            return Outcome(200, body, "planned", grant.grant_id, grant.partner_account_id,
                           {"planned_calls": len(plan)})
        result = store.create(grant)  # on failure: rolled back, the cloud error re-raised
        made = result.grant
        effects = {"created": [made.role_name] + [p.name for p in made.policies if p.kind == PolicyRef.CUSTOM]} \
            if result.created else {}
        return Outcome(201 if result.created else 200, {**grant_view(made, self.now()), **warnings},
                       "created" if result.created else "existing", made.grant_id, made.partner_account_id, effects)

    def list_grants(self, request: HttpRequest) -> Outcome:
        unknown = sorted(set(request.query) - LIST_QUERY)
        if unknown:
            raise InvalidInput(f"Unknown query parameter {unknown[0]}.", field=unknown[0])
        partner = request.query.get("partner")
        if partner is not None and not ACCOUNT_ID_RE.match(partner):
            raise InvalidInput("partner must be a 16-digit account id.", field="partner")
        asked = request.query.get("account_id")
        if asked is not None:
            if not ACCOUNT_ID_RE.match(asked):
                raise InvalidInput("account_id must be a 16-digit account id.", field="account_id")
            self._account_in_scope(asked, "account_id")
            self.store_for(asked)
            accounts: tuple[str, ...] = (asked,)
        else:
            accounts = tuple(a for a in self.accounts() if ANY in self.client.accounts or a in self.client.accounts)
        now = self.now()
        views: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for account in accounts[:MAX_LISTED_ACCOUNTS]:
            try:
                found = list(self.store_for(account).list())
            except RolegateError as exc:
                if asked is not None:
                    raise
                failures.append({"account_id": account, **exc.to_dict()})  # one member's fault hides no other's
                continue
            shown = None if account == self.settings.owner_account_id else account
            views += [managed_view(f, now, shown) for f in found if self._listed(f, partner, account)]
        body: dict[str, Any] = {"grants": views, "count": len(views)}
        if asked is not None or self._members is not None:
            body["accounts"] = list(accounts[:MAX_LISTED_ACCOUNTS])
        if len(accounts) > MAX_LISTED_ACCOUNTS:
            body["unlisted_accounts"] = list(accounts[MAX_LISTED_ACCOUNTS:])  # ask for each with ?account_id=
        if failures:
            body["account_errors"] = failures
        return Outcome(200, body, "listed", partner=partner, effects={"count": len(views)})

    def _listed(self, found: ManagedRole, partner: str | None, account_id: str) -> bool:
        grant = found.grant
        if grant is None:
            return partner is None and self.client.reaches(account_id)
        return partner in (None, grant.partner_account_id) and self.client.reaches(grant.owner_account_id,
                                                                                   grant.partner_account_id)

    def _located(self, grant_id: str, account_id: str | None) -> tuple[str, GrantStore]:
        """The account a by-id route names (its own when the path names none) and that account's store."""
        account = account_id if account_id is not None else self.settings.owner_account_id
        if not ACCOUNT_ID_RE.match(account):
            raise NotFound(f"No account {account}.", field="account_id")
        self._require_id_shape(grant_id)
        self._account_in_scope(account, "account_id")
        return account, self.store_for(account)

    def get_grant(self, request: HttpRequest, grant_id: str, account_id: str | None = None) -> Outcome:
        account, store = self._located(grant_id, account_id)
        found = store.find(grant_id)
        self._in_scope(found, account)
        partner = found.grant.partner_account_id if found.grant else None
        return Outcome(200, managed_view(found, self.now(), account_id), "read", grant_id, partner)

    def update_grant(self, request: HttpRequest, grant_id: str, account_id: str | None = None) -> Outcome:
        update = parse_update(request.json(), self.settings, self.now())
        account, store = self._located(grant_id, account_id)
        if not self.client.reaches(account):  # one more lookup, for scoped clients only
            self._in_scope(store.find(grant_id), account)
        grant, plan = store.extend(grant_id, update.expires_at, dry_run=update.dry_run)
        body = grant_view(grant, self.now())
        if update.dry_run:
            body.update(dry_run=True, plan=plan)
        return Outcome(200, body, "planned" if update.dry_run else "expiry_changed", grant_id,
                       grant.partner_account_id, {"expires_at": body["expires_at"]})

    def delete_grant(self, request: HttpRequest, grant_id: str, account_id: str | None = None) -> Outcome:
        account, store = self._located(grant_id, account_id)
        found = store.find(grant_id)
        self._in_scope(found, account)
        result = store.revoke(found.role.name, found.role.tags, tombstone=True)
        partner = found.grant.partner_account_id if found.grant else None
        decision = "already_gone" if result.already_gone else "revoked"
        if not result.already_gone:
            from shared.notify import Notifier  # only a revocation sends anything

            notifier = self._notifier or Notifier.from_env()
            notifier.send("revoked", {
                "account_id": account, "grant_id": grant_id, "role": found.role.name,
                "partner": partner, "expires_at": to_iso_z(found.grant.expires_at) if found.grant else None,
                "reason": "revoked_early", "detached": result.detached,
                "deleted_policies": result.deleted_policies})
        return Outcome(200, {"grant_id": grant_id, **result.to_dict()}, decision, grant_id, partner,
                       {"revoked": found.role.name, "deleted_policies": result.deleted_policies})

    def get_member_grant(self, request: HttpRequest, account_id: str, grant_id: str) -> Outcome:
        return self.get_grant(request, grant_id, account_id)

    def update_member_grant(self, request: HttpRequest, account_id: str, grant_id: str) -> Outcome:
        return self.update_grant(request, grant_id, account_id)

    def delete_member_grant(self, request: HttpRequest, account_id: str, grant_id: str) -> Outcome:
        return self.delete_grant(request, grant_id, account_id)

    # -------------------------------------------------------------- helpers
    @staticmethod
    def _require_id_shape(grant_id: str) -> None:
        if not is_grant_id(grant_id):  # could never have been issued, so it is simply unknown
            raise NotFound(f"Grant {grant_id} does not exist.", field="grant_id")

    @staticmethod
    def _find(store: GrantStore, grant_id: str) -> ManagedRole | None:
        try:
            return store.find(grant_id)
        except NotFound:
            return None


def path_grant_id(request: HttpRequest) -> str | None:
    """The grant id named in the path, for the log line of a failed request."""
    match = re.match(r"^(?:/accounts/[^/]+)?/grants/([^/]+)/?$", request.path)
    return match.group(1) if match else None


# ----------------------------------------------------------------------- handler
def own_factory(context: Any) -> Any:
    """:func:`shared.clients.own_factory`, imported at first use: a request refused early never needs it."""
    from shared.clients import own_factory as factory

    return factory(context)


def default_store(settings: OnboardSettings, context: Any) -> GrantStore:
    """A grant store on the function's own credentials, proving records with the record key."""
    from shared.kms import keyring_for

    factory = own_factory(context)
    return GrantStore(factory.ram(), settings.owner_account_id, keyring_for(factory), idp_client=factory.ims())


# Lives as long as the warm instance: exact replays of mutating requests are refused within it.
REPLAYS = auth.ReplayCache()
# Also kept by the warm instance: the settings and the own account's store, while the environment and the
# credentials give the same ones again, so what they work out is not worked out again per request.
_kept: dict[Any, Any] = {}
MAX_KEPT = 8


def _keep(key: Any, build: Callable[[], Any]) -> Any:
    found = _kept.get(key)
    if found is None:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        found = _kept[key] = build()
    return found


def instance_settings(context: Any) -> OnboardSettings:
    """The settings in force, read now; the object kept from an earlier request when they are the same."""
    settings = OnboardSettings.from_env(context)
    return _keep(settings, lambda: settings)


def instance_store(settings: OnboardSettings, context: Any) -> GrantStore:
    """:func:`default_store`, built once per settings, credentials and site."""
    return _keep((settings, own_factory(context), config.site()), lambda: default_store(settings, context))


def default_members(settings: OnboardSettings, context: Any) -> Members | None:
    """The deployment's member accounts (``ROLEGATE_MEMBERS``), kept across warm invocations; None when unset."""
    from shared.members import MemberSettings, members_for

    if not MemberSettings.from_env().enabled:
        return None
    return members_for(settings.owner_account_id, own_factory(context), session_name=SESSION_NAME)


def handle_event(event: bytes | str | dict[str, Any], context: Any, *, replays: auth.ReplayCache | None = None,
                 store_factory: Callable[[OnboardSettings], GrantStore] | None = None) -> dict[str, Any]:
    """The whole webhook: event → request → answer, with one ``onboard_request`` log line whatever happens.

    ``replays`` defaults to the instance's :data:`REPLAYS`; the log context is bound by :mod:`shared.handler`.
    """
    try:
        request = HttpRequest.from_event(event)
    except RolegateError as exc:
        log_event("onboard_request", status=http_status_for(exc), decision="refused", error_code=exc.code)
        return error_response(exc)
    try:
        settings = instance_settings(context)
        members = default_members(settings, context)  # a malformed ROLEGATE_MEMBERS fails every request alike
    except RolegateError as exc:
        log_event("onboard_request", "error", method=request.method, path=request.path,
                  status=http_status_for(exc), decision="failed", error_code=exc.code, error_field=exc.field)
        return error_response(exc)
    build = store_factory or (lambda s: instance_store(s, context))

    def read_secret(name: str) -> str:
        from shared.kms import text_secret

        return text_secret(own_factory(context), name)

    cache = REPLAYS if replays is None else replays
    return OnboardApi(settings, lambda: build(settings), cache, secret_loader=read_secret,
                      members=members).handle(request)


__all__ = ["OnboardApi", "Outcome", "REPLAYS", "ROUTES", "Route", "assume_role_info", "check_identity_provider",
           "default_members", "default_store", "grant_view", "handle_event", "match_route"]
