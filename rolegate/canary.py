"""``rolegate canary``: try, in a scratch account, the cloud behaviours the fidelity ledger marks unverified.

The emulator reproduces what ``docs/cloud-fidelity.md`` says the cloud does;
where the ledger says *unverified*, a passing test proves only that the
emulator agrees with Rolegate's own assumption. The canary asks the cloud
itself, with the official SDK clients, through the operator session's
:class:`~shared.clients.ClientFactory` (the default credential chain, or
``--endpoint``/``ROLEGATE_ENDPOINT`` for the emulator). Each check names the
ledger entry it tries and ends ``held`` (the cloud behaves as the entry says),
``broken`` (it does not: fix the entry, the emulator and whatever relies on
it), ``skipped`` (it could not be tried here, and why) or ``manual`` (it cannot
be checked synchronously; the detail says how to check it by hand).

Everything the canary makes is a RAM role named ``rolegate-canary-<run>-...``,
holding no policy. Every role is removed at the end, whatever happened: a
failing check, an error, Ctrl-C or SIGTERM (cleanup then runs with both
signals held off). ``--cleanup`` removes what a run killed outright (SIGKILL,
power loss) left behind, found by listing ``rolegate-canary-*``.

Use a scratch account: the roles lie inside ``rolegate-*``, Rolegate's
namespace, where a deployed Rolegate's remediation would disarm them
mid-run.

The ExternalId check needs a second principal, since an account's root
cannot call AssumeRole: the operator itself when it is a RAM user or role
allowed ``sts:AssumeRole``, or the AccessKey pair in
``ROLEGATE_CANARY_ASSUMER_ACCESS_KEY_ID`` / ``ROLEGATE_CANARY_ASSUMER_ACCESS_KEY_SECRET``
(any account). Without one that check is skipped.

Exit codes: 0 nothing broken; 1 a check broke, a role could not be removed, or
the run was interrupted; 2 a usage or configuration error.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import string
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import click

from rolegate.cliutil import cloud_options, json_option, output, session
from rolegate.environ import patched_environ

PREFIX = "rolegate-canary-"
HELD, BROKEN, SKIPPED, MANUAL = "held", "broken", "skipped", "manual"
# What RAM documents for tags (ledger: RAM-TAG-LIMIT, RAM-TAG-KEY-VALUE-LENGTH).
MAX_TAGS, TAG_KEY_CHARS, TAG_VALUE_CHARS = 20, 128, 256
# The longest trust policy the emulator admits (ledger: RAM-TRUST-LENGTH): the
# cloud must accept at least this much, or tests pass with trusts it refuses.
LARGE_TRUST_CHARS = 4096
TRUST_PROBE_CEILING = 16384  # beyond this the probe stops and reports "at least"
LENGTH_CODE = "InvalidParameter.AssumeRolePolicyDocument.Length"
DEFAULT_SETTLE_SECONDS = 15.0
ASSUMER_KEY_ENV = "ROLEGATE_CANARY_ASSUMER_ACCESS_KEY_ID"
ASSUMER_SECRET_ENV = "ROLEGATE_CANARY_ASSUMER_ACCESS_KEY_SECRET"
# Answers to an AssumeRole that may only mean "not visible yet": RAM is eventually consistent.
NOT_YET = ("NoPermission", "EntityNotExist.Role")
_TOKEN = string.ascii_lowercase + string.digits
_TEXT = string.ascii_letters + string.digits


class _Skip(Exception):
    """A check that cannot be tried in this run; the message says what it needs."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop checking, clean up, report."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass(frozen=True)
class Outcome:
    entry: str
    check: str
    result: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"entry": self.entry, "check": self.check, "result": self.result, "detail": self.detail}


@dataclass
class Cleanup:
    removed: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "failed": self.failed}


@dataclass
class Report:
    run_id: str
    account_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    cleanup: Cleanup = field(default_factory=Cleanup)
    interrupted: str | None = None

    @property
    def ok(self) -> bool:
        return (self.interrupted is None and not self.cleanup.failed
                and all(o.result != BROKEN for o in self.outcomes))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "run": self.run_id, "account_id": self.account_id,
                "checks": [o.to_dict() for o in self.outcomes], "cleanup": self.cleanup.to_dict(),
                "interrupted": self.interrupted}


# ----------------------------------------------------------------- helpers
def _token(n: int) -> str:
    return "".join(secrets.choice(_TOKEN) for _ in range(n))


def _text(n: int) -> str:
    return "".join(secrets.choice(_TEXT) for _ in range(n))


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def guarded_trust(account_id: str, external_id: str) -> dict[str, Any]:
    """Admits only identities of ``account_id`` that present ``external_id``."""
    return {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{account_id}:root"]},
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]}


def open_trust(account_id: str) -> dict[str, Any]:
    return {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{account_id}:root"]}}]}


def shortest_trust(account_id: str) -> int:
    """The length of the shortest trust :func:`trust_of_length` makes (an ExternalId of two characters)."""
    return len(_compact(guarded_trust(account_id, ""))) + 2


def trust_of_length(account_id: str, length: int) -> str:
    """A guarded trust policy exactly ``length`` characters long (padded in its ExternalId value)."""
    base = len(_compact(guarded_trust(account_id, "")))
    if length < base + 2:
        raise ValueError(f"a trust policy cannot be shorter than {base + 2} characters here")
    return _compact(guarded_trust(account_id, "x" * (length - base)))


def full_tags(marker: str) -> list[dict[str, str]]:
    """``MAX_TAGS`` tags, each key ``TAG_KEY_CHARS`` and each value ``TAG_VALUE_CHARS`` characters long."""
    tags = []
    for index in range(MAX_TAGS):
        key = f"{PREFIX}{marker}-{index:02d}-"
        tags.append({"Key": key + "k" * (TAG_KEY_CHARS - len(key)), "Value": _text(TAG_VALUE_CHARS)})
    return tags


def _as_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def _error_text(exc: BaseException) -> str:
    from shared.errors import RolegateError

    if isinstance(exc, RolegateError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "cloud_code", None) or getattr(exc, "code", None) or type(exc).__name__)


def _query_bytes(params: dict[str, str]) -> int:
    """Size of the RPC query string carrying ``params`` (RAM's SDK sends every parameter in the query)."""
    return len(urllib.parse.urlencode(params))


# ------------------------------------------------------------------- the run
class Run:
    """One canary run: the clients, the account, and every role it made (to remove at the end)."""

    def __init__(self, operator: Any, settle_seconds: float, assumer_keys: tuple[str, str] | None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from shared.ram import RamGateway

        self.operator = operator
        self.ram = RamGateway(operator.factory.ram())
        identity = operator.caller_identity()
        self.account_id = str(identity.account_id)
        self.identity_type = str(identity.identity_type or "")
        self.run_id = _token(8)
        self.settle_seconds = max(0.0, settle_seconds)
        self.assumer_keys = assumer_keys
        self.sleep = sleep
        self.created: list[str] = []
        self.tagged: tuple[str, list[dict[str, str]]] | None = None  # the role of RAM-TAG-LIMIT and its tags

    def name(self, suffix: str) -> str:
        return f"{PREFIX}{self.run_id}-{suffix}"

    def create(self, suffix: str, trust: dict[str, Any] | str, tags: list[dict[str, str]] | None = None) -> str:
        """CreateRole; the name is recorded first, so a create whose answer is lost is still removed.

        "Already exists" counts as made: the run id is random, so a role of this
        name is this run's own, from an attempt whose answer was lost and retried.
        """
        name = self.name(suffix)
        self.created.append(name)
        text = trust if isinstance(trust, str) else _compact(trust)
        self.ram.create_role(name, text, "rolegate canary: removed at the end of the run", 3600, tags or [],
                             safe_to_retry=True)
        return name

    def guarded(self, suffix: str, tags: list[dict[str, str]] | None = None) -> str:
        return self.create(suffix, guarded_trust(self.account_id, f"{PREFIX}{_token(16)}"), tags)

    def assumer(self) -> tuple[Any, str] | None:
        """(client factory, who) of the second principal, or None when there is none."""
        from shared.credentials import Credentials

        if self.assumer_keys is not None:
            key_id, secret = self.assumer_keys
            return self.operator.factory.with_credentials(Credentials(key_id, secret)), f"AccessKey {key_id}"
        if self.identity_type and self.identity_type != "Account":
            return self.operator.factory, "the operator's own identity"
        return None


# ------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Check:
    entry: str
    title: str
    run: Callable[[Run], tuple[str, str]]

    def outcome(self, run: Run) -> Outcome:
        try:
            result, detail = self.run(run)
        except _Skip as skip:
            result, detail = SKIPPED, f"skipped: {skip}"
        except Exception as exc:  # one check's failure is that check's verdict, never the run's end
            result, detail = BROKEN, _error_text(exc)
        return Outcome(self.entry, self.title, result, detail)


def check_tag_limit(run: Run) -> tuple[str, str]:
    tags = full_tags("t")
    name = run.guarded("Tags", tags)  # capitals on purpose: RAM-ROLE-NAME-CASE and RAM-ROLE-ARN use this role
    run.tagged = (name, tags)
    read = _as_map(run.ram.role_tags(name))
    if read != _as_map(tags):
        return BROKEN, f"CreateRole accepted the tags, but ListTagResources read back {len(read)} that differ"
    return HELD, (f"CreateRole accepted {MAX_TAGS} tags with {TAG_KEY_CHARS}-character keys and "
                  f"{TAG_VALUE_CHARS}-character values; ListTagResources read them back intact")


def _needs_tagged(run: Run) -> tuple[str, list[dict[str, str]]]:
    if run.tagged is None:
        raise _Skip("needs the role RAM-TAG-LIMIT creates, which could not be made")
    return run.tagged


def check_listroles_tags(run: Run) -> tuple[str, str]:
    name, tags = _needs_tagged(run)
    for role in run.ram.list_roles():
        if role.name.lower() == name.lower():
            listed = _as_map(role.tags)
            if listed == _as_map(tags):
                return HELD, f"ListRoles returned all {len(tags)} tags of {name}, values intact"
            return BROKEN, f"ListRoles returned {len(listed)} of the {len(tags)} tags of {name}, or changed values"
    return BROKEN, f"ListRoles did not list {name}"


def check_listroles_filter(run: Run) -> tuple[str, str]:
    name, tags = _needs_tagged(run)
    both = [tags[0], tags[1]]
    wrong = [tags[0], {"Key": tags[1]["Key"], "Value": "0" * TAG_VALUE_CHARS}]
    matched = [r.name.lower() for r in run.ram.list_roles(both)]
    mismatched = [r.name.lower() for r in run.ram.list_roles(wrong)]
    if name.lower() not in matched:
        return BROKEN, "ListRoles filtered on two of the role's own tags did not list it"
    if name.lower() in mismatched:
        return BROKEN, "ListRoles listed the role for a filter one of whose two tags it does not carry (OR, not AND)"
    return HELD, "a two-tag filter lists the role only when it carries both tags (AND)"


def check_name_case(run: Run) -> tuple[str, str]:
    name, _ = _needs_tagged(run)
    found = run.ram.get_role(name.upper())
    if found is None:
        return BROKEN, f"GetRole {name.upper()} answered EntityNotExist.Role for the role {name}"
    return HELD, f"GetRole {name.upper()} found {found.name}"


def check_arn_case(run: Run) -> tuple[str, str]:
    name, _ = _needs_tagged(run)
    found = run.ram.get_role(name)
    if found is None:
        return BROKEN, f"GetRole {name} found nothing"
    if found.arn == f"acs:ram::{run.account_id}:role/{name.lower()}":
        return HELD, f"the ARN of {name} is {found.arn}: the name lower-cased"
    return BROKEN, f"the ARN of {name} is {found.arn}"


def check_request_size(run: Run) -> tuple[str, str]:
    tags = full_tags("f")
    trust = trust_of_length(run.account_id, LARGE_TRUST_CHARS)
    name = run.name("full")
    size = _query_bytes({"Action": "CreateRole", "Version": "2015-05-01", "RoleName": name,
                         "AssumeRolePolicyDocument": trust, "MaxSessionDuration": "3600",
                         "Tag": _compact(tags)})
    run.create("full", trust, tags)
    return HELD, (f"one CreateRole with {MAX_TAGS} tags of {TAG_VALUE_CHARS}-character values and a "
                  f"{LARGE_TRUST_CHARS}-character trust policy was accepted (a query string of about {size} bytes)")


def check_trust_length(run: Run) -> tuple[str, str]:
    name = run.guarded("trust")
    codes: set[str] = set()

    def accepted(length: int) -> bool:
        try:
            run.ram.update_role(name, trust_of_length(run.account_id, length))
        except Exception as exc:
            codes.add(_code(exc))
            return False
        return True

    def longest(low: int, high: int) -> int:
        """The longest accepted length, given ``low`` accepted and ``high`` refused."""
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if accepted(middle) else (low, middle)
        return low

    def refused_with() -> str:
        return ", ".join(sorted(codes)) or "-"

    if not accepted(LARGE_TRUST_CHARS):
        floor = shortest_trust(run.account_id)
        if not accepted(floor):
            return BROKEN, f"even a {floor}-character trust policy was refused ({refused_with()})"
        best = longest(floor, LARGE_TRUST_CHARS)
        return BROKEN, (f"the longest trust policy accepted is {best} characters, shorter than the "
                        f"{LARGE_TRUST_CHARS} the emulator admits (refused with {refused_with()})")
    if accepted(TRUST_PROBE_CEILING):
        return HELD, f"trust policies of {TRUST_PROBE_CEILING} characters and more are accepted"
    best = longest(LARGE_TRUST_CHARS, TRUST_PROBE_CEILING)
    note = "" if codes == {LENGTH_CODE} else f"; the refusal was not only {LENGTH_CODE}"
    return HELD, (f"the longest trust policy accepted is {best} characters (the emulator admits "
                  f"{LARGE_TRUST_CHARS}); longer ones were refused with {refused_with()}{note}")


def check_quarantine_trust(run: Run) -> tuple[str, str]:
    from shared.policies.trust import nobody_trust

    nobody = nobody_trust(run.account_id)
    text = _compact(nobody)
    created = run.create("nobody", text)
    updated = run.guarded("quarantine")
    run.ram.update_role(updated, text)
    for name in (created, updated):
        role = run.ram.get_role(name)
        stored = json.loads(role.trust_policy) if role is not None and role.trust_policy else None
        if stored != nobody:
            return BROKEN, f"GetRole {name} answered a different trust policy than the one written"
    return HELD, "CreateRole and UpdateRole both accepted the quarantine trust policy, and GetRole returns it"


def check_tag_value_acs(run: Run) -> tuple[str, str]:
    name = run.guarded("acs")
    try:
        run.ram.tag_role(name, [{"Key": f"{PREFIX}value", "Value": "acs:canary"}])
    except Exception as exc:
        code = _code(exc)
        if code.startswith("InvalidParameter"):
            return HELD, f"TagResources refused a value starting with acs: ({code})"
        return BROKEN, f"TagResources failed, but not as a parameter refusal: {_error_text(exc)}"
    return BROKEN, "TagResources accepted a tag value starting with acs:"


def _assume(factory: Any, role_arn: str, external_id: str | None) -> str | None:
    """None when AssumeRole succeeds, else the refusal's code."""
    from shared.sts import assume_role

    try:
        assume_role(factory, role_arn, "rolegate-canary", duration_seconds=900, external_id=external_id,
                    safe_to_retry=False)
    except Exception as exc:
        return _code(exc)
    return None


def _assume_settled(run: Run, factory: Any, role_arn: str, external_id: str | None) -> str | None:
    """AssumeRole that should succeed, retried while the refusal may only mean "not propagated yet"."""
    deadline = time.monotonic() + run.settle_seconds
    while True:
        code = _assume(factory, role_arn, external_id)
        if code is None or code not in NOT_YET or time.monotonic() >= deadline:
            return code
        run.sleep(1.0)


def check_external_id(run: Run) -> tuple[str, str]:
    from shared.policies.principals import role_arn
    from shared.sts import caller_identity

    found = run.assumer()
    if found is None:
        raise _Skip(f"needs a second principal: the operator is the account's root, which cannot call "
                    f"AssumeRole; run as a RAM user or role allowed sts:AssumeRole, or set {ASSUMER_KEY_ENV} "
                    f"and {ASSUMER_SECRET_ENV}")
    factory, who = found
    assumer_account = caller_identity(factory).account_id
    external_id = f"{PREFIX}{_token(16)}"
    control = run.create("open", open_trust(assumer_account))
    guarded = run.create("extid", guarded_trust(assumer_account, external_id))
    def arn(name: str) -> str:
        return role_arn(run.account_id, name)

    code = _assume_settled(run, factory, arn(control), None)
    if code is not None:
        raise _Skip(f"{who} could not assume a role trusting its account without conditions ({code}): "
                    "allow it sts:AssumeRole")
    code = _assume_settled(run, factory, arn(guarded), external_id)
    if code is not None:
        return BROKEN, f"refused even with the right ExternalId ({code}): sts:ExternalId is not the key RAM checks?"
    missing = _assume(factory, arn(guarded), None)
    wrong = _assume(factory, arn(guarded), f"{PREFIX}{_token(16)}")
    if missing is None or wrong is None:
        which = "without an ExternalId" if missing is None else "with a wrong ExternalId"
        return BROKEN, f"AssumeRole succeeded {which}"
    return HELD, (f"as {who}: refused without an ExternalId ({missing}) and with a wrong one ({wrong}), "
                  "admitted with the right one")


def check_event_delivery(run: Run) -> tuple[str, str]:
    name = run.guarded("event")
    run.ram.tag_role(name, [{"Key": f"{PREFIX}event", "Value": run.run_id}])
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return MANUAL, (f"TagResources on {name} at {when}: on the default event bus of cn-hangzhou (China site) or "
                    "ap-southeast-1 (international site), look for a ram:ActionTrail:ApiCall event with "
                    "data.eventName TagResources naming it (EventBridge event tracking, or a rule logging the bus); "
                    "note its source and data.serviceName, and that no other region received it")


CHECKS: tuple[Check, ...] = (
    Check("RAM-TAG-LIMIT", "20 tags of 256-character values on one role", check_tag_limit),
    Check("RAM-LISTROLES-TAGS", "ListRoles returns every tag of a role", check_listroles_tags),
    Check("RAM-LISTROLES-TAG-FILTER", "ListRoles tag filters are ANDed", check_listroles_filter),
    Check("RAM-ROLE-NAME-CASE", "role names compare case-insensitively", check_name_case),
    Check("RAM-ROLE-ARN", "a role's ARN carries its name lower-cased", check_arn_case),
    Check("RAM-CREATEROLE-REQUEST-SIZE", "a full CreateRole (max tags, large trust) fits one request",
          check_request_size),
    Check("RAM-TRUST-LENGTH", "the longest trust policy accepted", check_trust_length),
    Check("RAM-TRUST-NOBODY", "the trust policy that admits nobody is accepted", check_quarantine_trust),
    Check("RAM-TAG-VALUE-ACS", "tag values starting with acs: are refused", check_tag_value_acs),
    Check("STS-EXTERNALID-KEY", "sts:ExternalId refuses a missing or wrong ExternalId", check_external_id),
    Check("AT-RAM-TAG-EVENTS", "a tag change reaches EventBridge in the RAM event region", check_event_delivery),
)


# ------------------------------------------------------------------ signals
@contextlib.contextmanager
def _signals(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM while inside (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _hold_off(signum: int, frame: Any) -> None:
    """Cleanup is not interrupted: a signal during it is noted on stderr and otherwise ignored."""
    click.echo(f"{signal.Signals(signum).name}: finishing the cleanup first", err=True)


# ------------------------------------------------------------------ cleanup
def remove_roles(ram: Any, names: list[str]) -> Cleanup:
    """Detach whatever is attached, then delete; a role already gone counts as removed."""
    done = Cleanup()
    for name in dict.fromkeys(reversed(names)):
        try:
            for kind, policy in ram.policies_for_role(name):
                ram.detach(name, kind, policy)
            ram.delete_role(name)
        except Exception as exc:
            done.failed.append({"role": name, "error": _error_text(exc)})
        else:
            done.removed.append(name)
    return done


def leftovers(ram: Any) -> list[str]:
    return [role.name for role in ram.list_roles() if role.name.lower().startswith(PREFIX)]


# --------------------------------------------------------------------- runs
def run_checks(operator: Any, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
               assumer_keys: tuple[str, str] | None = None, checks: tuple[Check, ...] | None = None) -> Report:
    """Every check in order (default :data:`CHECKS`), then the cleanup, which runs whatever happened before it."""
    checks = CHECKS if checks is None else checks
    run = Run(operator, settle_seconds, assumer_keys)
    report = Report(run.run_id, run.account_id)
    try:
        with _signals(_raise_interrupted):
            for check in checks:
                report.outcomes.append(check.outcome(run))
    except (Interrupted, KeyboardInterrupt) as exc:
        report.interrupted = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
        report.outcomes += [Outcome(c.entry, c.title, SKIPPED, f"skipped: interrupted by {report.interrupted}")
                            for c in checks[len(report.outcomes):]]
    finally:
        with _signals(_hold_off):
            report.cleanup = remove_roles(run.ram, run.created)
    return report


def _assumer_keys() -> tuple[str, str] | None:
    key_id, secret = os.environ.get(ASSUMER_KEY_ENV), os.environ.get(ASSUMER_SECRET_ENV)
    if bool(key_id) != bool(secret):
        raise click.UsageError(f"Set both {ASSUMER_KEY_ENV} and {ASSUMER_SECRET_ENV}, or neither.")
    return (key_id, secret) if key_id and secret else None


def _print_report(report: Report) -> None:
    marks = {HELD: "[green]held[/green]", BROKEN: "[red]broken[/red]", SKIPPED: "[yellow]skipped[/yellow]",
             MANUAL: "[cyan]manual[/cyan]"}
    rows = [[o.entry, o.check, marks.get(o.result, o.result), o.detail] for o in report.outcomes]
    output().table(f"Canary {report.run_id} in account {report.account_id}", ["Entry", "Check", "Result", "Detail"],
                   rows)
    _print_cleanup(report.cleanup)


def _print_cleanup(cleanup: Cleanup) -> None:
    err = output().err
    err.print(f"cleanup: removed {len(cleanup.removed)} role(s)" + (f" ({', '.join(cleanup.removed)})"
                                                                    if cleanup.removed else ""))
    for item in cleanup.failed:
        err.print(f"[red]cleanup: could not remove {item['role']}: {item['error']}[/red] "
                  "(run `rolegate canary --cleanup` later)")


@click.command()
@cloud_options
@click.option("--cleanup", "cleanup_only", is_flag=True,
              help=f"Only remove the {PREFIX}* roles an earlier run left behind; check nothing.")
@click.option("--settle-seconds", type=click.FloatRange(min=0), default=DEFAULT_SETTLE_SECONDS, show_default=True,
              help="How long an AssumeRole that should succeed is retried while a new role propagates.")
@json_option
def canary(endpoint: str | None, region: str | None, owner_account: str | None, cleanup_only: bool,
           settle_seconds: float, as_json: bool) -> None:
    """Try the unverified entries of docs/cloud-fidelity.md in a scratch account; exit 1 if one broke.

    Creates only roles named rolegate-canary-<run>-..., and removes them all at
    the end, also after a failure, Ctrl-C or SIGTERM. The ExternalId check needs
    a second principal: the operator itself if it is not the account's root,
    else ROLEGATE_CANARY_ASSUMER_ACCESS_KEY_ID/_SECRET.
    """
    from shared.ram import RamGateway

    ctx = click.get_current_context()
    if not ctx.find_root().params.get("verbose") and output().log_level is None:
        # The checks provoke refusals on purpose; the core would log each one as a warning.
        ctx.with_resource(patched_environ({"ROLEGATE_LOG_LEVEL": "error"}))
    operator = session(endpoint, region, owner_account)
    if cleanup_only:
        ram = RamGateway(operator.factory.ram())
        with _signals(_hold_off):
            done = remove_roles(ram, leftovers(ram))
        if as_json:
            output().json({"ok": not done.failed, "cleanup": done.to_dict()})
        else:
            _print_cleanup(done)
        if done.failed:
            raise click.exceptions.Exit(1)
        return
    assumer_keys = _assumer_keys()
    with output().working("Running the canary checks"):
        report = run_checks(operator, settle_seconds, assumer_keys)
    if as_json:
        output().json(report.to_dict())
    else:
        _print_report(report)
    if report.interrupted:
        click.echo(f"error: interrupted by {report.interrupted}; the roles made so far were removed", err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)


__all__ = ["CHECKS", "Check", "Cleanup", "Interrupted", "Outcome", "PREFIX", "Report", "canary", "leftovers",
           "remove_roles", "run_checks"]
