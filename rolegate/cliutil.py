"""Plumbing shared by the ``rolegate`` commands: output, errors and exit codes, the cloud flags.

Exit codes, decided here and nowhere else (:func:`exit_code_for`):

* 0 -- done (for ``lint``, ``verify`` and ``members list``: nothing failed);
* 1 -- the operation was refused or failed: a grant refused by the webhook's
  rules (every 4xx it would answer: a denied policy, an expiry out of range, a
  missing field), a grant not found, an error or no answer from the cloud
  (an unreachable endpoint included), lint findings, failed checks, a member
  not ready (``members list``) or not enrolled (``members enroll``), a member
  whose access role cannot be assumed (``grants --account``);
* 2 -- the command line or the local configuration is wrong, so nothing was
  asked: an unknown flag, a value of the wrong type, missing or clashing
  flags, an unreadable file, a malformed ``--endpoint``, ``--owner-account``
  or ``--account``, a bad ``ROLEGATE_*`` setting, no credentials.

Every error is one line on stderr starting ``error:``, never a traceback.
"""
from __future__ import annotations

import contextlib
import functools
import json
import re
import sys
from collections.abc import Iterator
from typing import Any, Callable

import click
from rich.console import Console
from rich.table import Table

from shared.errors import ConfigError, CredentialsNotFound, RolegateError

from rolegate.environ import patched_environ

USAGE_ERRORS = (ConfigError, CredentialsNotFound)  # the local setup, not the request: exit 2
PIPE_WIDTH = 200
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


# ----------------------------------------------------------------------- output
class Output:
    """Where answers go: the real standard output, captured before logs are diverted to stderr."""

    def __init__(self, stream: Any, log_level: str | None = None) -> None:
        self.stream = stream
        self.log_level = log_level  # as the user set it, before the CLI's own default
        # Piped output is read by tools and people copying ids: no 80-column folding there.
        width = None if getattr(stream, "isatty", lambda: False)() else PIPE_WIDTH
        self.console = Console(file=stream, emoji=False, highlight=False, soft_wrap=True, width=width)
        self.err = Console(file=sys.stderr, emoji=False, highlight=False, soft_wrap=True)

    def json(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str), file=self.stream)

    def table(self, title: str | None, columns: list[str], rows: list[list[Any]], keep: int = 1) -> None:
        """A table whose first ``keep`` columns (ids) are never wrapped; the others fold when narrow."""
        table = Table(title=title, title_justify="left")
        for index, column in enumerate(columns):
            table.add_column(column, overflow="fold", no_wrap=index < keep)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.console.print(table)

    @contextlib.contextmanager
    def working(self, description: str) -> Iterator[None]:
        """A spinner with elapsed time on stderr while the core works."""
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=self.err, transient=True) as progress:
            progress.add_task(description, total=None)
            yield


def output() -> Output:
    """The running command's output (set up by the ``rolegate`` group)."""
    return click.get_current_context().find_root().obj


def one_line(exc: RolegateError) -> str:
    """``Code: message (field x)``: what a person needs, in one line."""
    text = f"{exc.code}: {exc.message}"
    if exc.field and exc.field not in exc.message:
        text += f" (field {exc.field})"
    return _flat(text)


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an error that ended a command (module docstring)."""
    if isinstance(exc, (click.UsageError, click.FileError)):
        return 2
    if isinstance(exc, click.ClickException):
        return exc.exit_code
    if isinstance(exc, RolegateError):
        return 2 if isinstance(exc, USAGE_ERRORS) else 1
    return 1


def error_line(exc: BaseException) -> str:
    """The one ``error:`` line for an error that ended a command."""
    if isinstance(exc, RolegateError):
        return f"error: {one_line(exc)}"
    if isinstance(exc, click.UsageError):
        hint = ""
        if exc.ctx is not None and exc.ctx.command.get_help_option(exc.ctx) is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        return f"error: {_flat(exc.format_message())}{hint}"
    if isinstance(exc, click.ClickException):
        return f"error: {_flat(exc.format_message())}"
    if isinstance(exc, click.Abort):
        return "error: interrupted"
    return f"error: unexpected {type(exc).__name__}: {_flat(str(exc))} (run with -v for the traceback)"


class RolegateGroup(click.Group):
    """The root command: applies the exit-code rule and prints every error as one line.

    The shared core logs JSON lines to standard output; while a command runs,
    standard output goes to stderr, so that the real standard output
    (:class:`Output`) carries only the answer. Help and usage text are printed
    before that, on standard output.
    """

    verbose = False

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _divert_logs(cmd)
        super().add_command(cmd, name)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        RolegateGroup.verbose = False
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 (every way a command can end is mapped here)
            if isinstance(exc, KeyboardInterrupt):
                exc = click.Abort()
            if RolegateGroup.verbose and not isinstance(exc, (RolegateError, click.ClickException, click.Abort)):
                import traceback

                traceback.print_exception(exc, file=sys.stderr)
            click.echo(error_line(exc), err=True)
            code = exit_code_for(exc)
        if standalone_mode:
            sys.exit(code)
        return code


def _divert_logs(cmd: click.Command) -> None:
    """Run ``cmd``'s callback (each subcommand's, for a group) with standard output sent to stderr."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _divert_logs(sub)
        return
    callback = cmd.callback
    if callback is None or getattr(callback, "_rolegate_diverted", False):
        return

    @functools.wraps(callback)
    def diverted(*args: Any, **kwargs: Any) -> Any:
        with contextlib.redirect_stdout(sys.stderr):
            return callback(*args, **kwargs)

    diverted._rolegate_diverted = True  # type: ignore[attr-defined]
    cmd.callback = diverted


@contextlib.contextmanager
def silenced(logger_name: str) -> Iterator[None]:
    """Mute a library logger for the command (the credentials library logs a traceback per provider it tries)."""
    import logging

    logger = logging.getLogger(logger_name)
    before, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = before


# ------------------------------------------------------------------ cloud flags
def cloud_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--endpoint``, ``--region``, ``--owner-account``: where the operator's calls go."""
    command = click.option("--owner-account", envvar="ROLEGATE_OWNER_ACCOUNT_ID", metavar="ID",
                           help="Account holding the grants (default: the credentials' own).")(command)
    return location_options(command)


def location_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--endpoint`` and ``--region``: the cloud (or the local host's emulator) and the region calls go to."""
    command = click.option("--region", envvar="ROLEGATE_REGION", help="Region (default cn-hangzhou).")(command)
    command = click.option("--endpoint", envvar="ROLEGATE_ENDPOINT", metavar="HOST:PORT", type=ENDPOINT,
                           help="Send every call here (the local host's emulator) instead of the cloud.")(command)
    return command


class Endpoint(click.ParamType):
    """``host:port`` (a scheme and a trailing slash are allowed and dropped), checked before any call."""

    name = "endpoint"
    _HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.(?!$)|$))+$|^\[[0-9A-Fa-f:.]+\]$")

    def convert(self, value: Any, param: Any, ctx: Any) -> str | None:
        text = str(value).strip()
        if not text:
            return None
        bare = re.sub(r"^https?://", "", text, flags=re.IGNORECASE).rstrip("/")
        host, _, port = bare.rpartition(":") if not bare.endswith("]") else (bare, "", "")
        if not host:
            host, port = bare, ""
        port_ok = not port or (port.isdigit() and 0 < int(port) < 65536)
        if not self._HOST.match(host) or not port_ok:
            self.fail(f"{value!r} is not host:port (e.g. 127.0.0.1:8780)", param, ctx)
        return bare


ENDPOINT = Endpoint()


account_option = click.option(
    "--account", metavar="ID",
    help="Act on the grants of this member account, reached through its ResourceDirectoryAccountAccessRole; "
         "records are still signed with the record key of the credentials' own account (the hub).")


def session(endpoint: str | None, region: str | None, owner_account: str | None,
            account: str | None = None) -> Any:
    """The operator's session; the flags become the environment the shared core reads (for this command).

    With ``account`` (``--account``), ``--owner-account`` on the command line
    may only repeat it; ``ROLEGATE_OWNER_ACCOUNT_ID`` from the environment
    still names the operator's own account (the hub), so a profile setting
    it does not clash.
    """
    from click.core import ParameterSource

    from rolegate.operator import OperatorSession

    ctx = click.get_current_context()
    ctx.with_resource(patched_environ({"ROLEGATE_ENDPOINT": endpoint, "ROLEGATE_REGION": region}))
    if account is not None and ctx.get_parameter_source("owner_account") is ParameterSource.COMMANDLINE:
        if owner_account != account:
            raise click.UsageError(f"--owner-account {owner_account} and --account {account} name different "
                                   "accounts: give --account alone to act on a member's grants.")
        owner_account = None
    return OperatorSession(owner_account, account)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
dry_run_option = click.option("--dry-run", is_flag=True, help="Show the calls it would make; change nothing.")


class Duration(click.ParamType):
    """Seconds, or ``90m``, ``12h``, ``7d``, ``1d12h``."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        match = _DURATION.match(text)
        if not text or not match or not any(match.groups()):
            self.fail(f"{value!r} is not a duration (seconds, or e.g. 90m, 12h, 7d)", param, ctx)
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


DURATION = Duration()


def expiry_body(duration: int | None, expires_at: str | None) -> dict[str, Any]:
    """The request's expiry: exactly one of a lifetime and an instant."""
    if (duration is None) == (expires_at is None):
        raise click.UsageError("Give exactly one of --duration and --expires-at.")
    return {"duration_seconds": duration} if duration is not None else {"expires_at": expires_at}


def plan_table(title: str, planned: list[dict[str, Any]]) -> None:
    """The calls a dry run would make, each with its parameters."""
    rows = [[call["action"], json.dumps({k: v for k, v in call.items() if k != "action"}, default=str)]
            for call in planned]
    output().table(title, ["Call", "Parameters"], rows)


__all__ = ["DURATION", "ENDPOINT", "Output", "RolegateGroup", "USAGE_ERRORS", "account_option", "cloud_options",
           "dry_run_option", "expiry_body", "error_line", "exit_code_for", "json_option", "one_line", "output",
           "plan_table", "session", "silenced"]
