"""``rolegate grants``: read and change grants directly through the shared core.

A grant made here is judged by the same rules as one asked of the webhook
(:func:`shared.onboarding.requests.parse_create`) and shown in the same shape
(:func:`shared.onboarding.api.grant_view`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shared.policies.principals import PRINCIPAL_KINDS

from rolegate.cliutil import (DURATION, account_option, cloud_options, dry_run_option, expiry_body, json_option,
                              output, plan_table, session)


def _principal_text(principal: dict[str, Any]) -> str:
    kind = principal.get("type")
    detail = {"account": f"ExternalId {principal.get('external_id')}" if principal.get("external_id") else
              "no ExternalId", "user": principal.get("name"), "role": principal.get("name"),
              "saml": principal.get("provider"), "oidc": principal.get("provider"),
              "service": principal.get("service")}.get(kind)
    return f"{kind} {detail}" if detail else str(kind)


def _policies_text(policies: list[dict[str, Any]]) -> str:
    return ", ".join(p["name"] + ("" if p.get("type") == "System" else " (custom)") for p in policies)


def _grant_rows(views: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for view in views:
        if view.get("status") == "unproven":
            rows.append(["?", "?", "?", "?", "?", "unproven", view["role_name"]])
            continue
        rows.append([view["grant_id"], view["partner_account_id"], _principal_text(view["principal"]),
                     _policies_text(view["policies"]), view["expires_at"], view["status"], view["role_name"]])
    return rows


def _show_grant(view: dict[str, Any]) -> None:
    out = output()
    if view.get("status") == "unproven":
        out.table(None, ["Field", "Value"], [["role", view["role_name"]], ["status", "unproven"],
                                              ["error", view.get("error")]])
        return
    rows = [["grant", view["grant_id"]], ["status", view["status"]], ["partner", view["partner_account_id"]],
            ["principal", _principal_text(view["principal"])], ["role", view["role_arn"]],
            ["policies", _policies_text(view["policies"])], ["created", view["created_at"]],
            ["expires", view["expires_at"]], ["max session", f"{view['max_session_duration']} s"],
            ["requester", view.get("requester")], ["ticket", view.get("ticket")],
            ["description", view.get("description")],
            ["trust policy", json.dumps(view["trust_policy"], separators=(",", ":"))]]
    console = (view.get("assume_role") or {}).get("Console")
    if console:
        switch = console["SwitchRole"]
        rows.append(["console", f"sign in at {console['SigninUrl']}, then Switch Role: account {switch['Account']}, "
                                f"role {switch['RoleName']}"])
    out.table(None, ["Field", "Value"], rows)


@click.group()
def grants() -> None:
    """Read and change grants (RAM roles in the owner account, or with --account in a member) directly."""


@grants.command("list")
@cloud_options
@account_option
@click.option("--partner", metavar="ID", help="Only this partner account's grants.")
@json_option
def grants_list(endpoint: str | None, region: str | None, owner_account: str | None, account: str | None,
                partner: str | None, as_json: bool) -> None:
    """List every grant of the owner account."""
    from shared import clock
    from shared.onboarding.api import managed_view

    operator = session(endpoint, region, owner_account, account)
    now = clock.now()
    views = [managed_view(found, now) for found in operator.store().list()
             if partner is None or (found.grant is not None and found.grant.partner_account_id == partner)]
    if as_json:
        output().json({"grants": views, "count": len(views)})
        return
    output().table(f"{len(views)} grant(s) in {operator.owner_account}",
                 ["Grant", "Partner", "Principal", "Policies", "Expires (UTC)", "Status", "Role"], _grant_rows(views),
                 keep=2)


@grants.command("show")
@cloud_options
@account_option
@click.argument("grant_id")
@json_option
def grants_show(endpoint: str | None, region: str | None, owner_account: str | None, account: str | None,
                grant_id: str, as_json: bool) -> None:
    """Show one grant: record, state, trust policy."""
    from shared import clock
    from shared.onboarding.api import managed_view

    view = managed_view(_find(session(endpoint, region, owner_account, account), grant_id), clock.now())
    if as_json:
        output().json(view)
    else:
        _show_grant(view)


def _find(operator: Any, grant_id: str) -> Any:
    from shared.errors import NotFound
    from shared.grants.model import is_grant_id

    if not is_grant_id(grant_id):
        raise NotFound(f"Grant {grant_id} does not exist (grant ids look like g-abcdefghijkl).", field="grant_id")
    return operator.store().find(grant_id)


def _principal(kind: str, name: str | None, external_id: str | None, provider: str | None, issuer: str | None,
               audiences: tuple[str, ...], subjects: tuple[str, ...], service: str | None) -> dict[str, Any]:
    given = {"name": name, "external_id": external_id, "provider": provider, "issuer": issuer,
             "audiences": list(audiences) or None, "subjects": list(subjects) or None, "service": service}
    return {"type": kind, **{k: v for k, v in given.items() if v is not None}}


def _documents(files: tuple[Path, ...]) -> list[dict[str, Any]]:
    documents = []
    for path in files:
        try:
            documents.append({"document": json.loads(path.read_text(encoding="utf-8"))})
        except ValueError as exc:
            raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint="--policy-document") from None
    return documents


@grants.command("create")
@cloud_options
@account_option
@click.option("--partner", required=True, metavar="ID", help="The partner's account id.")
@click.option("--principal-type", required=True, type=click.Choice(PRINCIPAL_KINDS),
              help="Which identity of the partner the role trusts.")
@click.option("--name", help="User or role name (user, role).")
@click.option("--external-id", help="ExternalId the partner must present (account).")
@click.option("--provider", help="Identity provider name (saml, oidc).")
@click.option("--issuer", help="OIDC issuer URL (oidc).")
@click.option("--audience", "audiences", multiple=True, help="OIDC audience (oidc; repeatable).")
@click.option("--subject", "subjects", multiple=True, help="OIDC subject (oidc; repeatable).")
@click.option("--service", help="Cloud service, e.g. ecs.aliyuncs.com (service).")
@click.option("--policy", "policies", multiple=True, metavar="NAME", help="System policy to attach (repeatable).")
@click.option("--policy-document", "documents", multiple=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Custom policy document, a JSON file (repeatable).")
@click.option("--duration", type=DURATION, help="Lifetime: seconds, or 90m, 12h, 7d.")
@click.option("--expires-at", metavar="ISO8601", help="End of the grant, e.g. 2030-01-31T12:00:00Z.")
@click.option("--role-name", help="Role name (default rolegate-<partner>-<grant id>).")
@click.option("--max-session-duration", type=int, help="Longest role session, seconds (3600-43200).")
@click.option("--requester", help="Who asked for the grant (recorded).")
@click.option("--ticket", help="Change ticket (recorded).")
@click.option("--description", help="Free text (recorded).")
@click.option("--idempotency-key", help="Same key, same grant: a retry never makes a second one.")
@dry_run_option
@json_option
def grants_create(endpoint: str | None, region: str | None, owner_account: str | None, account: str | None,
                  partner: str, principal_type: str, name: str | None, external_id: str | None, provider: str | None,
                  issuer: str | None, audiences: tuple[str, ...], subjects: tuple[str, ...], service: str | None,
                  policies: tuple[str, ...], documents: tuple[Path, ...], duration: int | None,
                  expires_at: str | None, role_name: str | None, max_session_duration: int | None,
                  requester: str | None, ticket: str | None, description: str | None,
                  idempotency_key: str | None, dry_run: bool, as_json: bool) -> None:
    """Create a grant, judged by the same rules as the webhook."""
    from shared import clock
    from shared.onboarding.api import check_identity_provider, grant_view
    from shared.onboarding.requests import parse_create

    body: dict[str, Any] = {
        "partner_account_id": partner,
        "principal": _principal(principal_type, name, external_id, provider, issuer, audiences, subjects, service),
        "policies": [{"name": p} for p in policies] + _documents(documents),
        **expiry_body(duration, expires_at),
    }
    optional = {"role_name": role_name, "max_session_duration": max_session_duration, "requester": requester,
                "ticket": ticket, "description": description, "idempotency_key": idempotency_key}
    body.update({k: v for k, v in optional.items() if v is not None})
    operator = session(endpoint, region, owner_account, account)
    now = clock.now().replace(microsecond=0)  # grant times are whole seconds
    parsed = parse_create(body, operator.rules(), now)
    store = operator.store()
    check_identity_provider(store.identity_providers, parsed.grant.principal, operator.owner_account)
    result = store.create(parsed.grant, dry_run=dry_run)
    view = {**grant_view(result.grant, now), "created": result.created}
    if dry_run:
        view["plan"] = result.planned
    if parsed.warnings:
        view["warnings"] = [w.to_dict() for w in parsed.warnings]
    if as_json:
        output().json(view)
        return
    if dry_run:
        plan_table(f"Would create grant {result.grant.grant_id}", result.planned)
        return
    output().console.print(("Created" if result.created else "Already existed:") + f" grant {result.grant.grant_id}")
    _show_grant(view)
    for warning in view.get("warnings", []):
        output().err.print(f"warning: {warning['id']} {warning['severity']} at {warning['path']}: {warning['message']}")


@grants.command("extend")
@cloud_options
@account_option
@click.argument("grant_id")
@click.option("--duration", type=DURATION, help="New lifetime from now: seconds, or 90m, 12h, 7d.")
@click.option("--expires-at", metavar="ISO8601", help="New end of the grant.")
@dry_run_option
@json_option
def grants_extend(endpoint: str | None, region: str | None, owner_account: str | None, account: str | None,
                  grant_id: str, duration: int | None, expires_at: str | None, dry_run: bool, as_json: bool) -> None:
    """Move a grant's expiry (later, or earlier)."""
    from shared import clock
    from shared.onboarding.api import grant_view
    from shared.onboarding.requests import parse_update

    body = expiry_body(duration, expires_at)
    operator = session(endpoint, region, owner_account, account)
    _find(operator, grant_id)
    now = clock.now().replace(microsecond=0)  # grant times are whole seconds
    update = parse_update(body, operator.rules(), now)
    grant, plan = operator.store().extend(grant_id, update.expires_at, dry_run=dry_run)
    view = {**grant_view(grant, now), **({"plan": plan} if dry_run else {})}
    if as_json:
        output().json(view)
    else:
        verb = "Would move" if dry_run else "Moved"
        output().console.print(f"{verb} the expiry of {grant_id} to {view['expires_at']}")


@grants.command("revoke")
@cloud_options
@account_option
@click.argument("grant_id")
@dry_run_option
@json_option
def grants_revoke(endpoint: str | None, region: str | None, owner_account: str | None, account: str | None,
                  grant_id: str, dry_run: bool, as_json: bool) -> None:
    """Revoke a grant now: detach its policies and delete its custom policies; the role stays a few minutes
    as a powerless tombstone (so a replayed create cannot bring the grant back), then the sweep deletes it."""
    operator = session(endpoint, region, owner_account, account)
    found = _find(operator, grant_id)
    result = operator.store().revoke(found.role.name, found.role.tags, dry_run=dry_run, tombstone=True)
    data = {"grant_id": grant_id, **result.to_dict()}
    if as_json:
        output().json(data)
    elif dry_run:
        plan_table(f"Would revoke {grant_id}", result.planned)
    else:
        output().console.print(f"Revoked {grant_id}: role {result.role_name} made a tombstone; detached "
                             f"{', '.join(result.detached) or 'nothing'}; deleted policies "
                             f"{', '.join(result.deleted_policies) or 'none'}")


@grants.command("adopt")
@cloud_options
@account_option
@click.option("--yes", is_flag=True, help="Sign the records shown (without it, only show them).")
@json_option
def grants_adopt(endpoint: str | None, region: str | None, owner_account: str | None, account: str | None,
                 yes: bool, as_json: bool) -> None:
    """Sign grant records written before records carried a proof, after showing what would be signed."""
    from shared import clock
    from shared.grants.tags import TagDecodeError
    from shared.onboarding.api import grant_view

    operator = session(endpoint, region, owner_account, account)
    store = operator.store()
    now = clock.now()
    shown: list[dict[str, Any]] = []
    for found in store.list():
        if found.grant is not None:
            continue
        try:
            grant, plan = store.adopt(found.role, found.role.tags or [], dry_run=not yes)
        except TagDecodeError as exc:
            shown.append({"role_name": found.role.name, "adoptable": False, "reason": exc.reason})
            continue
        shown.append({**grant_view(grant, now), "adoptable": True, "signed": yes, "plan": plan})
    if as_json:
        output().json(shown)
    else:
        rows = [[v.get("grant_id", ""), v["role_name"], v.get("partner_account_id", ""), v.get("expires_at", ""),
                 "signed" if v.get("signed") else "would sign" if v["adoptable"] else f"left: {v['reason']}"]
                for v in shown]
        output().table("Records without a proof", ["grant", "role", "partner", "expires", "outcome"], rows)
    if not yes and any(v["adoptable"] for v in shown):
        output().err.print("Check each grant above, then run again with --yes to sign them.")


__all__ = ["grants"]
