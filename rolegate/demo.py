"""The whole life of one grant on the local host, each step checked.

1. A onboards partner B: a signed ``POST /grants`` to the webhook.
2. B's Alice assumes the grant's role (with the ExternalId; without it she is refused).
3. Alice looks at what the grant reaches through B's deployment of the query function.
4. A's ``ops-admin`` attaches ``AdministratorAccess`` to the grant's role.
5. The remediate function, fed the ActionTrail event, takes it off again.
6. The emulator's clock moves past the grant's expiry.
7. The revoke function's timer fires and the sweep revokes the grant.
8. Alice can no longer assume the role.

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

    # ----------------------------------------------------------- helpers
    def _ram(self, key: Key) -> Any:
        return key.clients(self.host.endpoint).ram()

    def _attached(self) -> set[str]:
        from alibabacloud_ram20150501 import models

        body = self._ram(self.world.owner_root).list_policies_for_role(
            models.ListPoliciesForRoleRequest(role_name=self.grant["role_name"])).body
        return {p.policy_name for p in body.policies.policy or []}

    def _alice_assumes(self, external_id: str | None) -> Any:
        from alibabacloud_sts20150401 import models

        sts = self.world.alice.clients(self.host.endpoint).sts()
        return sts.assume_role(models.AssumeRoleRequest(role_arn=self.grant["role_arn"], role_session_name="alice",
                                                        external_id=external_id, duration_seconds=900)).body

    def _refusal(self, external_id: str | None) -> str | None:
        """The error code when Alice's AssumeRole is refused, None when it succeeds."""
        from alibabacloud_tea_openapi.exceptions import ClientException

        try:
            self._alice_assumes(external_id)
        except ClientException as exc:
            return str(exc.code)
        return None

    # ------------------------------------------------------------- steps
    def onboard(self) -> str:
        body = {"partner_account_id": self.world.partner_id,
                "principal": {"type": "account", "external_id": self.world.external_id},
                "policies": [{"name": GRANT_POLICY}], "duration_seconds": GRANT_SECONDS,
                "requester": "demo", "ticket": "DEMO-1"}
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
        from alibabacloud_ram20150501 import models

        self._ram(self.world.operator).attach_policy_to_role(models.AttachPolicyToRoleRequest(
            policy_type="System", policy_name=INTRUDER_POLICY, role_name=self.grant["role_name"]))
        expect(INTRUDER_POLICY in self._attached(), f"{INTRUDER_POLICY} is not attached after the call")
        return f"ops-admin attached {INTRUDER_POLICY} to {self.grant['role_name']}"

    def remediate(self) -> str:
        deadline = time.monotonic() + REMEDIATION_TIMEOUT
        while INTRUDER_POLICY in self._attached() and time.monotonic() < deadline:
            self.host.forwarder.wait_idle(timeout=1.0)
        attached = self._attached()
        expect(INTRUDER_POLICY not in attached,
               f"{INTRUDER_POLICY} is still attached after {REMEDIATION_TIMEOUT:.0f} s "
               f"(forwarder: {self.host.forwarder.stats()})")
        expect(GRANT_POLICY in attached, f"{GRANT_POLICY} went missing too: {sorted(attached)}")
        runs = [r for r in self.host.history if r.function == "remediate" and r.ok]
        return f"{INTRUDER_POLICY} detached, {GRANT_POLICY} kept ({len(runs)} remediate invocation(s))"

    def expire(self) -> str:
        clock = self.emulator.admin("GET", "/_emulator/clock")
        expires = datetime.fromisoformat(self.grant["expires_at"].replace("Z", "+00:00"))
        ahead = (expires - datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))).total_seconds() + 60
        moved = self.emulator.advance_clock(ahead)  # POST /_emulator/clock
        view = signed(self.host.url("onboard"), self.host.webhook_secret, "GET",
                      f"/grants/{self.grant['grant_id']}")
        expect(view.status == 200 and view.body.get("status") == "expired",
               f"the webhook shows the grant as {view.status} {view.body}")
        return f"emulator clock now {moved['now']}; the webhook reports the grant expired"

    def sweep(self) -> str:
        timer = self.host.timers()[0]
        reply = request("POST", f"{self.host.url('control')}/timers/{timer.name}")
        expect(reply.status == 200 and reply.body["ok"], f"the timer invocation failed: {reply.body}")
        summary = reply.body["result"]
        expect(summary.get("revoked") == 1, f"the sweep revoked {summary.get('revoked')} grant(s), not 1")
        listed = signed(self.host.url("onboard"), self.host.webhook_secret, "GET", "/grants")
        expect(listed.status == 200 and listed.body["count"] == 0, f"grants remain: {listed.body}")
        return f"timer {timer.name!r} ({timer.schedule.expression}) fired: revoked {summary['revoked']}"

    def locked_out(self) -> str:
        refused = self._refusal(self.world.external_id)
        expect(refused is not None, "Alice still assumed the role")
        return f"AssumeRole refused: {refused}"

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
