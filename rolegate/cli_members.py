"""``rolegate members``: enrol member accounts in a hub deployment, and see whether each is ready.

Enrolling a member makes (or puts back) its manager role: trusted only by the
hub's function roles ``fc-rolegate-onboard``, ``-revoke`` and ``-remediate``,
holding one custom policy, :func:`manager_policy`, with exactly what those
functions do in a member -- their own policies from ``deploy/policies/``,
less what stays in the hub (KMS: the record key never leaves it), less role
chaining and less the guard of the functions' own roles (they live in the
hub). ``deploy/manager-policy.json`` is the same document for
``deploy/roles.sh --manager``; a test keeps the two equal.

The member is reached through its ``ResourceDirectoryAccountAccessRole`` from
the caller's (the management account's) credentials, or with credentials of
the member given explicitly (``--member-credentials``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from rolegate.cliutil import json_option, location_options, output, session
from rolegate.operator import member_factory
from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.errors import ConfigError, RolegateError
from shared.members import list_directory_accounts
from shared.policies.document import canonical_json
from shared.ram import RamGateway
from shared.sts import caller_identity, checked_account_id

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SOURCES = ("onboard", "revoke", "remediate")  # the hub's functions that act in members
MANAGER_POLICY_FILE = DEPLOY / "manager-policy.json"
SESSION_NAME = "rolegate-enroll"
MAX_POLICY_VERSIONS = 5  # RAM keeps at most five versions of a custom policy
CUSTOM = "Custom"


# ------------------------------------------------------------------ what a member holds
def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _stays_in_hub(statement: dict[str, Any]) -> bool:
    """KMS (the record key), AssumeRole (no chaining onwards) and the guard of the functions' own roles."""
    actions = _as_list(statement["Action"])
    if any(a.lower().startswith("kms:") or a.lower() == "sts:assumerole" for a in actions):
        return True
    return all("role/fc-rolegate-" in r or "policy/fc-rolegate-" in r for r in _as_list(statement["Resource"]))


def manager_policy(policies: Path = DEPLOY / "policies") -> dict[str, Any]:
    """The manager role's policy: the statements of the hub functions' policies that act in a member.

    Each keeps its confinement (``role/rolegate-*``, ``policy/rolegate-*``);
    its Sid is prefixed with the function's name, and a statement two
    functions share (the Deny of high-risk attachments) appears once.
    """
    statements: list[dict[str, Any]] = []
    seen: set[str] = set()
    for function in SOURCES:
        for statement in json.loads((policies / f"{function}.json").read_text())["Statement"]:
            if _stays_in_hub(statement):
                continue
            body = {k: v for k, v in statement.items() if k != "Sid"}
            key = canonical_json(body)
            if key in seen:
                continue
            seen.add(key)
            statements.append({"Sid": function.capitalize() + statement.get("Sid", ""), **body})
    return {"Version": "1", "Statement": statements}


def manager_trust(hub_account: str) -> dict[str, Any]:
    """Only the hub's function roles may assume the manager role (any of their sessions, as FC makes them)."""
    return {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["sts:AssumeRole"],
        "Principal": {"RAM": sorted(f"acs:ram::{hub_account}:role/fc-rolegate-{fn}" for fn in SOURCES)}}]}


def _same(text: str | None, wanted: dict[str, Any]) -> bool:
    try:
        return text is not None and canonical_json(json.loads(text)) == canonical_json(wanted)
    except ValueError:
        return False


# ------------------------------------------------------------------ one member
@dataclass
class Member:
    """One member's manager role: what enrolling changed, or what a health check found."""

    account_id: str
    changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "ok": self.ok, "changes": self.changes, "problems": self.problems,
                **({"error": self.error} if self.error else {})}


class ManagerRole:
    """The manager role of one member, read and made through a factory acting in that member."""

    def __init__(self, factory: ClientFactory, hub_account: str, role_name: str, policy: dict[str, Any]) -> None:
        self.factory = factory
        self.ram = RamGateway(factory.ram())
        self.role_name = role_name
        self.trust = manager_trust(hub_account)
        self.policy = policy

    def check(self, report: Member) -> None:
        role = self.ram.get_role(self.role_name)
        if role is None:
            report.problems.append(f"role {self.role_name} missing")
            return
        if not _same(role.trust_policy, self.trust):
            report.problems.append("trust policy differs: the hub's functions may not be the only ones trusted")
        current = self.ram.get_policy(self.role_name, CUSTOM)
        if current is None:
            report.problems.append(f"policy {self.role_name} missing")
        elif not _same(current.document, self.policy):
            report.problems.append(f"policy {self.role_name} is not the current version")
        attached = set(self.ram.policies_for_role(self.role_name))
        if (CUSTOM, self.role_name) not in attached:
            report.problems.append(f"policy {self.role_name} not attached")
        for kind, name in sorted(attached - {(CUSTOM, self.role_name)}):
            report.problems.append(f"extra {kind} policy {name} attached")

    def enroll(self, report: Member, description: str) -> None:
        """Make the role exactly as it should be; each change made is named in ``report``."""
        trust = canonical_json(self.trust)
        role = self.ram.get_role(self.role_name)
        if role is None:
            self.ram.create_role(self.role_name, trust, description, 3600, [])
            report.changes.append(f"created role {self.role_name}")
        elif not _same(role.trust_policy, self.trust):
            self.ram.update_role(self.role_name, trust)
            report.changes.append("trust policy set")
        self._ensure_policy(report)
        attached = set(self.ram.policies_for_role(self.role_name))
        if (CUSTOM, self.role_name) not in attached:
            self.ram.attach(self.role_name, CUSTOM, self.role_name)
            report.changes.append(f"attached policy {self.role_name}")
        for kind, name in sorted(attached - {(CUSTOM, self.role_name)}):
            self.ram.detach(self.role_name, kind, name)
            report.changes.append(f"detached extra {kind} policy {name}")

    def _ensure_policy(self, report: Member) -> None:
        document = canonical_json(self.policy)
        current = self.ram.get_policy(self.role_name, CUSTOM)
        if current is None:
            self.ram.create_policy(self.role_name, document, "Rolegate's hub functions in this member account", [])
            report.changes.append(f"created policy {self.role_name}")
            return
        if _same(current.document, self.policy):
            return
        versions = self.ram.policy_versions(self.role_name)
        if len(versions) >= MAX_POLICY_VERSIONS:
            oldest = min((v for v in versions if not v[1]), key=lambda v: int(v[0].lstrip("v") or 0))
            self.ram.delete_policy_version(self.role_name, oldest[0])
        self.ram.create_policy_version(self.role_name, document)
        report.changes.append(f"policy {self.role_name}: new default version")


# ------------------------------------------------------------------ reaching members
def read_credentials(path: Path) -> Credentials:
    """Credentials from a JSON file (``access_key_id``, ``access_key_secret``, optional ``security_token``)."""
    try:
        data = json.loads(path.read_text())
        return Credentials(str(data["access_key_id"]), str(data["access_key_secret"]), data.get("security_token"))
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{path} must be a JSON file holding access_key_id and access_key_secret.",
                          field="--member-credentials") from None


def _targets(operator: Any, account_ids: tuple[str, ...], hub: str, given: ClientFactory | None) -> list[str]:
    if given is not None:
        own = caller_identity(given).account_id
        if account_ids and set(account_ids) != {own}:
            raise click.UsageError(f"--member-credentials act in account {own} only.")
        return [own]
    ids = [checked_account_id(a, "ACCOUNT_ID") for a in account_ids] or list_directory_accounts(operator.factory)
    return [a for a in dict.fromkeys(ids) if a != hub]


def _each(account_ids: tuple[str, ...], hub_account: str | None, member_credentials: Path | None,
          endpoint: str | None, region: str | None, act: Any) -> list[Member]:
    operator = session(endpoint, region, hub_account)
    hub = operator.owner_account
    role_name = _manager_role_name()
    policy = manager_policy()
    given = operator.factory.with_credentials(read_credentials(member_credentials)) if member_credentials else None
    reports = []
    for account_id in _targets(operator, account_ids, hub, given):
        report = Member(account_id)
        try:
            factory = given or member_factory(operator.factory, account_id, SESSION_NAME)
            act(ManagerRole(factory, hub, role_name, policy), report, hub)
        except RolegateError as exc:
            report.error = f"{exc.code}: {exc.message}"
        reports.append(report)
    return reports


def _manager_role_name() -> str:
    from shared.members import MemberSettings

    return MemberSettings.from_env().manager_role


def _show(reports: list[Member], as_json: bool, title: str, column: str, cells: Any) -> int:
    if as_json:
        output().json([r.to_dict() for r in reports])
    else:
        output().table(title, ["Account", "Status", column],
                       [[r.account_id, "ok" if r.ok else "failed" if r.error else "unhealthy", cells(r)]
                        for r in reports])
    return 0 if all(r.ok for r in reports) else 1


# ------------------------------------------------------------------ commands
HUB_OPTION = click.option("--hub", "hub_account", metavar="ID", envvar="ROLEGATE_OWNER_ACCOUNT_ID",
                          help="The hub account whose functions act in the members (default: the caller's own).")
CREDENTIALS_OPTION = click.option("--member-credentials", type=click.Path(dir_okay=False, path_type=Path),
                                  help="JSON file with an AccessKey of the member itself (for an account outside "
                                       "the Resource Directory); then only that account is acted on.")


@click.group()
def members() -> None:
    """Member accounts of a hub deployment: their manager role (ROLEGATE_MANAGER_ROLE, default RolegateManager)."""


@members.command("enroll")
@click.argument("account_ids", nargs=-1, metavar="[ACCOUNT_ID ...]")
@HUB_OPTION
@CREDENTIALS_OPTION
@location_options
@json_option
def members_enroll(account_ids: tuple[str, ...], hub_account: str | None, member_credentials: Path | None,
                   endpoint: str | None, region: str | None, as_json: bool) -> int:
    """Create or put back the manager role in each member (default: every member of the Resource Directory).

    Safe to run again: a member already enrolled is left unchanged.
    """
    def enroll(role: ManagerRole, report: Member, hub: str) -> None:
        role.enroll(report, f"Rolegate's functions of hub account {hub}")

    reports = _each(account_ids, hub_account, member_credentials, endpoint, region, enroll)
    return _show(reports, as_json, "Enrolment", "Changes",
                 lambda r: r.error or "; ".join(r.changes) or "unchanged")


@members.command("list")
@HUB_OPTION
@CREDENTIALS_OPTION
@location_options
@json_option
def members_list(hub_account: str | None, member_credentials: Path | None, endpoint: str | None,
                 region: str | None, as_json: bool) -> int:
    """Each member and its health: manager role present, trusting the hub's functions only, policy current.

    Exits 1 when any member is not ready (its grants cannot be made, swept or guarded).
    """
    reports = _each((), hub_account, member_credentials, endpoint, region,
                    lambda role, report, hub: role.check(report))
    return _show(reports, as_json, "Members", "Health", lambda r: r.error or "; ".join(r.problems) or "ready")


__all__ = ["MANAGER_POLICY_FILE", "ManagerRole", "manager_policy", "manager_trust", "members"]
