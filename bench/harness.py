"""What every benchmark needs: the emulator in its own process, accounts and identities, tables and verdicts.

The emulator runs as ``python -m emulator serve`` in a separate process, so
its CPU time is not charged to the function being measured (and the
function's peak RSS does not include it), much as the cloud is somewhere else.
Setup goes through the admin API and the official SDKs, like any client.

The functions run with what Function Compute would give them: the
environment variables ``s.yaml`` deploys them with (their defaults, resolved
by ``rolegate.project``), its timeout, the AccessKey of an identity in the
owner account holding exactly the function's policy from
``deploy/policies/<name>.json`` (authorization stays on), ``FC_ACCOUNT_ID``,
``FC_REGION`` and ``ROLEGATE_ENDPOINT`` pointing at the emulator. A benchmark
overrides a setting only where it says so.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
REGION = "cn-hangzhou"
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
# Nothing of the caller's own cloud setup may leak into a function under test.
FUNCTION_ENV_PREFIXES = ("ROLEGATE_", "ALIBABA_CLOUD_", "FC_")
# Each product's SDK package, named as the emulator's call log names the product.
SDK_OF_PRODUCT = {
    "ram": "alibabacloud_ram20150501",
    "sts": "alibabacloud_sts20150401",
    "ecs": "alibabacloud_ecs20140526",
    "fc3": "alibabacloud_fc20230330",
    "fc2": "alibabacloud_fc_open20210406",
    "kms": "alibabacloud_kms20160120",
}
FC_MEMORY_FLOOR_MB = 128  # Function Compute's smallest memory size
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"

Creds = dict[str, str]


# ------------------------------------------------------------------ environment
def base_env(**extra: str) -> dict[str, str]:
    """This process's environment without proxies or cloud settings, with the repository importable."""
    env = {k: v for k, v in os.environ.items()
           if k not in PROXY_VARS and not k.startswith(FUNCTION_ENV_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def compile_sources() -> None:
    """Compile the repository's code to bytecode, as a built package ships it (``rolegate.package``).

    The SDKs' bytecode was written by pip when they were installed; the
    repository's is not written by a child that imports it when
    ``PYTHONDONTWRITEBYTECODE`` is set, which would leave the handler
    compiling its modules in every measured run while the floor does not.
    """
    import compileall

    for directory in ("shared", "functions", "bench"):
        if not compileall.compile_dir(REPO / directory, quiet=2):
            raise RuntimeError(f"{directory}/ did not compile")


def drop_proxies() -> None:
    """Loopback calls must not go to a proxy set in the environment (the SDK would honour it)."""
    for name in PROXY_VARS:
        os.environ.pop(name, None)


@contextlib.contextmanager
def function_environment(env: dict[str, str]) -> Iterator[None]:
    """Run a handler in this process with ``env`` as the function's environment, restored afterwards.

    Process-wide caches (clients, role sessions, record keys) are emptied on entry,
    so every block starts as a cold instance would; within the block they stay warm.
    """
    from shared import clients, kms, sts

    saved = {k: v for k, v in os.environ.items() if k.startswith(FUNCTION_ENV_PREFIXES)}
    for name in saved:
        del os.environ[name]
    os.environ.update(env)
    clients.clear_cache()
    sts.default_assumer().clear()
    kms.clear_cache()
    try:
        yield
    finally:
        for name in [n for n in os.environ if n.startswith(FUNCTION_ENV_PREFIXES)]:
            del os.environ[name]
        os.environ.update(saved)
        clients.clear_cache()
        sts.default_assumer().clear()
        kms.clear_cache()


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Swallow the JSON log lines written to stdout (they are still produced, so their cost counts)."""
    with contextlib.redirect_stdout(io.StringIO()) as sink:
        yield
    sink.close()


# --------------------------------------------------------------------- emulator
class Emulator:
    """``python -m emulator serve`` on a free loopback port, driven through its admin API."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.endpoint = ""

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def __enter__(self) -> "Emulator":
        self._proc = subprocess.Popen([PYTHON, "-m", "emulator", "serve", "--host", "127.0.0.1", "--port", "0"],
                                      cwd=REPO, env=base_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.endpoint = line.rsplit(" ", 1)[1].strip()
        threading.Thread(target=self._proc.stdout.read, daemon=True).start()  # keep the pipe drained
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._proc = None

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        from emulator.server import admin_call

        return admin_call(self.url, method, path, body)

    def create_account(self, alias: str = "") -> Creds:
        made = self.admin("POST", "/_emulator/accounts", {"alias": alias})
        return {k: made[k] for k in ("account_id", "access_key_id", "access_key_secret")}

    def settings(self, **body: Any) -> Any:
        return self.admin("POST", "/_emulator/settings", body)

    def add_fault(self, **rule: Any) -> Any:
        return self.admin("POST", "/_emulator/faults", rule)

    def clear_faults(self) -> None:
        self.admin("DELETE", "/_emulator/faults")

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        return self.admin("GET", f"/_emulator/calls?since={since}")["calls"]

    def mark(self) -> int:
        """The call log position now: ``calls(mark)`` is everything served after it."""
        calls = self.calls()
        return calls[-1]["seq"] if calls else 0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.admin("GET", "/_emulator/clock")["epoch"], timezone.utc)

    def reset(self) -> None:
        self.admin("POST", "/_emulator/reset")


# ------------------------------------------------------------- built packages
@dataclass(frozen=True)
class Runtime:
    """How a function's cold start is run as Function Compute runs it: its built package on the runtime's Python.

    ``python`` is the interpreter (``python3.12``, the runtime ``s.yaml``
    names, when this machine has one); ``handler`` maps each function to its
    package ``build/<fn>``; ``floor`` to the stock-SDK package built beside it
    (``build/.bench/floor-<fn>``): the same product SDKs with every dependency
    they declare, as a user deploying the SDK would ship it.
    """

    python: str
    version: str
    handler: dict[str, Path]
    floor: dict[str, Path]


_BENCH_BUILD = REPO / "build" / ".bench"
# Product SDKs a stock-SDK implementation calls that the function's package does without: the functions call
# RAM, KMS, FC (query) and ECS (remediation) through the SDK core's generic client, a user of the stock SDK
# through their SDKs (pinned in requirements-dev.txt).
_STOCK = {"alibabacloud_kms20160120": "alibabacloud-kms20160120",
          "alibabacloud_ram20150501": "alibabacloud-ram20150501"}
FLOOR_ONLY_SDKS = {"onboard": _STOCK, "revoke": _STOCK,
                   "query": {"alibabacloud_fc20230330": "alibabacloud-fc20230330",
                             "alibabacloud_fc_open20210406": "alibabacloud-fc-open20210406"},
                   "remediate": {**_STOCK, "alibabacloud_ecs20140526": "alibabacloud-ecs20140526"}}


def _sources_digest(name: str) -> str:
    """What the function's package is built from: if this changed since the build, the package is stale."""
    import hashlib

    digest = hashlib.sha256()
    roots = [REPO / "functions" / name, REPO / "shared"]
    files = [REPO / "requirements.txt", REPO / "deploy" / ".fcignore", REPO / "rolegate" / "package.py",
             REPO / "rolegate" / "validators.py"]  # writes the request validators into each package
    for root in roots:
        files += [f for f in root.rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    for path in sorted(files):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _floor_requirements() -> Path:
    """requirements.txt plus the pins of the stock SDKs only a floor calls (from requirements-dev.txt)."""
    wanted = {dist for sdks in FLOOR_ONLY_SDKS.values() for dist in sdks.values()}
    dev = (REPO / "requirements-dev.txt").read_text().splitlines()
    pins = [line for line in dev if line.split("==")[0].strip() in wanted]
    if len(pins) != len(wanted):
        raise RuntimeError(f"requirements-dev.txt pins none of {sorted(wanted)}: the floors cannot be built")
    path = _BENCH_BUILD / "floor-requirements.txt"
    path.write_text((REPO / "requirements.txt").read_text() + "\n".join(pins) + "\n")
    return path


def runtime(functions: Sequence[str]) -> Runtime:
    """Each function's built package (built again when missing or stale) and its floor package; the interpreter.

    Building goes through ``rolegate.package`` exactly as ``rolegate package``
    does (all functions at once, so ``build/manifest.json`` stays whole).
    """
    from rolegate import package as pk

    _BENCH_BUILD.mkdir(parents=True, exist_ok=True)
    with pk._locked(_BENCH_BUILD):  # benchmarks run side by side (the smoke tests) build and copy one at a time
        return _runtime(pk, functions)


def _runtime(pk: Any, functions: Sequence[str]) -> Runtime:
    every = pk.function_names(REPO)
    digests = {name: _sources_digest(name) for name in every}
    stamp = _BENCH_BUILD / "sources.json"
    built = json.loads(stamp.read_text()) if stamp.is_file() else {}
    stale = [n for n in every if built.get(n) != digests[n] or not (REPO / "build" / n / "index.py").is_file()]
    if any(n in stale for n in functions):
        with silenced():
            report = pk.build(every)
        if report.bytecode is None or report.local_fallback:
            raise RuntimeError(f"the packages were not built for the runtime: {report.notes}")
        stamp.write_text(json.dumps(digests))
    target = pk.Target()
    python = pk.find_python(target.python_version)
    if python is None:
        raise RuntimeError(f"no Python {target.python_version} on this machine: the runtime cannot be reproduced")
    site, actual, _ = pk.install_dependencies(_floor_requirements(), REPO / "build" / pk.CACHE_DIR, target)
    pk.compile_site(site, python, REPO / "build" / pk.CACHE_DIR)
    floors: dict[str, Path] = {}
    for name in functions:
        floor = _BENCH_BUILD / f"floor-{name}"
        marker = floor / ".built-from"
        if not marker.is_file() or marker.read_text() != site.name:
            import shutil

            shutil.rmtree(floor, ignore_errors=True)
            pk._copy_tree(site, floor, with_bytecode=True)
            pk.drop_unused_sdks(floor, pk.FUNCTION_SDKS[name] | set(FLOOR_ONLY_SDKS.get(name, {})))
            marker.write_text(site.name)
        floors[name] = floor
    # The floor's own module is loaded from bench/ by path; give it the runtime's bytecode too.
    subprocess.run([python, "-I", "-m", "py_compile", str(REPO / "bench" / "floors.py")], check=True)
    return Runtime(python, target.python_version, {n: REPO / "build" / n for n in functions}, floors)


# ------------------------------------------------------------------ SDK clients
def client_factory(emu: Emulator, creds: Creds) -> Any:
    """Rolegate's own client factory signing with ``creds``, talking plain HTTP to the emulator."""
    from shared.clients import ClientFactory
    from shared.credentials import Credentials

    key = Credentials(creds["access_key_id"], creds["access_key_secret"], creds.get("security_token"))
    return ClientFactory(key, region=REGION, endpoint=emu.endpoint)


def fc2_client(emu: Emulator, creds: Creds) -> Any:
    """The stock FC 2.0 SDK's client (the query function lists services through the SDK core's generic one)."""
    from alibabacloud_fc_open20210406.client import Client

    return Client(client_factory(emu, creds).fc_config(None))


def ecs_client(emu: Emulator, creds: Creds) -> Any:
    """The stock ECS SDK's client (the functions call ECS through the SDK core's generic client)."""
    from alibabacloud_ecs20140526.client import Client

    return Client(client_factory(emu, creds).sdk_config())


def ram_client(emu: Emulator, creds: Creds) -> Any:
    """The stock RAM SDK's client (a subclass of the SDK core's generic client that Rolegate's RAM gateway takes)."""
    from alibabacloud_ram20150501.client import Client

    from shared.clients import RAM_ENDPOINT

    return Client(client_factory(emu, creds).sdk_config(RAM_ENDPOINT))


def record_keyring(emu: Emulator, creds: Creds) -> Any:
    """The account's grant-record keyring, its KMS secret created as `rolegate keys init` would."""
    from shared.kms import DEFAULT_SECRET_NAME, KmsKeyring, init_secret

    client = client_factory(emu, creds).kms()
    init_secret(client, DEFAULT_SECRET_NAME)
    return KmsKeyring(client, DEFAULT_SECRET_NAME)


def fc3_client(emu: Emulator, creds: Creds) -> Any:
    """The stock FC 3.0 SDK's client (the query function lists functions through the SDK core's generic one)."""
    from alibabacloud_fc20230330.client import Client

    return Client(client_factory(emu, creds).fc_config(None))


# ---------------------------------------------------------------- identities
def repo_policy(name: str) -> dict[str, Any]:
    """The function's deployed RAM policy."""
    return json.loads((REPO / "deploy" / "policies" / f"{name}.json").read_text(encoding="utf-8"))


def function_user(emu: Emulator, root: Creds, user_name: str, policy: dict[str, Any]) -> Creds:
    """A RAM user of ``root``'s account holding exactly ``policy``, with an AccessKey: the function's identity."""
    from alibabacloud_ram20150501 import models

    ram = ram_client(emu, root)
    ram.create_user(models.CreateUserRequest(user_name=user_name))
    ram.create_policy(models.CreatePolicyRequest(policy_name=f"{user_name}-policy",
                                                 policy_document=json.dumps(policy)))
    ram.attach_policy_to_user(models.AttachPolicyToUserRequest(policy_type="Custom",
                                                               policy_name=f"{user_name}-policy",
                                                               user_name=user_name))
    key = ram.create_access_key(models.CreateAccessKeyRequest(user_name=user_name)).body.access_key
    return {"account_id": root["account_id"], "access_key_id": key.access_key_id,
            "access_key_secret": key.access_key_secret}


def role_trusting(emu: Emulator, root: Creds, role_name: str, trusted: Any, *, system_policy: str | None = None,
                  custom_policy: dict[str, Any] | None = None) -> None:
    """A role in ``root``'s account trusting ``trusted`` (an account id or a principal), holding one policy."""
    from alibabacloud_ram20150501 import models

    from shared.policies.document import canonical_json
    from shared.policies.principals import AccountPrincipal
    from shared.policies.trust import trust_policy

    principal = AccountPrincipal(trusted, None) if isinstance(trusted, str) else trusted
    ram = ram_client(emu, root)
    ram.create_role(models.CreateRoleRequest(role_name=role_name,
                                             assume_role_policy_document=canonical_json(trust_policy(principal))))
    if custom_policy is not None:
        ram.create_policy(models.CreatePolicyRequest(policy_name=f"{role_name}-policy",
                                                     policy_document=json.dumps(custom_policy)))
        ram.attach_policy_to_role(models.AttachPolicyToRoleRequest(
            role_name=role_name, policy_name=f"{role_name}-policy", policy_type="Custom"))
    if system_policy is not None:
        ram.attach_policy_to_role(models.AttachPolicyToRoleRequest(
            role_name=role_name, policy_name=system_policy, policy_type="System"))


@functools.lru_cache(maxsize=None)
def deployed(name: str) -> Any:
    """The function as ``s.yaml`` deploys it (timeout, environment with its defaults), via ``rolegate.project``."""
    from rolegate.project import Project

    return Project.load(REPO).functions[name]


def function_env(emu: Emulator, identity: Creds, function: str, **settings: str) -> dict[str, str]:
    """The environment Function Compute gives ``function`` running as ``identity``.

    Its deployed variables, the runtime's credentials, account and region,
    the emulator's endpoint, then ``settings`` on top. The clock is the
    machine's, as in the cloud (``ROLEGATE_CLOCK=machine``): no benchmark moves
    the emulator's clock, so reading it would only add a cost users never pay.
    """
    return {**deployed(function).environment,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": identity["access_key_id"],
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": identity["access_key_secret"],
            "FC_ACCOUNT_ID": identity["account_id"], "FC_REGION": REGION,
            "ROLEGATE_ENDPOINT": emu.endpoint, "ROLEGATE_CLOCK": "machine", **settings}


@dataclass
class FakeContext:
    """The parts of FC's invocation context the handlers read."""

    account_id: str
    request_id: str = "1-bench-0000"
    region: str = REGION
    function: Any = None

    @classmethod
    def of(cls, account_id: str, name: str, timeout: float = 60, memory: int = 512) -> "FakeContext":
        from types import SimpleNamespace

        return cls(account_id, function=SimpleNamespace(name=f"rolegate-{name}", handler="index.handler",
                                                        memory=memory, timeout=timeout))

    def to_dict(self) -> dict[str, Any]:
        meta = self.function
        return {"account_id": self.account_id, "request_id": self.request_id, "region": self.region,
                "function": {"name": meta.name, "handler": meta.handler, "memory": meta.memory,
                             "timeout": meta.timeout}}


def function_timeout(name: str) -> int:
    """The function's timeout as deployed."""
    return int(deployed(name).timeout)


# ---------------------------------------------------------------------- grants
SYSTEM_POLICIES = ("AliyunECSReadOnlyAccess", "AliyunOSSReadOnlyAccess", "AliyunFCReadOnlyAccess")
CUSTOM_DOCUMENT = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject",
                                                  "Resource": "acs:oss:*:*:bench-bucket/*"}]}


def make_grant(owner: str, partner: str, *, system: int, custom: int, expires_at: datetime,
               created_at: datetime) -> Any:
    """A grant of ``system`` system policies and ``custom`` custom ones, trusting the partner account."""
    from shared.grants.model import Grant, PolicyRef, new_grant_id
    from shared.grants.naming import custom_policy_name, role_name_for
    from shared.policies.principals import AccountPrincipal

    grant_id = new_grant_id()
    policies = [PolicyRef(name, "System") for name in SYSTEM_POLICIES[:system]]
    policies += [PolicyRef(custom_policy_name(grant_id, i), "Custom", document=CUSTOM_DOCUMENT)
                 for i in range(custom)]
    return Grant(grant_id=grant_id, owner_account_id=owner, partner_account_id=partner,
                 principal=AccountPrincipal(partner, f"bench-{grant_id}"), policies=tuple(policies),
                 role_name=role_name_for(partner, grant_id), max_session_duration=3600,
                 created_at=created_at, expires_at=expires_at)


def create_grants(emu: Emulator, root: Creds, grants: Sequence[Any], workers: int = 16, *,
                  keyring: Any = None) -> None:
    """Create ``grants`` in ``root``'s account through ``GrantStore.create``, several at a time.

    Sealed with ``keyring``, a hub's record key for a member's grants; by default the account's own.
    """
    from shared.grants.lifecycle import GrantStore

    store = GrantStore(ram_client(emu, root), root["account_id"], keyring or record_keyring(emu, root))
    with silenced(), ThreadPoolExecutor(workers) as pool:
        list(pool.map(store.create, grants))


def fleet(owner: str, partner: str, total: int, expired: int, now: datetime) -> list[Any]:
    """``total`` grants of one to three policies (every fourth with a custom one), ``expired`` of them past expiry.

    The expired ones are spread through the fleet, so the listing order says
    nothing about which are due.
    """
    out = []
    due = set(round(i * total / expired) for i in range(expired)) if expired else set()
    for i in range(total):
        count = 1 + i % 3
        custom = 1 if i % 4 == 0 else 0
        if i in due:
            created, expires = now - timedelta(days=2), now - timedelta(hours=1, seconds=i)
        else:
            created, expires = now - timedelta(hours=1), now + timedelta(days=30, seconds=i)
        out.append(make_grant(owner, partner, system=count - custom, custom=custom, expires_at=expires,
                              created_at=created))
    return out


# --------------------------------------------------------------------- reports
def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("x%"))
        return True
    except ValueError:
        return text in ("-", "")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Verdicts:
    """The goals of one benchmark: each printed as a PASS/FAIL line; any failure fails the run."""

    name: str
    goals: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, goal: str, passed: bool, measured: str) -> bool:
        self.goals.append((goal, passed, measured))
        return passed

    def finish(self) -> int:
        print()
        for goal, passed, measured in self.goals:
            print(f"{'PASS' if passed else 'FAIL'}  {self.name}: {goal} -- {measured}")
        return 0 if all(p for _, p, _ in self.goals) else 1


def machine() -> str:
    """One line naming the machine: CPUs, memory, Python."""
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return (f"nproc={os.cpu_count()} memory={memory} python={platform.python_version()} "
            f"({platform.python_implementation()}, {platform.machine()})")


def parser(description: str, *, only: bool = False) -> argparse.ArgumentParser:
    """The command line every benchmark accepts: ``--scale`` shrinks the workload for a quick run.

    With ``only``, also ``--only TEXT``: run just the parts whose name contains TEXT.
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scale", type=float, default=1.0,
                   help="fraction of the full workload (e.g. 0.1 for a quick run; goals are judged the same way)")
    if only:
        p.add_argument("--only", default="", metavar="TEXT", help="run only the parts whose name contains TEXT")
    return p


def scaled(full: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(full * scale))


def header(title: str, scale: float, command: str) -> None:
    print(f"== {title}")
    print(f"   {machine()}")
    print(f"   scale={scale:g}  command: {command}")
    print()


def run_main(main: Callable[[list[str] | None], int]) -> None:
    drop_proxies()
    sys.exit(main(None))


__all__ = ["Creds", "Emulator", "FakeContext", "Runtime", "SDK_OF_PRODUCT", "Verdicts", "base_env", "create_grants",
           "deployed", "ecs_client", "fc2_client", "fc3_client", "fleet", "function_env", "function_environment",
           "function_timeout", "function_user", "header", "machine", "make_grant", "median", "parser", "ram_client",
           "repo_policy", "role_trusting", "run_main", "runtime", "scaled", "silenced", "table"]
