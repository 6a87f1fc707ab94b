"""Running a query: every target on its own, several at once, all within one deadline.

Each target assumes its role (sessions reused by a warm instance) and lists
every page; its failure is its own, worded in terms of the grant. Concurrency,
the deadline and the caller identity reported: docs/design/query.md.
"""
from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from shared.clients import for_credentials
from shared.clock import Anchored
from shared.errors import CloudCallError, CloudUnavailable, RolegateError
from shared.fc import list_functions, list_services
from shared.logs import log_event
from shared.query.budget import TimeBudget
from shared.query.request import QueryRequest, Target
from shared.query.settings import QuerySettings
from shared.sts import RoleAssumer

FC_DENIED = ("NoPermission", "AccessDenied", "Forbidden")
LIST_PERMISSION = {"functions": "fc:ListFunctions", "services": "fc:ListServices"}


@dataclass(frozen=True)
class TargetResult:
    target: Target
    items: list[dict[str, Any]] | None = None
    caller: str | None = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"account_id": self.target.account_id, "role_arn": self.target.role_arn,
                               "region": self.target.region, "ok": self.ok}
        if self.ok:
            out.update(kind=kind, caller=self.caller, items=self.items)
        else:
            out["error"] = self.error
        return out


def session_arn(target: Target, session_name: str) -> str:
    """The session's ARN spelt from the request: the fallback when STS named no ``AssumedRoleUser``."""
    return f"acs:ram::{target.account_id}:assumed-role/{target.role_name}/{session_name}"


# -------------------------------------------------------------------- failures
def _assume_failure(exc: CloudCallError, target: Target) -> str:
    role = target.role_arn
    if exc.cloud_code == "EntityNotExist.Role":
        return f"the role {role} does not exist"
    if exc.cloud_code == "NoPermission":
        why = ("the trust policy does not admit this caller or the ExternalId does not match"
               if target.external_id is not None else
               "the trust policy does not admit this caller, or it requires an ExternalId and none was given")
        return (f"not allowed to assume the role {role}: {why} (or this function's own policy does not "
                "allow sts:AssumeRole on it)")
    return ""


def _list_failure(exc: CloudCallError, target: Target, kind: str) -> str:
    if exc.cloud_code in FC_DENIED:
        return (f"the role {target.role_arn} was assumed but may not list {kind} in {target.region}: "
                f"it lacks {LIST_PERMISSION[kind]}")
    return ""


def describe_failure(exc: BaseException, target: Target, kind: str, stage: str) -> dict[str, Any]:
    """The ``error`` object of a failed target: code, plain-words message, the cloud's request id."""
    if isinstance(exc, CloudCallError):
        message = _assume_failure(exc, target) if stage == "AssumeRole" else _list_failure(exc, target, kind)
        if not message and exc.cloud_code and exc.cloud_code.startswith("Throttling"):
            message = f"{exc.action} was throttled by the cloud, also after retrying; try again later"
        elif not message and isinstance(exc, CloudUnavailable):
            message = f"{exc.message} Try again later."
        return {"code": exc.cloud_code or exc.code, "message": message or exc.message, "action": exc.action,
                "request_id": exc.request_id}
    if isinstance(exc, RolegateError):
        return {"code": exc.code, "message": exc.message, "action": stage, "request_id": None}
    return {"code": "InternalError", "message": f"internal error while {stage} ({type(exc).__name__})",
            "action": stage, "request_id": None}


# ----------------------------------------------------------------------- query
class Query:
    """One request's run: targets, settings, the assumer and the shared deadline.

    Cached sessions are judged fresh against one reading of the assumer's
    clock for the whole run (:class:`~shared.clock.Anchored`), made here, so once per invocation:
    against the emulator that is one clock request per invocation rather than
    one per target, and an invocation after the emulator's clock moved sees it.
    """

    def __init__(self, request: QueryRequest, settings: QuerySettings, assumer: RoleAssumer,
                 budget: TimeBudget) -> None:
        self.request = request
        self.settings = settings
        self.assumer = assumer
        self.budget = budget
        self.clock = Anchored(assumer.clock)

    def one(self, target: Target) -> TargetResult:
        """Assume and list for ``target``; never raises (a failure is the result)."""
        started = time.perf_counter()
        stage = "AssumeRole"
        try:
            self.budget.check("assuming the role")
            creds = self.assumer.assume(target.role_arn, self.settings.session_name,
                                        external_id=target.external_id,
                                        duration_seconds=self.settings.duration_seconds, clock=self.clock)
            stage = "ListFunctions" if self.request.kind == "functions" else "ListServices"
            factory = for_credentials(creds, region=target.region)
            if self.request.kind == "functions":
                items = list_functions(factory, target.account_id, self.request.prefix, self.settings.page_size,
                                       self.budget)
            else:
                items = list_services(factory, target.account_id, self.request.prefix, self.settings.page_size,
                                      self.budget, self.request.count_functions)
        except Exception as exc:  # one target's failure, whatever it is, stays its own
            if isinstance(exc, CloudUnavailable) and self.budget.deadline.passed():
                exc = self.budget.expired("this target finished")  # its call was cut short by the deadline
            return TargetResult(target, error=describe_failure(exc, target, self.request.kind, stage),
                                duration_ms=_ms(started))
        caller = creds.assumed_role_arn or session_arn(target, self.settings.session_name)
        return TargetResult(target, items=items, caller=caller, duration_ms=_ms(started))

    def run(self) -> list[TargetResult]:
        """Every target's result, in request order, by the deadline."""
        targets = self.request.targets
        pool = ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(targets)),
                                  thread_name_prefix="rolegate-query")
        try:
            # Each worker runs in a copy of this context, so its log lines carry the request id.
            futures = [pool.submit(contextvars.copy_context().run, self.one, t) for t in targets]
            wait(futures, timeout=self.budget.deadline.remaining())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        late = self.budget.expired("this target finished")
        results = [f.result() if f.done() else
                   TargetResult(t, error=describe_failure(late, t, self.request.kind, "waiting"))
                   for t, f in zip(targets, futures)]
        for result in results:
            _log_target(result, self.request.kind)
        return results


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _log_target(result: TargetResult, kind: str) -> None:
    fields: dict[str, Any] = {"account_id": result.target.account_id, "role_arn": result.target.role_arn,
                              "region": result.target.region, "kind": kind, "ok": result.ok,
                              "duration_ms": result.duration_ms}
    if result.ok:
        fields["items"] = len(result.items or [])
    else:
        fields.update(error_code=(result.error or {}).get("code"),
                      cloud_request_id=(result.error or {}).get("request_id"))
    log_event("query_target", "info" if result.ok else "warning", **fields)


__all__ = ["Query", "TargetResult", "describe_failure", "session_arn"]
