"""``rolegate verify``: is a deployment's configuration one the functions can run with?

Run it with the function's environment (``--env-file``, or exported) and
credentials of the same identity. Checks, each passed, failed or noted:

1. every ``ROLEGATE_*`` variable set is one Rolegate reads (a misspelt name is
   silently ignored by the functions, which is worse than an error);
2. each function's settings parse (the same ``from_env`` the function calls),
   and so do the notification settings;
3. credentials resolve, and STS ``GetCallerIdentity`` answers with them (in the
   owner account, when one is configured);
4. each function's RAM policy file parses and the judgment finds nothing
   high or critical in it beyond the justified exceptions written next to the
   policies (``deploy/lint-exceptions.json``, see
   :func:`load_exceptions`): onboard must create roles and attach policies,
   remediate must re-attach, restore trust and tags, revoke must delete grant
   roles, and each reaches Rolegate's own resources by design. An excepted
   finding passes, noted; any other high or critical finding, and any grammar
   finding, fails;
5. with ``ROLEGATE_WEBHOOK_CLIENTS`` set, the named clients' KMS secret is
   readable with these credentials and well-formed (an error names the client
   and the field, never a secret); a client that writes with no limit on
   accounts or partners, one that reaches no grant of this account, two
   clients sharing a secret, a replaced secret still accepted and a registry
   near KMS's size limit pass, noted (see :func:`check_clients`).
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from shared import config
from shared.errors import RolegateError
from shared.onboarding.clients import MAX_REGISTRY_BYTES
from shared.policies.findings import Finding, Severity, severity_rank
from shared.policies.judgment import judge
from shared.policies.protected import Protected

from rolegate.operator import OperatorSession
from rolegate.project import FUNCTIONS, REPO_ROOT, Project

_VARIABLE = re.compile(r"\bROLEGATE_[A-Z0-9_]*[A-Z0-9]\b")
EXCEPTIONS_FILE = "lint-exceptions.json"
# Next to deploy/policies/ rather than in it: deploy/roles.sh makes a role of every deploy/policies/*.json.
DEFAULT_EXCEPTIONS = REPO_ROOT / "deploy" / EXCEPTIONS_FILE
LOG_PROJECT_VARIABLE = "ROLEGATE_LOG_PROJECT"  # s.yaml's functions log there
DEFAULT_LOG_PROJECT = "rolegate-logs"  # s.yaml's default for it
_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


@dataclass(frozen=True)
class LintException:
    """A finding a policy carries by design: rule ``finding`` on ``action`` (in the statement ``sid``, if given)."""

    finding: str
    action: str
    why: str
    sid: str | None = None

    def covers(self, finding: Finding, document: Any) -> bool:
        if finding.id != self.finding:
            return False
        statement = value_at(document, finding.statement)
        if not isinstance(statement, dict):
            return False
        if self.sid is not None and statement.get("Sid") != self.sid:
            return False
        wanted = self.action.casefold()
        if finding.path.startswith(f"{finding.statement}.Action"):
            at = value_at(document, finding.path)
            return isinstance(at, str) and at.casefold() == wanted
        actions = statement.get("Action")
        listed = [actions] if isinstance(actions, str) else actions if isinstance(actions, list) else []
        return any(isinstance(a, str) and a.casefold() == wanted for a in listed)


def value_at(document: Any, path: str) -> Any:
    """The value a JSON path of the judgment (``$.Statement[1].Action[0]``) points at, or None."""
    if not path.startswith("$"):
        return None
    value, rest = document, path[1:]
    while rest:
        step = _PATH_STEP.match(rest)
        if step is None:
            return None
        key, index, quoted = step.groups()
        rest = rest[step.end():]
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
        else:
            name = key if key is not None else re.sub(r"\\(.)", r"\1", quoted)
            if not isinstance(value, dict) or name not in value:
                return None
            value = value[name]
    return value


def exceptions_near(policy: Path) -> Path:
    """The exceptions file for a policy file: ``lint-exceptions.json`` in its folder, else in the folder above."""
    here = policy.parent / EXCEPTIONS_FILE
    return here if here.is_file() else policy.parent.parent / EXCEPTIONS_FILE


def load_exceptions(path: Path, policy_file: str) -> list[LintException]:
    """The exceptions ``path`` lists for ``policy_file`` (a file name); none when the file is absent.

    The file maps a policy file name to a list of ``{"finding": "RG135",
    "action": "ram:CreateRole", "why": "...", "sid": "..."}`` (``sid``
    optional): keyed by rule and action (and statement Sid where the policy
    gives one), so it stays true while the statements around it change.
    """
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [LintException(e["finding"], e["action"], e["why"], e.get("sid")) for e in data.get(policy_file, [])]


def split_excepted(findings: list[Finding], document: Any, exceptions: list[LintException]
                   ) -> tuple[list[Finding], list[tuple[Finding, LintException]]]:
    """Findings no exception covers, and the excepted ones with the exception that covers each."""
    kept: list[Finding] = []
    excepted: list[tuple[Finding, LintException]] = []
    for finding in findings:
        cover = next((e for e in exceptions if e.covers(finding, document)), None)
        if cover is None:
            kept.append(finding)
        else:
            excepted.append((finding, cover))
    return kept, excepted


def failing(findings: list[Finding], fail_on: Severity) -> list[Finding]:
    """Grammar findings and findings at least as severe as ``fail_on``."""
    floor = severity_rank(fail_on)
    return [f for f in findings if f.id.startswith("RG0") or severity_rank(f.severity) >= floor]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    noted: bool = False  # passed, with something worth reading


def known_variables(root: Path = REPO_ROOT) -> set[str]:
    """Every ``ROLEGATE_*`` name the deployed code mentions (its settings read each one it documents),
    and those ``s.yaml`` reads when deploying (``ROLEGATE_DEPLOY_REGION``, ...)."""
    sources = [*(root / "shared").rglob("*.py"), *(root / "functions").rglob("*.py"), root / "s.yaml"]
    names: set[str] = set()
    for path in sources:
        if path.is_file():
            names.update(_VARIABLE.findall(path.read_text(encoding="utf-8")))
    return names


def _settings_loaders(context: Any) -> dict[str, Callable[[], Any]]:
    from shared.onboarding.settings import OnboardSettings
    from shared.query.settings import QuerySettings
    from shared.remediation.settings import RemediationSettings
    from shared.sweep.settings import SweepSettings

    return {"onboard": lambda: OnboardSettings.from_env(context), "revoke": SweepSettings.from_env,
            "query": QuerySettings.from_env, "remediate": RemediationSettings.from_env}


def _attempt(name: str, action: Callable[[], str]) -> Check:
    try:
        return Check(name, True, action())
    except RolegateError as exc:
        return Check(name, False, f"{exc.code}: {exc.message}")


def check_policy(function: str, path: Path, exceptions: Path = DEFAULT_EXCEPTIONS) -> Check:
    """Judge a function's policy file as ``rolegate lint`` does, with the function's written exceptions."""
    name = f"policy {path.name}"
    if not path.is_file():
        return Check(name, False, f"{path} is missing")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return Check(name, False, f"not JSON: {exc}")
    findings = list(judge(document, Protected.rolegate()).findings)
    kept, excepted = split_excepted(findings, document, load_exceptions(exceptions, f"{function}.json"))
    bad = failing(kept, "high")
    if bad:
        return Check(name, False, "; ".join(f"{f.id} {f.severity} at {f.path}: {f.message}" for f in bad))
    if excepted:
        noted = dict.fromkeys(f"{f.id} {e.action} ({e.why})" for f, e in excepted)
        return Check(name, True, "needed by design: " + "; ".join(noted), noted=True)
    return Check(name, True, f"{len(document.get('Statement', []))} statement(s), no findings")


def verify(functions: tuple[str, ...], session: OperatorSession, project: Project | None = None) -> list[Check]:
    project = project or Project.load()
    checks: list[Check] = []
    unknown = sorted(n for n in os.environ if n.startswith("ROLEGATE_") and n not in known_variables(project.root))
    checks.append(Check("variables", not unknown,
                        f"not read by Rolegate (misspelt?): {', '.join(unknown)}" if unknown
                        else "every ROLEGATE_* variable set is one Rolegate reads"))
    identity: dict[str, Any] = {}

    def credentials() -> str:
        creds = session.credentials
        return f"AccessKey {creds.access_key_id}" + (" (STS session)" if creds.is_sts else "")

    def caller() -> str:
        body = session.caller_identity()
        identity["account_id"] = str(body.account_id)
        return f"{body.arn} in account {body.account_id}"

    checks.append(_attempt("credentials", credentials))
    if checks[-1].ok:
        checks.append(_attempt("GetCallerIdentity", caller))
        owner = session.configured_owner
        if identity and owner and owner != identity["account_id"]:
            checks.append(Check("owner account", False, f"configured owner {owner} is not the credentials' "
                                                        f"account {identity['account_id']}"))
    context = SimpleNamespace(account_id=identity.get("account_id"))
    loaders = _settings_loaders(context)
    for function in functions:
        checks.append(_attempt(f"settings {function}", lambda f=function: _describe(loaders[f]())))
    checks.append(_attempt("settings notify", _notify))
    onboard = _onboard_settings(loaders) if "onboard" in functions else None
    if onboard is not None:
        checks.append(check_log_project(onboard.protected))
    if onboard is not None and onboard.webhook_clients_name is not None:
        checks.append(check_clients(lambda: session.factory.kms(), onboard))
    for function in functions:
        checks.append(check_policy(function, project.policy_path(function)))
    return checks


def check_log_project(protected: Protected) -> Check:
    """Whether the functions' SLS project is among what no grant may change (RG150).

    A project outside the namespace prefix, chosen at deploy time, would
    otherwise be open to a grant that deletes the logs or writes forged lines
    among them; the probe is the judgment a grant's policy gets.
    """
    project = config.env_str(LOG_PROJECT_VARIABLE, DEFAULT_LOG_PROJECT)
    arn = f"acs:log:*:*:project/{project}"
    probe = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "log:DeleteLogStore", "Resource": arn}]}
    if any(f.id == "RG150" for f in judge(probe, protected).findings):
        return Check("log project", True, f"{project}: no grant may change it")
    return Check("log project", False, f"{project} is outside the protected prefix: add {arn} to "
                                       "ROLEGATE_PROTECTED_RESOURCES, or a grant could delete the functions' logs")


def _onboard_settings(loaders: dict[str, Callable[[], Any]]) -> Any:
    """The onboard function's settings, or None when they do not parse (already a failed check)."""
    try:
        return loaders["onboard"]()
    except RolegateError:
        return None


CLIENTS_CHECK = "webhook clients"
NEAR_FULL = 0.8  # of the bytes a KMS secret holds


def check_clients(kms: Callable[[], Any], settings: Any, *, now: Callable[[], float] = time.time) -> Check:
    """The named clients' secret: readable, well-formed, and what in it deserves a second look.

    Fails when the secret cannot be read or parsed (the function would then
    admit no named client) or when nothing at all would admit a request;
    passes, noted, on a scope wider than a client usually needs. No secret is
    ever part of the answer.
    """
    from shared.kms import read_text
    from shared.onboarding.clients import parse_registry

    name = settings.webhook_clients_name
    try:
        text = read_text(kms(), name)
        if text is None:
            return Check(CLIENTS_CHECK, False, f"the KMS secret {name} does not exist; `rolegate clients add` "
                                               "creates it")
        registry = parse_registry(text)
    except RolegateError as exc:
        return Check(CLIENTS_CHECK, False, f"{exc.code}: {exc.message}")
    found = list(registry)
    if not found and not (settings.webhook_secret or settings.webhook_secret_name):
        return Check(CLIENTS_CHECK, False, f"{name} holds no client and ROLEGATE_WEBHOOK_SECRET is empty: "
                                           "every request would be refused")
    notes = client_notes(found, settings.owner_account_id, now())
    if len(text.encode("utf-8")) > NEAR_FULL * MAX_REGISTRY_BYTES:
        notes.append(f"{name} uses {len(text.encode('utf-8'))} of the {MAX_REGISTRY_BYTES} bytes a KMS secret "
                     "holds")
    summary = f"{len(found)} client(s) in {name}" + (f": {', '.join(c.name for c in found)}" if found else "")
    return Check(CLIENTS_CHECK, True, "; ".join([summary, *notes]), noted=bool(notes) or not found)


def client_notes(found: list[Any], owner: str, now: float) -> list[str]:
    """What an operator should look at twice: wide writers, clients reaching nothing here, shared secrets."""
    from shared.onboarding.clients import ANY

    notes: list[str] = []
    for client in found:
        unlimited = [what for what, ids in (("accounts", client.accounts), ("partners", client.partners))
                     if ANY in ids]
        if client.write and unlimited:
            notes.append(f"{client.name} writes with no limit on {' or '.join(unlimited)} (give it --account/"
                         "--partner limits unless it is an administrator's)")
        if ANY not in client.accounts and owner not in client.accounts:
            notes.append(f"{client.name} reaches no grant of account {owner}")
        if client.previous_until is not None and now <= client.previous_until:
            until = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(client.previous_until))
            notes.append(f"{client.name}'s replaced secret is accepted until {until}")
    holders: dict[str, list[str]] = {}
    for client in found:
        for secret in client.secrets(now):
            holders.setdefault(secret, []).append(client.name)
    for names in holders.values():
        if len(set(names)) > 1:
            notes.append(f"{' and '.join(sorted(set(names)))} share a secret: a leak of one is a leak of all")
    return notes


def _notify() -> str:
    from shared.notify import NotifySettings

    settings = NotifySettings.from_env()
    return f"notifications to {settings!r}" if settings.url else "notifications off"


def _describe(settings: Any) -> str:
    return type(settings).__name__ + " read"


__all__ = ["DEFAULT_EXCEPTIONS", "EXCEPTIONS_FILE", "Check", "FUNCTIONS", "LintException", "check_clients",
           "check_policy", "client_notes", "exceptions_near", "failing", "known_variables", "load_exceptions",
           "split_excepted", "value_at", "verify"]
