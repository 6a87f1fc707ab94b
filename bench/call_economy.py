"""Call economy: the cloud calls each operation makes (emulator call log) against the fewest the APIs allow.

Every case runs the real handler in this process, as a fresh instance (its
caches empty) unless it says *warm*, and reads the calls the emulator served
during the invocation. The minimum of each case and why it cannot be lower:

* create, n system policies: ``CreateRole`` (the role carries the whole
  record in its tags, so no separate TagResources) + n ``AttachPolicyToRole``.
  A name clash needs no read beforehand: CreateRole answers
  ``EntityAlreadyExists`` and only then must the existing role be read.
* create with c custom policies: + c ``CreatePolicy``.
* revoke (n policies, c of them custom): ``ListPoliciesForRole`` (a role
  with a policy attached cannot be deleted, and the record alone would miss
  a policy attached by hand) + n ``DetachPolicyFromRole`` + c ``DeletePolicy``
  + ``DeleteRole``, with the tags taken from a listing. The sweep's listing
  is one ``ListRoles`` per 1,000 roles of the account, shared by all it revokes; revoking
  one grant by id needs that one ``ListRoles`` (filtered on the grant-id tag)
  to find the role, since the id alone does not name it. A sweep also makes
  one ``ListPolicies`` per 1,000 Rolegate custom policies per run, shared by
  the whole account, to find custom policies that outlived their grant.
* restore (one extra policy attached by hand): ``GetRole`` (trust policy,
  session length; the listing does not return the trust policy) +
  ``ListTagResources`` (the record) + ``ListPoliciesForRole`` + one
  ``DetachPolicyFromRole`` for the drift. A new (cold) instance first asks
  STS once who it is (``GetCallerIdentity``), so it can ignore the events of
  its own changes; warm instances have it cached.
* every function that reads or writes grants (onboard, revoke, remediate):
  one ``GetSecretValue`` per cold instance, for the record key that proves
  each record (the key is then cached; records signed with an older key
  version add one ``ListSecretVersionIds`` and one ``GetSecretValue`` per
  instance and version, not counted here).
* an early revocation (``DELETE /grants/{id}``) keeps the role as a
  tombstone: ``UpdateRole`` (a trust nobody satisfies) + ``TagResources``
  (the record marked revoked) instead of ``DeleteRole``; the sweep deletes
  the tombstone later with one ``DeleteRole``.
* query, one target, p pages: ``AssumeRole`` (cold) + p ``ListFunctions``;
  warm: the p ``ListFunctions`` only (the session is cached).

Goal: on this normal path (no failures, no retries) every case makes exactly
its minimum.
"""
from __future__ import annotations

import importlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from bench.harness import (Emulator, Verdicts, create_grants, function_environment, header, make_grant, parser,
                           run_main, silenced, table)
from bench.scenarios import Onboard, Query, Remediate, Revoke, grant_body, http_event, quiet_setup, timer_event
from shared.sts import forget_caller_identities

COMMAND = "python -m bench call_economy"
SYSTEM_TWO = ("AliyunECSReadOnlyAccess", "AliyunOSSReadOnlyAccess")


@dataclass
class Case:
    name: str
    minimum: Counter[str]
    measured: Counter[str]
    succeeded: bool

    @property
    def extra(self) -> Counter[str]:
        return self.measured - self.minimum

    @property
    def missing(self) -> Counter[str]:
        return self.minimum - self.measured


def invoke(function: str, event: Any, context: Any) -> Any:
    module = importlib.import_module(f"functions.{function}.index")
    with silenced():
        return module.handler(json.dumps(event).encode(), context)


def counted(emu: Emulator, run: Callable[[], Any]) -> tuple[Any, Counter[str]]:
    """What ``run`` returned, and the calls the emulator served while it ran."""
    mark = emu.mark()
    result = run()
    return result, Counter(c["action"] for c in emu.calls(mark))


def calls(**counts: int) -> Counter[str]:
    return Counter({k: v for k, v in counts.items() if v})


def onboard_cases(emu: Emulator) -> list[Case]:
    sc = Onboard("onboard", "onboard", "onboard")
    quiet_setup(sc, emu)
    owner = sc.owner["account_id"]
    cases = []
    with function_environment(sc.env):
        result, measured = counted(emu, lambda: invoke("onboard", http_event(
            "POST", "/grants", grant_body(sc.partner, system=SYSTEM_TWO), owner), sc.context))
        cases.append(Case("onboard: create, 2 system policies (cold)",
                          calls(CreateRole=1, AttachPolicyToRole=2, GetSecretValue=1),
                          measured, result.get("statusCode") == 201))
        body = grant_body(sc.partner, system=SYSTEM_TWO[:1], custom=1)
        result, measured = counted(emu, lambda: invoke("onboard", http_event("POST", "/grants", body, owner),
                                                       sc.context))
        cases.append(Case("onboard: create, 1 system + 1 custom policy (warm)",
                          calls(CreateRole=1, CreatePolicy=1, AttachPolicyToRole=2), measured,
                          result.get("statusCode") == 201))
        created = invoke("onboard", http_event("POST", "/grants", grant_body(sc.partner, system=SYSTEM_TWO, custom=1),
                                               owner), sc.context)
        grant_id = json.loads(created["body"])["grant_id"]
        result, measured = counted(emu, lambda: invoke("onboard", http_event("DELETE", f"/grants/{grant_id}", None,
                                                                             owner), sc.context))
        cases.append(Case("onboard: DELETE /grants/{id}, 2 system + 1 custom",
                          calls(ListRoles=1, ListPoliciesForRole=1, DetachPolicyFromRole=3, DeletePolicy=1,
                                UpdateRole=1, TagResources=1), measured, result.get("statusCode") == 200))
    return cases


def revoke_case(emu: Emulator) -> Case:
    sc = Revoke("revoke", "revoke", "revoke")
    quiet_setup(sc, emu)
    now = emu.now().replace(microsecond=0)
    create_grants(emu, sc.central, [make_grant(sc.central["account_id"], sc.partner, system=2, custom=1,
                                               expires_at=now - timedelta(minutes=1),
                                               created_at=now - timedelta(hours=1))])
    with function_environment(sc.env):
        result, measured = counted(emu, lambda: invoke("revoke", timer_event(), sc.context))
    return Case("revoke: sweep, 1 expired grant (2 system + 1 custom)",
                calls(ListRoles=1, ListPoliciesForRole=1, DetachPolicyFromRole=3, DeletePolicy=1, DeleteRole=1,
                      ListPolicies=1, GetSecretValue=1),
                measured, result.get("revoked") == 1)


def restore_cases(emu: Emulator) -> list[Case]:
    sc = Remediate("remediate", "remediate", "remediate-grant")
    quiet_setup(sc, emu)
    warm = calls(GetRole=1, ListTagResources=1, ListPoliciesForRole=1, DetachPolicyFromRole=1)
    minimums = {"cold": warm + calls(GetCallerIdentity=1, GetSecretValue=1), "warm": warm}
    cases = []
    forget_caller_identities()  # a new instance has not asked STS who it is yet
    with function_environment(sc.env):
        for label in ("cold", "warm"):
            with silenced():
                sc.prepare(emu)
            event = json.loads(sc.handler_events()[0])
            result, measured = counted(emu, lambda: invoke("remediate", event, sc.context))
            cases.append(Case(f"remediate: restore a tampered grant ({label})", minimums[label], measured,
                              sc.handler_ok([result])))
    return cases


def query_cases(emu: Emulator) -> list[Case]:
    pages = 3
    sc = Query("query", "query", "query", targets=1, per_target=2 * pages, page_size=2)
    quiet_setup(sc, emu)
    cases = []
    with function_environment(sc.env):
        for label, minimum in (("cold", calls(AssumeRole=1, ListFunctions=pages)),
                               ("warm", calls(ListFunctions=pages))):
            result, measured = counted(emu, lambda: invoke("query", sc.request(), sc.context))
            cases.append(Case(f"query: 1 target, {pages} pages ({label})", minimum, measured,
                              sc.handler_ok([result])))
    return cases


GROUPS: dict[str, Callable[[Emulator], list[Case]]] = {
    "onboard": onboard_cases, "revoke": lambda emu: [revoke_case(emu)], "remediate": restore_cases,
    "query": query_cases,
}


def _fmt(counter: Counter[str]) -> str:
    return " + ".join(f"{n}x{a}" if n > 1 else a for a, n in sorted(counter.items())) or "-"


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0], only=True).parse_args(argv)
    header("Call economy", args.scale, COMMAND + "  (no scale: every case is one operation)")
    verdicts = Verdicts("call_economy")
    with Emulator() as emu:
        cases = [case for name, group in GROUPS.items() if args.only in name for case in group(emu)]
    print(table(("case", "calls", "minimum", "ratio", "extra calls"),
                [(c.name, sum(c.measured.values()), sum(c.minimum.values()),
                  f"{sum(c.measured.values()) / sum(c.minimum.values()):.2f}x", _fmt(c.extra)) for c in cases]))
    print()
    print(table(("case", "calls made (emulator call log)"), [(c.name, _fmt(c.measured)) for c in cases]))
    for c in cases:
        detail = f"{sum(c.measured.values())} calls, minimum {sum(c.minimum.values())}"
        if c.extra:
            detail += f"; extra: {_fmt(c.extra)}"
        if c.missing:
            detail += f"; fewer than expected: {_fmt(c.missing)}"
        if not c.succeeded:
            detail += "; the operation did not succeed"
        verdicts.check(f"{c.name}: equal to the minimum", c.succeeded and not c.extra and not c.missing, detail)
    return verdicts.finish()


if __name__ == "__main__":
    run_main(main)
