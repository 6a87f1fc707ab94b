"""The whole life of one grant on the local host, each step checked.

1. A onboards partner B: a signed ``POST /grants`` to the webhook.
2. B's Alice assumes the grant's role (with the ExternalId; without it she is refused).
3. Alice looks at what the grant reaches through B's deployment of the query function.
4. A's ``ops-admin`` attaches ``AdministratorAccess`` to the grant's role.
5. The remediate function, fed the ActionTrail event, takes it off again.
6. The emulator's clock moves past the grant's expiry.
7. The revoke function's timer fires and the sweep revokes the grant.
8. Alice can no longer assume the role.

Then A, as a hub, does the same in company M, a member of its Resource Directory:

9. A grants B access in M: the same webhook, with M's ``account_id``.
10. Alice assumes the role in M and lists M's functions through B's query deployment.
11. M's own administrator attaches ``AdministratorAccess`` to it; the event reaches A's hub bus and the
    remediate function takes it off in M, as M's manager role.
12. Past its expiry, the sweep revokes it in M, and Alice is refused.

Every call goes where it would go in production -- HTTP to the functions'
triggers, the SDKs to the (emulated) cloud -- and every step checks its
outcome and prints ✓ or ✗. :func:`run` returns 0 only when every step held.
"""
from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any, Callable

from rich.console import Console

from rolegate.demo_world import Key
from rolegate.localhost import LocalHost
from rolegate.webhook import request, signed
from shared.ram import RamGateway

GRANT_POLICY = "AliyunFCReadOnlyAccess"
INTRUDER_POLICY = "AdministratorAccess"
GRANT_SECONDS = 3600
REMEDIATION_TIMEOUT = 10.0


class StepFailed(Exception):
    """An expectation of the demo did not hold; the message says which."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


class Demo:
    """The steps, sharing what earlier steps learnt (the grant, Alice's session)."""

    def __init__(self, host: LocalHost, console: Console) -> None:
        assert host.world is not None and host.emulator is not None
        self.host = host
        self.world = host.world
        self.emulator = host.emulator
        self.console = console
        self.grant: dict[str, Any] = {}
        self.member_grant: dict[str, Any] = {}

    # ----------------------------------------------------------- helpers
    def _ram(self, key: Key) -> RamGateway:
        return RamGateway(key.clients(self.host.endpoint).ram())

    def _attached(self, grant: dict[str, Any] | None = None, root: Key | None = None) -> set[str]:
        """The policies on a grant's role (A's grant, read with A's root key, unless told otherwise)."""
        ram = self._ram(root or self.world.owner_root)
        return {name for _, name in ram.policies_for_role((grant or self.grant)["role_name"])}

    def _alice_assumes(self, external_id: str | None, grant: dict[str, Any] | None = None) -> Any:
        from alibabacloud_sts20150401 import models

        sts = self.world.alice.clients(self.host.endpoint).sts()
        return sts.assume_role(models.AssumeRoleRequest(role_arn=(grant or self.grant)["role_arn"],
                                                        role_session_name="alice", external_id=external_id,
                                                        duration_seconds=900)).body

    def _refusal(self, external_id: str | None, grant: dict[str, Any] | None = None) -> str | None:
        """The error code when Alice's AssumeRole is refused, None when it succeeds."""
        from alibabacloud_tea_openapi.exceptions import ClientException

        try:
            self._alice_assumes(external_id, grant)
        except ClientException as exc:
            return str(exc.code)
        return None

    def _grant_body(self, **extra: Any) -> dict[str, Any]:
        return {"partner_account_id": self.world.partner_id,
                "principal": {"type": "account", "external_id": self.world.external_id},
                "policies": [{"name": GRANT_POLICY}], "duration_seconds": GRANT_SECONDS,
                "requester": "demo", "ticket": "DEMO-1", **extra}

    def _past_expiry(self, grant: dict[str, Any]) -> str:
        """Move the emulator's clock a minute past ``grant``'s expiry; the new time."""
        clock = self.emulator.admin("GET", "/_emulator/clock")
        expires = datetime.fromisoformat(grant["expires_at"].replace("Z", "+00:00"))
        ahead = (expires - datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))).total_seconds() + 60
        return self.emulator.advance_clock(ahead)["now"]  # POST /_emulator/clock

    def _fire_timer(self) -> tuple[Any, dict[str, Any]]:
        timer = self.host.timers()[0]
        reply = request("POST", f"{self.host.url('control')}/timers/{timer.name}")
        expect(reply.status == 200 and reply.body["ok"], f"the timer invocation failed: {reply.body}")
        return timer, reply.body["result"]

    def _remediated(self, grant: dict[str, Any], root: Key) -> set[str]:
        """The grant's policies once remediation has taken the intruder off (or the wait ran out)."""
        deadline = time.monotonic() + REMEDIATION_TIMEOUT
        while INTRUDER_POLICY in self._attached(grant, root) and time.monotonic() < deadline:
            self.host.forwarder.wait_idle(timeout=1.0)
        attached = self._attached(grant, root)
        expect(INTRUDER_POLICY not in attached,
               f"{INTRUDER_POLICY} is still attached after {REMEDIATION_TIMEOUT:.0f} s "
               f"(forwarder: {self.host.forwarder.stats()})")
        expect(GRANT_POLICY in attached, f"{GRANT_POLICY} went missing too: {sorted(attached)}")
        return attached

    def _tamper(self, grant: dict[str, Any], key: Key) -> None:
        self._ram(key).attach(grant["role_name"], "System", INTRUDER_POLICY)
        # RAM answered the call, so the policy was attached; it is not read back here, since remediation may
        # already have taken it off again (the event is on its way while this call returns).

    # ------------------------------------------------------------- steps
    def onboard(self) -> str:
        body = self._grant_body()
        reply = signed(self.host.url("onboard"), self.host.webhook_secret, "POST", "/grants", body)
        expect(reply.status == 201, f"the webhook answered {reply.status}: {reply.body}")
        self.grant = reply.body
        statement = self.grant["trust_policy"]["Statement"][0]
        expect(statement["Principal"] == {"RAM": [f"acs:ram::{self.world.partner_id}:root"]},
               f"the trust policy names {statement['Principal']}, not B")
        expect(statement["Condition"] == {"StringEquals": {"sts:ExternalId": self.world.external_id}},
               "the trust policy does not require B's ExternalId")
        unsigned = request("POST", self.host.url("onboard") + "/grants", body)
        expect(unsigned.status == 401, f"an unsigned request was answered {unsigned.status}, not 401")
        return (f"grant {self.grant['grant_id']}: role {self.grant['role_name']} trusts B with ExternalId, "
                f"{GRANT_POLICY}, until {self.grant['expires_at']} (unsigned request: 401)")

    def assume(self) -> str:
        refused = self._refusal(None)
        expect(refused is not None, "Alice assumed the role without the ExternalId")
        session = self._alice_assumes(self.world.external_id)
        expect(session.assumed_role_user.arn.endswith(f"{self.grant['role_name']}/alice"),
               f"unexpected session {session.assumed_role_user.arn}")
        return f"session {session.assumed_role_user.arn} (without ExternalId: {refused})"

    def query(self) -> str:
        target = {"account_id": self.world.owner_id, "role_name": self.grant["role_name"],
                  "external_id": self.world.external_id}
        seen: dict[str, list[str]] = {}
        for kind in ("functions", "services"):
            reply = request("POST", self.host.url("query-b"), {"targets": [target], "kind": kind})
            expect(reply.status == 200, f"the query function answered {reply.status}: {reply.body}")
            result = reply.body["results"][0]
            expect(result["ok"], f"listing {kind} failed: {result.get('error')}")
            seen[kind] = sorted(item["name"] for item in result["items"])
            expect(seen[kind] == self.world.resources[self.world.owner_id][kind],
                   f"listed {kind} {seen[kind]}, expected {self.world.resources[self.world.owner_id][kind]}")
        return f"FC 3.0 functions {', '.join(seen['functions'])}; FC 2.0 services {', '.join(seen['services'])}"

    def tamper(self) -> str:
        self._tamper(self.grant, self.world.operator)
        return f"ops-admin attached {INTRUDER_POLICY} to {self.grant['role_name']}"

    def remediate(self) -> str:
        self._remediated(self.grant, self.world.owner_root)
        runs = [r for r in self.host.history if r.function == "remediate" and r.ok]
        return f"{INTRUDER_POLICY} detached, {GRANT_POLICY} kept ({len(runs)} remediate invocation(s))"

    def expire(self) -> str:
        moved = self._past_expiry(self.grant)
        view = signed(self.host.url("onboard"), self.host.webhook_secret, "GET",
                      f"/grants/{self.grant['grant_id']}")
        expect(view.status == 200 and view.body.get("status") == "expired",
               f"the webhook shows the grant as {view.status} {view.body}")
        return f"emulator clock now {moved}; the webhook reports the grant expired"

    def sweep(self) -> str:
        timer, summary = self._fire_timer()
        expect(summary.get("revoked") == 1, f"the sweep revoked {summary.get('revoked')} grant(s), not 1")
        listed = signed(self.host.url("onboard"), self.host.webhook_secret, "GET", "/grants")
        expect(listed.status == 200 and listed.body["count"] == 0, f"grants remain: {listed.body}")
        return f"timer {timer.name!r} ({timer.schedule.expression}) fired: revoked {summary['revoked']}"

    def locked_out(self) -> str:
        refused = self._refusal(self.world.external_id)
        expect(refused is not None, "Alice still assumed the role")
        return f"AssumeRole refused: {refused}"

    # ------------------------------------------------- the hub's member M
    def member_onboard(self) -> str:
        member = self.world.member_id
        reply = signed(self.host.url("onboard"), self.host.webhook_secret, "POST", "/grants",
                       self._grant_body(account_id=member))
        expect(reply.status == 201, f"the webhook answered {reply.status}: {reply.body}")
        self.member_grant = reply.body
        expect(self.member_grant["role_arn"].startswith(f"acs:ram::{member}:role/"),
               f"the grant's role {self.member_grant['role_arn']} is not in M")
        return f"grant {self.member_grant['grant_id']}: role {self.member_grant['role_arn']}, made as M's manager role"

    def member_use(self) -> str:
        refused = self._refusal(None, self.member_grant)
        expect(refused is not None, "Alice assumed M's role without the ExternalId")
        session = self._alice_assumes(self.world.external_id, self.member_grant)
        target = {"account_id": self.world.member_id, "role_name": self.member_grant["role_name"],
                  "external_id": self.world.external_id}
        reply = request("POST", self.host.url("query-b"), {"targets": [target], "kind": "functions"})
        expect(reply.status == 200, f"the query function answered {reply.status}: {reply.body}")
        result = reply.body["results"][0]
        expect(result["ok"], f"listing M's functions failed: {result.get('error')}")
        listed = sorted(item["name"] for item in result["items"])
        expect(listed == self.world.resources[self.world.member_id]["functions"], f"listed {listed}")
        return f"session {session.assumed_role_user.arn}; M's functions {', '.join(listed)}"

    def member_remediate(self) -> str:
        assert self.world.member_admin is not None and self.world.member_root is not None
        self._tamper(self.member_grant, self.world.member_admin)
        self._remediated(self.member_grant, self.world.member_root)
        fixed = [r for r in self.host.history if r.function == "remediate" and r.ok and isinstance(r.result, dict)
                 and any(d.get("account_id") == self.world.member_id and d.get("outcome") == "remediated"
                         for d in r.result.get("decisions", []))]
        expect(bool(fixed), "no remediate invocation reports a change made in M")
        return (f"m-admin attached {INTRUDER_POLICY} in M; the hub's remediate function detached it there, "
                f"{GRANT_POLICY} kept")

    def member_sweep(self) -> str:
        moved = self._past_expiry(self.member_grant)
        timer, summary = self._fire_timer()
        parts = {part["account_id"]: part for part in summary.get("accounts", [])}
        member = parts.get(self.world.member_id, {})
        expect(member.get("revoked") == 1, f"the sweep revoked {member.get('revoked')} grant(s) in M, not 1")
        refused = self._refusal(self.world.external_id, self.member_grant)
        expect(refused is not None, "Alice still assumed M's role")
        return (f"clock {moved}; timer {timer.name!r} swept {', '.join(parts)}: revoked 1 in M; "
                f"AssumeRole refused: {refused}")

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("A onboards partner B through the webhook", self.onboard),
            ("B's Alice assumes the grant's role", self.assume),
            ("Alice lists A's functions through B's query deployment", self.query),
            (f"ops-admin (not Rolegate) attaches {INTRUDER_POLICY}", self.tamper),
            ("Remediation takes it off (ActionTrail → EventBridge → remediate)", self.remediate),
            ("The clock moves past the grant's expiry", self.expire),
            ("The revoke timer fires and the sweep revokes", self.sweep),
            ("B can no longer assume the role", self.locked_out),
            ("A, as a hub, grants B access in its member M", self.member_onboard),
            ("Alice assumes it and lists M's functions", self.member_use),
            (f"M's administrator attaches {INTRUDER_POLICY}; the hub takes it off in M", self.member_remediate),
            ("Past its expiry, the hub's sweep revokes it in M", self.member_sweep),
        ]

    def run(self) -> bool:
        steps = self.steps()
        for number, (title, action) in enumerate(steps, 1):
            self.console.print(f"[bold]{number}/{len(steps)}[/bold] {title}")
            try:
                detail = action()
            except StepFailed as exc:
                self.console.print(f"    [red]✗[/red] {exc}")
                for rest, (skipped, _) in enumerate(steps[number:], number + 1):
                    self.console.print(f"[dim]{rest}/{len(steps)} {skipped} (skipped)[/dim]")
                return False
            except Exception as exc:  # an unexpected error is a failed step, reported as such
                self.console.print(f"    [red]✗[/red] {type(exc).__name__}: {exc}")
                return False
            self.console.print(f"    [green]✓[/green] {detail}")
        return True


def run(console: Console | None = None, *, verbose: bool = False, keep_running: bool = False,
        after: Callable[[LocalHost], None] | None = None) -> int:
    """Start a local host, walk the demo, stop; 0 when every step held, else 1.

    Function logs are shown only at error level unless ``verbose``.
    ``after`` runs while the host is still up (``rolegate demo --keep-running``).
    """
    console = console or Console(emoji=False, highlight=False, soft_wrap=True)
    saved = os.environ.get("ROLEGATE_LOG_LEVEL")
    os.environ["ROLEGATE_LOG_LEVEL"] = "info" if verbose else "error"
    started = time.monotonic()
    try:
        with LocalHost(schedule_timers=False) as host:
            console.print(f"Local host up: emulator {host.endpoint}, webhook {host.url('onboard')}, "
                          f"partner query {host.url('query-b')}, events/timers {host.url('control')}")
            ok = Demo(host, console).run()
            took = time.monotonic() - started
            if ok:
                console.print(f"[green bold]Every step held[/green bold] ({took:.1f} s).")
            else:
                console.print(f"[red bold]The demo failed[/red bold] ({took:.1f} s).")
            if after is not None and keep_running:
                after(host)
    finally:
        if saved is None:
            os.environ.pop("ROLEGATE_LOG_LEVEL", None)
        else:
            os.environ["ROLEGATE_LOG_LEVEL"] = saved
    return 0 if ok else 1


__all__ = ["Demo", "StepFailed", "run"]
