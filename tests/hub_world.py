"""A hub account running Rolegate for member accounts, built in the emulator for tests.

Cast: hub H manages a Resource Directory with members A and B; D is an
outsider. The hub's functions run as sessions of their roles
``fc-rolegate-<fn>`` (assumed by ``fc-runtime``, a RAM user of H standing in
for Function Compute), each holding its policy from ``deploy/policies/`` and
deploy/hub-policy.json, which lets it reach the members' manager roles.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alibabacloud_ram20150501 import models as ram_models

from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.sts import assume_role
from tests.emulator.helpers import create_user_with_policy, ram_client, record_keyring

Creds = dict[str, Any]
_REPO = Path(__file__).resolve().parents[1]
MANAGER_ROLE = "RolegateManager"
DIRECTORY_PATH = "/_emulator/resource-directory"
# deploy/hub-policy.json's two statements: the members' manager roles, and the directory's members.
HUB_STATEMENT, DIRECTORY_STATEMENT = json.loads((_REPO / "deploy" / "hub-policy.json").read_text())["Statement"]
ADMIN_POLICY = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def creds_of(made: dict[str, Any]) -> Creds:
    return {"account_id": made["account_id"], "access_key_id": made["access_key_id"],
            "access_key_secret": made["access_key_secret"]}


def to_credentials(creds: Creds) -> Credentials:
    return Credentials(creds["access_key_id"], creds["access_key_secret"], creds.get("security_token"))


def trust_of_roles(*arns: str) -> str:
    return json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"RAM": list(arns)}}]})


@dataclass
class HubWorld:
    emulator: Any
    hub: Creds
    members: dict[str, Creds]  # "A", "B": root keys of the directory's members
    outsider: Creds
    admins: dict[str, Creds] = field(default_factory=dict)  # a RAM administrator of each member (not root)

    @property
    def hub_id(self) -> str:
        return self.hub["account_id"]

    def member_id(self, name: str) -> str:
        return self.members[name]["account_id"]

    def function_creds(self, function: str = "onboard", *, extra: list[dict[str, Any]] | None = None,
                       hub_policy: bool = True) -> Creds:
        """A session of the hub's role fc-rolegate-<function>, holding its deployed policy and (``hub_policy``)
        deploy/hub-policy.json's statements."""
        policy = json.loads((_REPO / "deploy" / "policies" / f"{function}.json").read_text())
        hub = [HUB_STATEMENT, DIRECTORY_STATEMENT] if hub_policy else []
        policy["Statement"] += [*hub, *(extra or [])]
        role = f"fc-rolegate-{function}"
        ram = ram_client(self.emulator, self.hub)
        runner = self._runner()
        ram.create_role(ram_models.CreateRoleRequest(role_name=role, assume_role_policy_document=trust_of_roles(
            f"acs:ram::{self.hub_id}:user/fc-runtime")))
        ram.create_policy(ram_models.CreatePolicyRequest(policy_name=role, policy_document=json.dumps(policy)))
        ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=role,
                                                                       role_name=role))
        session = assume_role(self._factory(runner), f"acs:ram::{self.hub_id}:role/{role}", "fc-instance")
        return {"account_id": self.hub_id, "access_key_id": session.access_key_id,
                "access_key_secret": session.access_key_secret, "security_token": session.security_token}

    def _runner(self) -> Creds:
        if "fc-runtime" not in self.admins:
            self.admins["fc-runtime"] = create_user_with_policy(
                self.emulator, self.hub, "fc-runtime",
                {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
        return self.admins["fc-runtime"]

    def _factory(self, creds: Creds) -> ClientFactory:
        return ClientFactory(to_credentials(creds), endpoint=self.emulator.endpoint)

    def make_manager_role(self, name: str, trust: str | None = None,
                          policy: dict[str, Any] | None = None) -> None:
        """A manager role in member ``name`` made by hand (trusting the hub's onboard role unless told otherwise)."""
        ram = ram_client(self.emulator, self.members[name])
        trust = trust or trust_of_roles(*(f"acs:ram::{self.hub_id}:role/fc-rolegate-{fn}"
                                          for fn in ("onboard", "revoke", "remediate")))
        ram.create_role(ram_models.CreateRoleRequest(role_name=MANAGER_ROLE, assume_role_policy_document=trust))
        document = json.dumps(policy or ADMIN_POLICY)
        ram.create_policy(ram_models.CreatePolicyRequest(policy_name="rolegate-manager-test", policy_document=document))
        ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
            policy_type="Custom", policy_name="rolegate-manager-test", role_name=MANAGER_ROLE))

    def admin_of(self, name: str) -> Creds:
        """A RAM user of member ``name`` allowed everything: the member's own administrator."""
        if name not in self.admins:
            self.admins[name] = create_user_with_policy(self.emulator, self.members[name], "member-admin",
                                                        ADMIN_POLICY)
        return self.admins[name]


def hub_world(emulator: Any, *, directory: bool = True) -> HubWorld:
    """Hub H (with its record key), members A and B of H's Resource Directory, outsider D."""
    hub = creds_of(emulator.create_account("hub"))
    record_keyring(emulator, hub)
    members = {name: creds_of(emulator.create_account(f"member-{name.lower()}")) for name in ("A", "B")}
    outsider = creds_of(emulator.create_account("outsider"))
    if directory:
        emulator.admin("POST", DIRECTORY_PATH, {"management_account_id": hub["account_id"],
                                                "member_account_ids": [m["account_id"] for m in members.values()]})
    return HubWorld(emulator, hub, members, outsider)
