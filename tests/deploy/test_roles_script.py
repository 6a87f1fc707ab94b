"""deploy/roles.sh makes the roles s.yaml names, each holding exactly its deploy/policies/<fn>.json.

The script runs for real, with ``aliyun`` on its PATH being a stand-in that
sends the same RAM calls to the emulator (tests/deploy/fake_aliyun.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from emulator import EmulatorServer
from emulator.services.ram import ram_state
from tests.deploy import syaml

SCRIPT = syaml.REPO / "deploy" / "roles.sh"
FAKE = Path(__file__).with_name("fake_aliyun.py")
FC_TRUST = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"Service": ["fc.aliyuncs.com"]}}]}


class Shell:
    def __init__(self, emulator: EmulatorServer, tmp_path: Path, account: dict[str, str]) -> None:
        self.emulator = emulator
        self.account = account
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "aliyun").write_text(f"#!/bin/sh\nexec {sys.executable} -I -S {FAKE} \"$@\"\n")
        (bin_dir / "aliyun").chmod(0o755)
        self.log = tmp_path / "aliyun.log"
        self.env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                    "FAKE_ALIYUN_ENDPOINT": emulator.endpoint, "FAKE_ALIYUN_LOG": str(self.log),
                    "FAKE_ALIYUN_ACCESS_KEY_ID": account["access_key_id"],
                    "FAKE_ALIYUN_ACCESS_KEY_SECRET": account["access_key_secret"]}

    def run(self, *args: str, script: Path = SCRIPT) -> subprocess.CompletedProcess[str]:
        self.log.write_text("")
        done = subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=self.env,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done

    def calls(self) -> list[str]:
        return [json.loads(line)["action"] for line in self.log.read_text().splitlines()]

    def ram(self) -> Any:
        return ram_state(self.emulator.world.accounts[self.account["account_id"]])

    def default_document(self, policy: str) -> dict[str, Any]:
        found = self.ram().policies[policy.lower()]
        return json.loads(found.versions[found.default_version][0])


def test_roles_and_policies_are_made_and_a_second_run_changes_nothing(emulator: EmulatorServer,
                                                                       tmp_path: Path) -> None:
    """One role per s.yaml function, trusted by FC only, holding its own policy file; rerunning is a no-op."""
    shell = Shell(emulator, tmp_path, emulator.create_account("company-a"))
    shell.run()
    functions = syaml.functions(syaml.load_raw())
    for name, function in functions.items():
        role_name = function.props["role"].rsplit("/", 1)[1]
        role = shell.ram().find_role(role_name)
        assert role is not None, f"{role_name} was not created"
        assert json.loads(role.trust_policy_text) == FC_TRUST
        assert [(a.policy_type, a.policy_name) for a in role.attached] == [("Custom", role_name)]
        assert shell.default_document(role_name) == json.loads((syaml.REPO / "deploy/policies" / f"{name}.json")
                                                               .read_text())
    versions = {p.name: sorted(p.versions) for p in shell.ram().policies.values()}

    shell.run()
    assert {p.name: sorted(p.versions) for p in shell.ram().policies.values()} == versions
    assert not {"CreateRole", "CreatePolicy", "CreatePolicyVersion"} & set(shell.calls())


def test_a_changed_policy_file_becomes_the_new_default_version(emulator: EmulatorServer, tmp_path: Path) -> None:
    """Editing deploy/policies/<fn>.json and rerunning updates that function's policy only."""
    shell = Shell(emulator, tmp_path, emulator.create_account("company-a"))
    copy = tmp_path / "deploy"
    shutil.copytree(syaml.REPO / "deploy", copy, ignore=shutil.ignore_patterns("*.md"))
    shell.run("query", script=copy / "roles.sh")
    document = json.loads((copy / "policies/query.json").read_text())
    document["Statement"][0]["Resource"] = "acs:ram::*:role/rolegate-b-*"
    (copy / "policies/query.json").write_text(json.dumps(document))

    shell.run("query", script=copy / "roles.sh")
    assert shell.default_document("fc-rolegate-query") == document
    assert shell.calls().count("CreatePolicyVersion") == 1
    assert shell.ram().find_role("fc-rolegate-revoke") is None


def test_manager_role_in_a_member_trusts_only_the_hubs_functions_and_a_second_run_changes_nothing(
        emulator: EmulatorServer, tmp_path: Path) -> None:
    """--manager HUB: RolegateManager trusts the hub's onboard, revoke and remediate roles, holds manager-policy.json."""
    hub = emulator.create_account("hub")["account_id"]
    shell = Shell(emulator, tmp_path, emulator.create_account("member"))
    shell.run("--manager", hub)
    role = shell.ram().find_role("RolegateManager")
    assert role is not None
    principal = json.loads(role.trust_policy_text)["Statement"][0]["Principal"]
    assert sorted(principal["RAM"]) == [f"acs:ram::{hub}:role/fc-rolegate-{fn}" for fn in ("onboard", "remediate",
                                                                                           "revoke")]
    assert shell.default_document("RolegateManager") == json.loads(
        (syaml.REPO / "deploy/manager-policy.json").read_text())
    shell.run("--manager", hub)
    assert not [c for c in shell.calls() if c.startswith("Create")]
    assert [p.policy_name for p in shell.ram().find_role("RolegateManager").attached] == ["RolegateManager"]


def test_manager_needs_an_account_id(emulator: EmulatorServer, tmp_path: Path) -> None:
    shell = Shell(emulator, tmp_path, emulator.create_account("member"))
    shell.log.write_text("")
    done = subprocess.run(["bash", str(SCRIPT), "--manager", "12345"], capture_output=True, text=True,
                          env=shell.env, check=False)
    assert done.returncode != 0 and "16-digit" in done.stderr
    assert shell.calls() == []


def test_hub_policy_goes_to_the_three_functions_that_act_in_members(emulator: EmulatorServer,
                                                                    tmp_path: Path) -> None:
    shell = Shell(emulator, tmp_path, emulator.create_account("hub"))
    shell.run()
    shell.run("--hub")
    state = shell.ram()
    holders = sorted(name for name, role in state.roles.items()
                     if any(p.policy_name.lower() == "fc-rolegate-hub" for p in role.attached))
    assert holders == ["fc-rolegate-onboard", "fc-rolegate-remediate", "fc-rolegate-revoke"]
    assert shell.default_document("fc-rolegate-hub") == json.loads(
        (syaml.REPO / "deploy/hub-policy.json").read_text())
