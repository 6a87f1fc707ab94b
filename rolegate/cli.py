"""The ``rolegate`` command (also ``python -m rolegate``).

Cloud commands (``grants``, ``sweep``, ``query``, ``verify``) act through the
shared core with the operator's credentials (:mod:`rolegate.operator`): the
default credential chain against the real cloud, or with ``--endpoint
127.0.0.1:PORT`` (or ``ROLEGATE_ENDPOINT``) against the local host's emulator.
The same flags work for both.

Exit codes, one rule for every command (applied in :mod:`rolegate.cliutil`):

* 0 -- done;
* 1 -- the operation was refused or failed: whatever the webhook would refuse
  with a 4xx (a denied policy, an expiry out of range, a missing field), a
  grant not found, a cloud error or an unreachable endpoint, lint findings,
  a failed ``verify`` check;
* 2 -- the command line or the local configuration is wrong and nothing was
  asked: unknown or clashing flags, a value of the wrong type, a malformed
  ``--endpoint``, a bad ``ROLEGATE_*`` setting, no credentials.

Every error is one line on stderr, ``error: ...``. Help goes to standard
output. The shared core's JSON log lines go to stderr (warnings and up; all
with ``-v``), so standard output carries only the answer (``--json`` for
machines).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from rolegate.canary import canary
from rolegate.cli_clients import clients
from rolegate.cli_grants import grants
from rolegate.cli_idp import idp
from rolegate.cli_keys import keys
from rolegate.cli_members import members
from rolegate.cliutil import (Output, RolegateGroup, cloud_options, dry_run_option, json_option, one_line, output,
                              plan_table, session, silenced)
from rolegate.environ import patched_environ
from rolegate.project import FUNCTIONS


@click.group(cls=RolegateGroup)
@click.option("-v", "--verbose", is_flag=True, help="Show the shared core's info log lines (on stderr).")
@click.option("--local", "use_local", is_flag=True,
              help="Act on the running local host (`make local`) with the profile it wrote: its endpoint, "
                   "operator keys, record key and webhook secret.")
@click.pass_context
def main(ctx: click.Context, verbose: bool, use_local: bool) -> None:
    """Rolegate: partner access on Alibaba Cloud with RAM roles, from the operator's side."""
    if use_local:
        from rolegate import localprofile

        ctx.with_resource(patched_environ(localprofile.load()))
    ctx.obj = Output(sys.stdout, os.environ.get("ROLEGATE_LOG_LEVEL"))
    level = "info" if verbose else ctx.obj.log_level or "warning"
    ctx.with_resource(patched_environ({"ROLEGATE_LOG_LEVEL": level}))
    RolegateGroup.verbose = verbose
    if not verbose:
        ctx.with_resource(silenced("credentials"))


main.add_command(grants)
main.add_command(keys)
main.add_command(idp)
main.add_command(canary)
main.add_command(clients)
main.add_command(members)


# ------------------------------------------------------------------------ sweep
@main.command()
@cloud_options
@dry_run_option
@click.option("--grace-seconds", type=int, help="Revoke only grants expired longer ago than this.")
@click.option("--max-revocations", type=int, help="Start at most this many revocations.")
@click.option("--max-share", type=float, help="Blast-radius guard: largest share of grants one run may revoke.")
@json_option
def sweep(endpoint: str | None, region: str | None, owner_account: str | None, dry_run: bool,
          grace_seconds: int | None, max_revocations: int | None, max_share: float | None, as_json: bool) -> None:
    """Revoke every expired grant now, as the timer's sweep does (settings from ROLEGATE_SWEEP_*, members from
    ROLEGATE_MEMBERS, each reached as its manager role if these credentials may assume it)."""
    from shared.deadline import Deadline
    from shared.members import Members
    from shared.sweep import Sweep, SweepFailed, SweepSettings, options_from_event

    given = {"dry_run": dry_run or None, "grace_seconds": grace_seconds, "max_revocations": max_revocations,
             "max_share": max_share}
    options = options_from_event({k: v for k, v in given.items() if v is not None})
    operator = session(endpoint, region, owner_account)
    settings = SweepSettings.from_env().with_options(options)
    members = Members(operator.owner_account, operator.factory, assumer=operator.assumer())
    runner = Sweep(settings, operator.factory, operator.owner_account, Deadline(None), members)
    failure: SweepFailed | None = None
    with output().working(f"Sweeping {operator.owner_account}{' and its members' if members.enabled else ''}"):
        try:
            summary = runner.run()
        except SweepFailed as exc:
            summary, failure = exc.summary, exc
    if as_json:
        output().json(summary)
    else:
        _sweep_table(summary)
    if failure is not None:
        click.echo(f"error: {one_line(failure)}", err=True)
        raise click.exceptions.Exit(1)
    if summary.get("failed"):
        raise click.exceptions.Exit(1)


def _sweep_table(summary: dict[str, Any]) -> None:
    keys = ["examined", "expired", "would_revoke" if summary.get("dry_run") else "revoked", "already_gone",
            "left_for_next_run", "expiring_soon"]
    rows = [[key.replace("_", " "), summary.get(key, 0)] for key in keys]
    rows += [[key.replace("_", " "), len(summary.get(key) or [])] for key in ("failed", "unreadable_records",
                                                                             "disarmed")]
    title = "Sweep (dry run)" if summary.get("dry_run") else "Sweep"
    output().table(title, ["", "grants"], rows)
    for item in summary.get("planned") or []:
        where = f" in {item['account_id']}" if "account_id" in item else ""
        plan_table(f"Would revoke {item.get('grant_id') or item['role']}{where}: role {item['role']}, partner "
                   f"{item.get('partner')}, expired {item['expires_at']}", item["calls"])
    for item in summary.get("disarmed") or []:
        output().console.print(f"{'Would disarm' if summary.get('dry_run') else 'Disarmed'} {item['role']}: "
                               f"{json.dumps(item['actions'], default=str)}")
    for item in summary.get("failed") or []:
        output().err.print(f"failed: {json.dumps(item, default=str)}")


# ------------------------------------------------------------------------ query
@main.command()
@cloud_options
@click.option("--account", required=True, metavar="ID", help="Account to look into.")
@click.option("--role", required=True, help="Role granted to you there: a name or its ARN.")
@click.option("--external-id", help="ExternalId the role's trust policy asks for.")
@click.option("--kind", type=click.Choice(["functions", "services"]), default="functions", show_default=True,
              help="FC 3.0 functions, or FC 2.0 services.")
@click.option("--prefix", help="Only names starting with this.")
@json_option
def query(endpoint: str | None, region: str | None, owner_account: str | None, account: str, role: str,
          external_id: str | None, kind: str, prefix: str | None, as_json: bool) -> None:
    """Assume a granted role and list what it reaches in Function Compute (as the query function does)."""
    from shared.deadline import Deadline
    from shared.query import Query, QuerySettings, parse_query
    from shared.query.budget import TimeBudget

    target: dict[str, Any] = {"account_id": account, **({"role_arn": role} if role.startswith("acs:") else
                                                         {"role_name": role})}
    if external_id is not None:
        target["external_id"] = external_id
    if region is not None:
        target["region"] = region
    body = {"targets": [target], "kind": kind, **({"prefix": prefix} if prefix else {})}
    operator = session(endpoint, region, owner_account)
    settings = QuerySettings.from_env()
    request = parse_query(body, settings)
    started = time.monotonic()
    budget = TimeBudget(Deadline(started + settings.deadline_seconds), settings.deadline_seconds)
    with output().working(f"Assuming {request.targets[0].role_arn} and listing {kind}"):
        result = Query(request, settings, operator.assumer(), budget).run()[0]
    data = result.to_dict(kind)
    if as_json:
        output().json(data)
    elif result.ok:
        _query_table(data, kind)
    if not result.ok:
        error = result.error or {}
        click.echo(f"error: {error.get('code')}: {error.get('message')}", err=True)
        raise click.exceptions.Exit(1)


def _query_table(data: dict[str, Any], kind: str) -> None:
    items = data["items"]
    if kind == "functions":
        columns = ["Function", "Runtime", "Memory (MB)", "Timeout (s)", "Role", "Last modified"]
        rows = [[i["name"], i["runtime"], i["memory_mb"], i["timeout_seconds"], i["role"], i["last_modified"]]
                for i in items]
    else:
        columns = ["Service", "Description", "Role", "Internet", "Last modified"]
        rows = [[i["name"], i["description"], i["role"], i["internet_access"], i["last_modified"]] for i in items]
    title = f"{len(items)} {kind} in {data['account_id']} ({data['region']}) as {data['caller']}"
    output().table(title, columns, rows)


# ------------------------------------------------------------------------- lint
@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--trust", is_flag=True, help="Lint a trust policy (who may assume a role) instead of a "
                                            "permission policy.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]), default="high",
              show_default=True, help="Exit 1 on a finding this severe or worse (grammar findings always fail).")
@click.option("--exceptions", "exceptions_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Justified exceptions (JSON, keyed by FILE's name); default: lint-exceptions.json in FILE's "
                   "folder or the one above (deploy/lint-exceptions.json for deploy/policies/*.json).")
@click.option("--no-exceptions", is_flag=True, help="Ignore any exceptions file.")
@click.option("--prefix", default="rolegate", show_default=True,
              help="Namespace of Rolegate's own resources, which a permission policy must not reach.")
@json_option
def lint(file: Any, trust: bool, fail_on: str, exceptions_path: Path | None, no_exceptions: bool, prefix: str,
         as_json: bool) -> None:
    """Judge a policy document (FILE, or - for stdin) as onboarding does; exit 1 on findings at --fail-on or worse."""
    from shared.policies.findings import max_severity
    from shared.policies.lint import lint_trust_policy
    from shared.policies.document import PolicyDocumentError, parse_policy
    from shared.policies.judgment import judge
    from shared.policies.protected import PREFIX_RE, Protected

    from rolegate.verify import exceptions_near, failing, load_exceptions, split_excepted

    if not PREFIX_RE.match(prefix):
        raise click.BadParameter("1-32 lowercase letters, digits or '-', starting with a letter", param_hint="--prefix")
    text = file.read()
    findings = lint_trust_policy(text) if trust else list(judge(text, Protected.rolegate(prefix)).findings)
    exceptions = []
    if not trust and not no_exceptions and file.name != "<stdin>":
        source = exceptions_path or exceptions_near(Path(file.name))
        try:
            exceptions = load_exceptions(source, Path(file.name).name)
        except (ValueError, KeyError, TypeError) as exc:
            raise click.BadParameter(f"{source} is not an exceptions file: {exc}", param_hint="--exceptions")
    try:
        document = parse_policy(text)
    except PolicyDocumentError:
        document = None
    kept, excepted = split_excepted(findings, document, exceptions)
    failed = failing(kept, fail_on)  # type: ignore[arg-type]
    worst = max_severity(kept)
    if as_json:
        output().json({"findings": [f.to_dict() for f in kept], "worst": worst, "ok": not failed,
                       "fail_on": fail_on,
                       "excepted": [{**f.to_dict(), "why": e.why} for f, e in excepted]})
    elif findings:
        rows = [[f.severity, f.id, f.path, f.message, f.hint] for f in kept]
        rows += [[f"{f.severity} (excepted)", f.id, f.path, f.message, e.why] for f, e in excepted]
        output().table(f"{len(findings)} finding(s) in {file.name}", ["Severity", "Rule", "Where", "Finding", "Fix"],
                       rows)
    else:
        output().console.print(f"{file.name}: no findings")
    if failed:
        raise click.exceptions.Exit(1)


# ----------------------------------------------------------------------- verify
def _load_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{path}:{number} is not NAME=value", param_hint="--env-file")
        values[name.strip()] = value.strip().strip("'\"")
    return values


@main.command()
@cloud_options
@click.option("--function", "functions", multiple=True, type=click.Choice(FUNCTIONS),
              help="Check this function's settings and policy (repeatable; default all four).")
@click.option("--env-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="NAME=value lines to check (the function's environment), applied over the current one.")
@json_option
def verify(endpoint: str | None, region: str | None, owner_account: str | None, functions: tuple[str, ...],
           env_file: Path | None, as_json: bool) -> None:
    """Check a deployment's settings, credentials and RAM policies; exit 1 if any check fails."""
    from rolegate.verify import verify as run_checks

    if env_file is not None:
        click.get_current_context().with_resource(patched_environ(_load_env_file(env_file)))
    operator = session(endpoint, region, owner_account)
    checks = run_checks(functions or FUNCTIONS, operator)
    if as_json:
        output().json({"ok": all(c.ok for c in checks), "checks": [c.__dict__ for c in checks]})
    else:
        marks = {True: "[green]✓[/green]", False: "[red]✗[/red]"}
        table = Table(title="Deployment checks", title_justify="left")
        for column in ("", "Check", "Detail"):
            table.add_column(column, overflow="fold")
        for check in checks:
            table.add_row("[yellow]![/yellow]" if check.noted else marks[check.ok], check.name, check.detail)
        output().console.print(table)
    if not all(c.ok for c in checks):
        raise click.exceptions.Exit(1)


# ------------------------------------------------------------------------- sign
@main.command()
@click.argument("method")
@click.argument("path")
@click.argument("body", required=False, default="")
@click.option("--secret", help="The secret to sign with (default: ROLEGATE_CLIENT_SECRET with --client, "
                                "ROLEGATE_WEBHOOK_SECRET without); the environment keeps it out of the process list.")
@click.option("--client", help="Sign as this named client (`rolegate clients add`): its name is signed and sent.")
@click.option("--timestamp", type=int, help="Unix seconds to sign with (default now).")
def sign(method: str, path: str, body: str, secret: str | None, client: str | None, timestamp: int | None) -> None:
    """Print the webhook signature headers for one request, as curl config: curl -K <(rolegate sign ...).

    PATH is the path the function sees (e.g. /grants/g-abcdefghijkl, no query
    string); BODY exactly the bytes sent (quote it once, use it twice).
    """
    from rolegate.webhook import curl_config, signature_headers
    from shared.config import KMS_REFERENCE
    from shared.onboarding.clients import NAME_RE

    if client is not None and not NAME_RE.match(client):
        raise click.BadParameter("1-63 lower-case letters, digits or '-', starting with a letter",
                                 param_hint="--client")
    # A client's secret has its own variable: the shared secret, often set beside it, would only sign a 401.
    setting = "ROLEGATE_CLIENT_SECRET" if client else "ROLEGATE_WEBHOOK_SECRET"
    secret = secret or os.environ.get(setting)
    if not secret:
        raise click.UsageError(f"No secret to sign with: pass --secret or set {setting}.")
    if client is None and secret.startswith(KMS_REFERENCE):  # what `rolegate keys init` prints for the function
        raise click.UsageError(f"{setting} names the KMS secret that holds the key ({secret}); sign with the key "
                               "itself: `rolegate keys webhook-secret` prints it.")
    if not path.startswith("/") or "?" in path:
        raise click.BadParameter("must start with / and carry no query string", param_hint="PATH")
    click.echo(curl_config(signature_headers(secret, method, path, body.encode("utf-8"), timestamp, client)),
               file=output().stream, nl=False)


# ------------------------------------------------------------- demo and local
@main.command()
@click.option("--keep-running", is_flag=True, help="Leave the local host up after the demo (Ctrl-C stops it).")
@click.pass_context
def demo(ctx: click.Context, keep_running: bool) -> None:
    """Walk one grant through its whole life on the local host; exit 0 only if every step held."""
    from rolegate import demo as walkthrough

    verbose = ctx.find_root().params.get("verbose", False)
    code = walkthrough.run(output().console, verbose=verbose, keep_running=keep_running, after=_serve_until_interrupt)
    ctx.exit(code)


@main.command()
@click.option("--port", "base_port", type=int, default=None, show_default="8780",
              help="First port: the emulator; the functions and the control server take the next ones. "
                   "0 picks free ports.")
@click.option("--webhook-secret", envvar="ROLEGATE_WEBHOOK_SECRET",
              help="Secret the webhook checks signatures with (default: a fresh random one).")
@click.option("--no-timer", is_flag=True, help="Do not fire the timer on its schedule (POST /timers/<name> still "
                                               "does).")
def local(base_port: int | None, webhook_secret: str | None, no_timer: bool) -> None:
    """Run the emulator and all four functions on 127.0.0.1 until Ctrl-C."""
    from rolegate.localhost import DEFAULT_BASE_PORT, LocalHost

    out = output()
    # The functions' own log lines (stderr) are what a local run is for: info unless the user chose.
    click.get_current_context().with_resource(patched_environ({"ROLEGATE_LOG_LEVEL": out.log_level or "info"}))
    host = LocalHost(base_port=DEFAULT_BASE_PORT if base_port is None else base_port,
                     webhook_secret=webhook_secret, schedule_timers=not no_timer,
                     say=lambda line: out.err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {line}"))
    try:
        host.start()
    except OSError as exc:
        raise click.UsageError(f"cannot start the local host: {exc} (choose another --port, or 0 for free ports)") \
            from exc
    from rolegate import localprofile

    profile = localprofile.write(host.profile())
    try:
        _serve_until_interrupt(host)
    finally:
        localprofile.remove(profile)
        host.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _serve_until_interrupt(host: Any) -> None:
    from rolegate.guide import guide

    click.echo(guide(host), file=output().stream)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the host as Ctrl-C does: profile removed, servers shut
    try:
        host.wait()
    except KeyboardInterrupt:
        click.echo("Stopping.", err=True)



@main.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def package(args: tuple[str, ...]) -> None:
    """Build each function's Function Compute code package under build/ (see `rolegate package --help`)."""
    from rolegate.package import main as package_main

    click.get_current_context().exit(package_main(list(args)))


__all__ = ["main"]
