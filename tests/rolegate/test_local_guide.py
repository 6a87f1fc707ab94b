"""The commands the local host prints work when pasted into bash, with nothing exported by hand."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = "Ctrl-C stops everything"
_LOGS: dict[int, Any] = {}  # each host's stderr (a temporary file), by process id, for _stop to show


def _start(profile: Path) -> tuple[subprocess.Popen, str]:
    # PYTHONFAULTHANDLER: a host that does not stop is made to print where each of its threads stands (_stop).
    # A newcomer's shell: nothing of Rolegate's or the cloud's set, whatever tests before this one left behind.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLEGATE_", "ALIBABA_CLOUD_"))}
    env.update({"ROLEGATE_LOCAL_PROFILE": str(profile), "PYTHONFAULTHANDLER": "1"})
    log = tempfile.TemporaryFile()
    # As from a terminal: a run started in the background (CI, `make test &`) ignores SIGINT, and a child would
    # inherit that and never see the Ctrl-C sent below.
    proc = subprocess.Popen([sys.executable, "-m", "rolegate", "local", "--port", "0", "--no-timer"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=log, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _LOGS[proc.pid] = log
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if LAST_LINE in line:
            return proc, "".join(seen)
    raise AssertionError("the local host exited early:\n" + "".join(seen))


def _client_secret(guide: str) -> str:
    return re.search(r"^  export ROLEGATE_CLIENT_SECRET=(\S+)$", guide, re.M).group(1)


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # Ctrl-C, as the guide says
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # the fault handler prints every thread's stack to stderr
        proc.wait(timeout=30)
        log = _LOGS[proc.pid]
        log.seek(0)
        raise AssertionError("the local host did not stop on Ctrl-C; the end of its stderr:\n"
                             + log.read()[-8000:].decode(errors="replace")) from None


def _pasted(guide: str) -> list[str]:
    """The guide's command lines under "Try", in order (comments and headings left out)."""
    block = guide[guide.index("Try (bash"):guide.index(LAST_LINE)]
    return [line.strip() for line in block.splitlines()[1:]
            if line.startswith("  ") and not line.strip().startswith("#") and not line.strip().startswith("As ")]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    profile = tmp_path_factory.mktemp("home") / "local.json"
    proc, guide = _start(profile)
    try:
        yield profile, guide
    finally:
        _stop(proc)


def _bash(script: str, profile: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLEGATE_", "ALIBABA_CLOUD_"))}
    env["ROLEGATE_LOCAL_PROFILE"] = str(profile)
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_pasted_commands_grant_query_expire_and_revoke(session: tuple[Path, str]) -> None:
    """Partner B's named client creates through the signed webhook and is refused another partner's grant, the
    shared secret still lists, partner B queries with the grant's role, the clock moves past expiry, the timer
    revokes, and the operator's `--local` CLI sees the client and the grant gone."""
    profile, guide = session
    commands = _pasted(guide)
    assert not [c for c in commands if c.startswith("python ") or "<" + "role" in c], commands  # no bare python
    signed = [c for c in commands if " sign " in c]
    assert [" --client partner-b-portal " in c for c in signed] == [True, True, True, False], signed
    marked = "\n".join(f"{c}\necho '@@'" for c in commands)
    done = _bash(marked, profile)
    assert done.returncode == 0, done.stdout + done.stderr
    outputs = [o.strip() for o in done.stdout.split("@@") if o.strip()]
    created = json.loads(outputs[0])
    assert created["role_name"].startswith("rolegate-") and created["status"] == "active"
    by_client, by_shared_secret = [json.loads(o) for o in outputs if o.startswith('{"grants"')]
    assert [g["grant_id"] for g in by_client["grants"]] == [created["grant_id"]]
    # The same grants; the shared secret reads every account of the hub (A and its member M), the client A only.
    assert by_client["grants"] == by_shared_secret["grants"]
    assert len(by_client["accounts"]) == 1 and set(by_client["accounts"]) < set(by_shared_secret["accounts"])
    refused = json.loads(next(o for o in outputs if o.startswith('{"error"')))
    assert refused["error"]["code"] == "OutOfScope", refused
    assert "partner-b-portal" in done.stdout  # `--local clients list`, which shows no secret
    assert _client_secret(guide) not in done.stdout
    queried = json.loads(next(o for o in outputs if o.startswith('{"results"')))
    assert queried["results"][0]["ok"] is True and queried["results"][0]["items"], queried
    fired = json.loads(next(o for o in outputs if o.startswith('{"function": "revoke"')))
    assert fired["ok"] is True and fired["result"]["revoked"] == 1, fired
    assert "0 grant(s)" in done.stdout  # `--local grants list` after the sweep


def test_local_without_a_running_host_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """No profile, or a profile whose host has stopped: a one-line error naming what to do, nothing else."""
    missing = _bash(f"{sys.executable} -m rolegate --local grants list", tmp_path / "absent.json")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "make local" in missing.stderr, missing.stderr
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"pid": 2 ** 22 + 12345, "settings": {
        k: "x" for k in ("ROLEGATE_ENDPOINT", "ROLEGATE_OWNER_ACCOUNT_ID", "ROLEGATE_RECORD_KEY_SECRET",
                         "ROLEGATE_WEBHOOK_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_ID",
                         "ALIBABA_CLOUD_ACCESS_KEY_SECRET")}}))
    gone = _bash(f"{sys.executable} -m rolegate --local grants list", stale)
    assert gone.returncode == 2 and "no longer running" in gone.stderr, gone.stderr


def test_the_profile_is_owner_only_and_removed_on_ctrl_c(tmp_path: Path) -> None:
    profile = tmp_path / "local.json"
    proc, _ = _start(profile)
    try:
        assert profile.stat().st_mode & 0o777 == 0o600
        settings = json.loads(profile.read_text())["settings"]
        assert settings["ROLEGATE_ENDPOINT"].startswith("127.0.0.1:")
    finally:
        _stop(proc)
    assert not profile.exists()
