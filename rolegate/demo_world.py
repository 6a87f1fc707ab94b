"""The world the local host starts with: two companies, as the seed documents tell it.

Company A (the owner) runs Rolegate. Each of its four functions has its own
RAM role, trusted by ``fc.aliyuncs.com`` and holding exactly the function's
policy from ``deploy/policies/<function>.json`` (none while that file does not
exist), so with the emulator's authorization on, the functions can do what
their shipped policies allow and nothing more. A also has an operator,
``ops-admin``, a RAM user with ``AliyunRAMFullAccess`` (the account admin of
the least-privilege guide), some Function Compute 3.0 functions and 2.0
services, an ECS instance, and the grant-record key: the KMS secret
``rolegate-record-key``, made with A's root key as ``rolegate keys init`` makes
it. The functions' policies allow them to read it, as in the cloud, and so does
a policy of ``ops-admin``, who runs ``rolegate grants`` (an operator holding the key).

Company B (the partner) has the RAM user Alice holding
``AliyunSTSAssumeRoleAccess``, its own Function Compute resources, and its own
deployment of the query function (a role in B holding ``query.json``): the
query function looks into other accounts through roles they granted, so it is
B's deployment that shows what a grant from A lets B reach.

Company A is also a hub: it manages a Resource Directory whose one member,
company M, is enrolled as ``rolegate members enroll`` enrols a member (the
manager role ``RolegateManager``, trusted by A's onboard, revoke and remediate
roles only, holding ``deploy/manager-policy.json``), and those three roles
hold ``deploy/hub-policy.json`` as ``deploy/roles.sh --hub`` attaches it. M has
an administrator of its own, ``m-admin`` (``AliyunRAMFullAccess``), and some
Function Compute 3.0 functions; it holds no record key (A's seals its grants).

Everything is made through the public APIs (RAM, FC 3.0 and FC 2.0 SDKs, the
emulator's admin API), except the functions' role sessions: on Function
Compute the service assumes the function's role and hands the session to the
runtime; here :meth:`FunctionIdentity.session` plays that part and mints the
session in the emulator directly, since no API lets a caller act as
``fc.aliyuncs.com``.
"""
from __future__ import annotations

import base64
import io
import json
import secrets
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from emulator import EmulatorServer
from emulator.identity import Identity
from emulator.services.ram import ram_state
from emulator.world import World, random_token
from rolegate.project import FUNCTIONS, Project

if TYPE_CHECKING:
    from shared.clients import ClientFactory

FC_SERVICE = "fc.aliyuncs.com"
HUB_FUNCTIONS = ("onboard", "revoke", "remediate")  # the functions that act in members
HUB_POLICY = "fc-rolegate-hub"  # deploy/hub-policy.json, as deploy/roles.sh --hub names it
SESSION_HOURS = 36  # what FC gives a function's role session
REFRESH_BEFORE = timedelta(hours=1)
REGION = "cn-hangzhou"
OWNER_FUNCTIONS = ("orders-api", "billing-worker", "report-builder")
OWNER_SERVICES = {"legacy-reports": ("daily-summary",)}
PARTNER_FUNCTIONS = ("partner-etl",)
PARTNER_SERVICES = {"partner-sync": ("nightly-sync",)}
MEMBER_FUNCTIONS = ("ledger-api", "stock-sync")


@dataclass(frozen=True)
class Key:
    """An AccessKey pair (with the STS token for a session) of one identity in one account."""

    account_id: str
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def clients(self, endpoint: str) -> ClientFactory:
        """Rolegate's own client factory signing with this key, talking plain HTTP to ``endpoint``."""
        from shared.clients import ClientFactory
        from shared.credentials import Credentials

        return ClientFactory(Credentials(self.access_key_id, self.access_key_secret, self.security_token),
                             region=REGION, endpoint=endpoint)

    def stock_ram(self, endpoint: str) -> Any:
        """The stock RAM SDK's client signing with this key: the world is made as an account's administrator makes
        it, with calls (users, access keys) Rolegate's own RAM gateway never makes."""
        from alibabacloud_ram20150501.client import Client

        from shared.clients import RAM_ENDPOINT

        return Client(self.clients(endpoint).sdk_config(RAM_ENDPOINT))

    def env(self) -> dict[str, str]:
        """The variables the FC runtime and the default credential chain read."""
        out = {"ALIBABA_CLOUD_ACCESS_KEY_ID": self.access_key_id,
               "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.access_key_secret}
        if self.security_token:
            out["ALIBABA_CLOUD_SECURITY_TOKEN"] = self.security_token
        return out


@dataclass
class FunctionIdentity:
    """The RAM role one function runs as, and the sessions FC would hand it."""

    function: str
    account_id: str
    role_name: str
    policy_name: str | None
    _session: Key | None = field(default=None, init=False, repr=False)
    _expires: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def role_arn(self) -> str:
        from shared.policies.principals import role_arn

        return role_arn(self.account_id, self.role_name)

    @property
    def session_name(self) -> str:
        return f"fc-{self.function}"

    def session(self, world: World) -> Key:
        """A session of the role, re-minted when less than an hour is left on the emulator's clock."""
        with self._lock:
            now = world.clock.now()
            if self._session is None or self._expires - now < REFRESH_BEFORE:
                self._session, self._expires = _mint(world, self.account_id, self.role_name, self.session_name)
            return self._session


def _mint(world: World, account_id: str, role_name: str, session_name: str) -> tuple[Key, Any]:
    role = ram_state(world.account(account_id)).find_role(role_name)
    if role is None:
        raise LookupError(f"role {role_name} is missing from account {account_id}")
    expires = (world.clock.now() + timedelta(hours=SESSION_HOURS)).replace(microsecond=0)
    identity = Identity("assumed-role", account_id, role.name, session_name=session_name, role_id=role.role_id,
                        principal_id=f"{role.role_id}:{session_name}")
    record = world.issue_key(identity, prefix="STS.", token="CAIS" + random_token(320), expires_at=expires)
    return Key(account_id, record.access_key_id, record.secret, record.security_token), expires


@dataclass
class DemoWorld:
    """Who is who in the seeded emulator; printed by the local host, used by the demo."""

    owner_id: str
    partner_id: str
    owner_root: Key
    partner_root: Key
    operator: Key
    alice: Key
    external_id: str
    functions: dict[str, FunctionIdentity]
    partner_query: FunctionIdentity
    instance_id: str
    resources: dict[str, dict[str, list[str]]]  # account -> {"functions": [...], "services": [...]}
    record_key_secret: str = "rolegate-record-key"  # A's KMS secret holding the grant-record key
    member_id: str = ""  # company M, the member of A's Resource Directory
    member_root: Key | None = None
    member_admin: Key | None = None  # m-admin, M's own administrator


# ---------------------------------------------------------------------- seeding
def _root(made: dict[str, str]) -> Key:
    return Key(made["account_id"], made["access_key_id"], made["access_key_secret"])


def _user(endpoint: str, root: Key, name: str, system_policies: tuple[str, ...]) -> Key:
    from alibabacloud_ram20150501 import models

    ram = root.stock_ram(endpoint)
    ram.create_user(models.CreateUserRequest(user_name=name))
    for policy in system_policies:
        ram.attach_policy_to_user(models.AttachPolicyToUserRequest(policy_type="System", policy_name=policy,
                                                                   user_name=name))
    key = ram.create_access_key(models.CreateAccessKeyRequest(user_name=name)).body.access_key
    return Key(root.account_id, key.access_key_id, key.access_key_secret)


def _function_role(endpoint: str, root: Key, function: str, role_name: str,
                   policy: dict[str, Any] | None) -> FunctionIdentity:
    from alibabacloud_ram20150501 import models

    ram = root.stock_ram(endpoint)
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": [FC_SERVICE]}}]}
    ram.create_role(models.CreateRoleRequest(role_name=role_name, assume_role_policy_document=json.dumps(trust),
                                             description=f"Function Compute role of the {function} function"))
    policy_name = None
    if policy is not None:
        policy_name = f"{role_name}Policy"
        ram.create_policy(models.CreatePolicyRequest(policy_name=policy_name, policy_document=json.dumps(policy),
                                                     description=f"deploy/policies/{function}.json"))
        ram.attach_policy_to_role(models.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=policy_name,
                                                                   role_name=role_name))
    return FunctionIdentity(function, root.account_id, role_name, policy_name)


def _code_zip() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 'ok'\n")
    return base64.b64encode(buffer.getvalue()).decode()


def _fc_resources(endpoint: str, root: Key, functions: tuple[str, ...],
                  services: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """FC 3.0 functions and FC 2.0 services (with functions), made through both SDKs."""
    from alibabacloud_fc20230330 import models as fc3
    from alibabacloud_fc_open20210406 import models as fc2

    from alibabacloud_fc20230330.client import Client as Fc3Client
    from alibabacloud_fc_open20210406.client import Client as Fc2Client

    code = _code_zip()
    client3 = Fc3Client(root.clients(endpoint).fc_config(None))
    for name in functions:
        client3.create_function(fc3.CreateFunctionRequest(body=fc3.CreateFunctionInput(
            function_name=name, runtime="python3.10", handler="index.handler", memory_size=256, timeout=30,
            description=f"{name} (demo)", code=fc3.InputCodeLocation(zip_file=code))))
    client2 = Fc2Client(root.clients(endpoint).fc_config(None))
    for service, service_functions in services.items():
        client2.create_service(fc2.CreateServiceRequest(service_name=service, description=f"{service} (FC 2.0)"))
        for name in service_functions:
            client2.create_function(service, fc2.CreateFunctionRequest(
                function_name=name, runtime="python3.10", handler="index.handler", code=fc2.Code(zip_file=code)))
    return {"functions": sorted(functions), "services": sorted(services)}


RECORD_KEY_READER = "RolegateRecordKeyReader"


def _record_key(endpoint: str, root: Key, reader: str) -> str:
    """The grant-record key's KMS secret in ``root``'s account, made as ``rolegate keys init`` makes it.

    RAM user ``reader`` (the operator) gets a policy allowing it to read the key.
    """
    from alibabacloud_ram20150501 import models

    from rolegate.environ import patched_environ
    from shared.kms import DEFAULT_SECRET_NAME, init_secret

    with patched_environ({"ROLEGATE_LOG_LEVEL": "error"}):  # "not found yet" is the expected first answer
        init_secret(root.clients(endpoint).kms(), DEFAULT_SECRET_NAME)
    document = {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["kms:GetSecretValue", "kms:ListSecretVersionIds"],
        "Resource": f"acs:kms:*:{root.account_id}:secret/{DEFAULT_SECRET_NAME}"}]}
    ram = root.stock_ram(endpoint)
    ram.create_policy(models.CreatePolicyRequest(policy_name=RECORD_KEY_READER, policy_document=json.dumps(document),
                                                 description="reads the grant-record key (rolegate grants)"))
    ram.attach_policy_to_user(models.AttachPolicyToUserRequest(policy_type="Custom", policy_name=RECORD_KEY_READER,
                                                               user_name=reader))
    return DEFAULT_SECRET_NAME


def _hub_policy(endpoint: str, root: Key, project: Project, identities: dict[str, FunctionIdentity]) -> None:
    """``deploy/hub-policy.json`` on the roles of the functions that act in members, as ``roles.sh --hub`` does."""
    from alibabacloud_ram20150501 import models

    ram = root.stock_ram(endpoint)
    ram.create_policy(models.CreatePolicyRequest(
        policy_name=HUB_POLICY, policy_document=(project.root / "deploy" / "hub-policy.json").read_text(),
        description="deploy/hub-policy.json"))
    for function in HUB_FUNCTIONS:
        ram.attach_policy_to_role(models.AttachPolicyToRoleRequest(
            policy_type="Custom", policy_name=HUB_POLICY, role_name=identities[function].role_name))


def _member(emulator: EmulatorServer, hub: Key) -> tuple[Key, Key]:
    """Company M in A's Resource Directory, enrolled with its manager role; its root and its administrator."""
    from rolegate.cli_members import ManagerRole, Member, manager_policy
    from shared.members import DEFAULT_MANAGER_ROLE

    member = _root(emulator.create_account("company-m"))
    emulator.admin("POST", "/_emulator/resource-directory", {"management_account_id": hub.account_id,
                                                             "member_account_ids": [member.account_id]})
    enrolled = Member(member.account_id)
    ManagerRole(member.clients(emulator.endpoint), hub.account_id, DEFAULT_MANAGER_ROLE,
                manager_policy()).enroll(enrolled, f"Rolegate's functions of hub account {hub.account_id}")
    if not enrolled.ok:
        raise RuntimeError(f"enrolling company M failed: {enrolled.to_dict()}")
    return member, _user(emulator.endpoint, member, "m-admin", ("AliyunRAMFullAccess",))


def role_name_for_function(project: Project, function: str) -> str:
    return project.functions[function].role_name or f"Rolegate{function.capitalize()}"


def seed(emulator: EmulatorServer, project: Project) -> DemoWorld:
    """Populate a fresh emulator with the two companies (see the module docstring)."""
    endpoint = emulator.endpoint
    owner = _root(emulator.create_account("company-a"))
    partner = _root(emulator.create_account("company-b"))
    identities = {name: _function_role(endpoint, owner, name, role_name_for_function(project, name),
                                       project.policy(name))
                  for name in FUNCTIONS}
    partner_query = _function_role(endpoint, partner, "query", role_name_for_function(project, "query"),
                                   project.policy("query"))
    operator = _user(endpoint, owner, "ops-admin", ("AliyunRAMFullAccess", "AliyunSTSAssumeRoleAccess"))
    alice = _user(endpoint, partner, "Alice", ("AliyunSTSAssumeRoleAccess",))
    instance = emulator.admin("POST", "/_emulator/ecs/instances", {"account_id": owner.account_id,
                                                                    "region": REGION})["instance_id"]
    resources = {
        owner.account_id: _fc_resources(endpoint, owner, OWNER_FUNCTIONS, OWNER_SERVICES),
        partner.account_id: _fc_resources(endpoint, partner, PARTNER_FUNCTIONS, PARTNER_SERVICES),
    }
    record_key_secret = _record_key(endpoint, owner, "ops-admin")
    _hub_policy(endpoint, owner, project, identities)
    member, member_admin = _member(emulator, owner)
    resources[member.account_id] = _fc_resources(endpoint, member, MEMBER_FUNCTIONS, {})
    return DemoWorld(owner.account_id, partner.account_id, owner, partner, operator, alice,
                     external_id="b-" + secrets.token_hex(8), functions=identities, partner_query=partner_query,
                     instance_id=instance, resources=resources, record_key_secret=record_key_secret,
                     member_id=member.account_id, member_root=member, member_admin=member_admin)


__all__ = ["DemoWorld", "FunctionIdentity", "Key", "REGION", "seed"]
