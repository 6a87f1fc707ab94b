"""What the local host prints when it is up: where everything is and what to try next."""
from __future__ import annotations

import json
import os
import shlex
import sys

from rolegate.localhost import LocalHost


OUT_OF_SCOPE = "1999999999999999"  # an account partner B's client may not act for


def python() -> str:
    """This interpreter as a newcomer would type it: relative when under the current directory (``.venv/bin/python``)."""
    exe = os.path.abspath(sys.executable)
    relative = os.path.relpath(exe)
    return shlex.quote(relative if not relative.startswith("..") else exe)


def guide(host: LocalHost) -> str:
    """A plain-text page: addresses, accounts and keys of the demo world, and commands to paste."""
    world, client = host.world, host.client
    assert world is not None and client is not None
    control = host.url("control")
    timers = host.timers()
    lines = ["Rolegate local host: emulated Alibaba Cloud and the four functions on 127.0.0.1", ""]
    rows = [
        ("emulator", f"http://{host.endpoint}", f"ROLEGATE_ENDPOINT={host.endpoint}"),
        ("onboard", host.url("onboard"), "HTTP trigger; requests signed by a named client (X-Rolegate-Client) "
                                         "or with the shared webhook secret"),
        ("query (A)", host.url("query"), "HTTP trigger of company A's deployment (authType function: "
                                         "not checked locally)"),
        ("query (B)", host.url("query-b"), "partner B's own deployment, running as a role in B"),
        ("events, timers", control, "POST /events (CloudEvents to remediate), "
                                    + ", ".join(f"POST /timers/{t.name}" for t in timers) + ", GET / (status)"),
    ]
    for timer in timers:
        state = "scheduled" if host.schedule_timers and timer.enabled else "fires on request only"
        rows.append(("revoke timer", f"{timer.name}: {timer.schedule.expression}", state))
    patterns = host.functions["remediate"].spec.event_patterns
    rows.append(("remediate", "ActionTrail of company A", "filter " + " | ".join(json.dumps(p) for p in patterns)))
    width = max(len(r[0]) for r in rows)
    lines += [f"  {name:<{width}}  {where}  {note}" for name, where, note in rows]
    lines += [
        "",
        "Accounts",
        f"  A company-a {world.owner_id}  RAM user ops-admin (AliyunRAMFullAccess): "
        f"{world.operator.access_key_id} / {world.operator.access_key_secret}",
        f"  B company-b {world.partner_id}  RAM user Alice (AliyunSTSAssumeRoleAccess): "
        f"{world.alice.access_key_id} / {world.alice.access_key_secret}",
        f"  B's ExternalId for grants: {world.external_id}",
        f"  webhook client {client.name} (B's grants in A only, writes): {client.secret}",
        f"  shared webhook secret (every partner, writes): {host.webhook_secret}",
    ]
    body = json.dumps({"partner_account_id": world.partner_id,
                       "principal": {"type": "account", "external_id": world.external_id},
                       "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 3600},
                      separators=(",", ":"))
    elsewhere = json.dumps({**json.loads(body), "partner_account_id": OUT_OF_SCOPE}, separators=(",", ":"))
    onboard, py = host.url("onboard"), python()
    cli = f"{py} -m rolegate --local"
    as_client = f"{cli} sign --client {client.name}"  # the secret from ROLEGATE_CLIENT_SECRET, not the command line
    query = ('{"targets":[{"account_id":"%s","role_name":"%s","external_id":"%s"}]}'
             % (world.owner_id, "%s", world.external_id))
    lines += [
        "",
        "Try (bash or zsh; `--local` reads the profile this host wrote, so nothing needs exporting)",
        "  # partner B's portal signs as its client: the curl config carries X-Rolegate-Client, which is signed",
        f"  export ROLEGATE_CLIENT_SECRET={shlex.quote(client.secret)}",
        f"  BODY={shlex.quote(body)}",
        f"  GRANT=$(curl -s -K <({as_client} POST /grants \"$BODY\") -H 'Content-Type: application/json' "
        f"-d \"$BODY\" {onboard}/grants); echo \"$GRANT\"",
        f"  ROLE=$(printf '%s' \"$GRANT\" | {py} -c \"import json,sys; print(json.load(sys.stdin)['role_name'])\")",
        f"  curl -s -K <({as_client} GET /grants) {onboard}/grants",
        "  # a grant for any other partner is outside the client's scope: 403 OutOfScope, nothing created",
        f"  ELSEWHERE={shlex.quote(elsewhere)}",
        f"  curl -s -K <({as_client} POST /grants \"$ELSEWHERE\") -H 'Content-Type: application/json' "
        f"-d \"$ELSEWHERE\" {onboard}/grants",
        "  # the shared webhook secret (no client header) still signs, for every partner:",
        f"  curl -s -K <({cli} sign GET /grants) {onboard}/grants",
        "  # partner B lists A's functions through its own query deployment, with the grant's role:",
        f"  curl -s -H 'Content-Type: application/json' -d \"$(printf {shlex.quote(query)} \"$ROLE\")\" "
        f"{host.url('query-b')}/",
        f"  curl -s -X POST http://{host.endpoint}/_emulator/clock -d '{{\"advance_seconds\": 7200}}'",
    ]
    lines += [f"  curl -s -X POST {control}/timers/{t.name}" for t in timers]
    lines += [
        "  As company A's operator, straight through the shared core:",
        f"  {cli} clients list",
        f"  {cli} grants list",
        f"  {cli} sweep --dry-run",
        "",
        "Ctrl-C stops everything; the emulated cloud lives in memory only.",
    ]
    return "\n".join(lines)


__all__ = ["guide"]
