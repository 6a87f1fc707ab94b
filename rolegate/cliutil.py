"""Plumbing shared by the ``rolegate`` commands: output, errors and exit codes, the cloud flags.

Exit codes: 0 done; 1 findings, a refusal or a failed operation; 2 a usage or
configuration error (bad flag or input, missing setting, no credentials). A
Rolegate error is one line on stderr, never a traceback.
"""
from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator
from typing import Any, Callable

import click
from rich.console import Console
from rich.table import Table

from shared.errors import ConfigError, CredentialsNotFound, InvalidInput, RolegateError, Unprocessable

from rolegate.environ import patched_environ

USAGE_ERRORS = (InvalidInput, Unprocessable, ConfigError, CredentialsNotFound)
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
    return text


class RolegateGroup(click.Group):
    """Turns a Rolegate error anywhere below into one line and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RolegateError as exc:
            click.echo(f"error: {one_line(exc)}", err=True)
            ctx.exit(2 if isinstance(exc, USAGE_ERRORS) else 1)


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
    command = click.option("--region", envvar="ROLEGATE_REGION", help="Region (default cn-hangzhou).")(command)
    command = click.option("--endpoint", envvar="ROLEGATE_ENDPOINT", metavar="HOST:PORT",
                           help="Send every call here (the local host's emulator) instead of the cloud.")(command)
    return command


def session(endpoint: str | None, region: str | None, owner_account: str | None) -> Any:
    """The operator's session; the flags become the environment the shared core reads (for this command)."""
    from rolegate.operator import OperatorSession

    ctx = click.get_current_context()
    ctx.with_resource(patched_environ({"ROLEGATE_ENDPOINT": endpoint, "ROLEGATE_REGION": region}))
    return OperatorSession(owner_account)


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


__all__ = ["DURATION", "Output", "RolegateGroup", "USAGE_ERRORS", "cloud_options", "dry_run_option", "expiry_body",
           "json_option", "one_line", "output", "plan_table", "session", "silenced"]
