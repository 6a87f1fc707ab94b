"""The code packages `rolegate package` builds run on their own, as Function Compute runs them.

The packages are built once per test session (dependencies cached under
``build/.cache``), then each handler is imported from its package in a clean
interpreter -- ``python -I -S``: no site-packages, no user site, no PYTHON*
variables, only ``build/<fn>`` and the standard library on ``sys.path`` -- of
the runtime's Python version when this machine has one, and invoked against
the emulator with each of the two context shapes (python3.10's, carrying
credentials; python3.12's, without them).
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from emulator import EmulatorServer
from rolegate import package, validators
from shared import schema
from tests.deploy import syaml
from tests.deploy.behaviours import WEBHOOK_SECRET, Cell
from tests.deploy.reach import factory_products, product_sdks
from tests.deploy.samples import UNRELATED
from tests.functions.conftest import function_policy as policy
from tests.functions.conftest import http_event, signature_headers

RUNNER = r"""
import importlib, json, sys, types
build, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, build)
request = json.load(sys.stdin)
module_name, _, attribute = request["handler"].rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)

ns = types.SimpleNamespace
ctx = ns(request_id="1-deploy-test", region="cn-hangzhou", account_id=request["account_id"],
         function=ns(name=request["function"], handler=request["handler"], memory=512, timeout=60))
if request["shape"] == "python3.10":
    ctx.credentials = ns(**request["credentials"])
    ctx.service = ns(name="", log_project="rolegate-logs", log_store="functions", qualifier="LATEST", version_id="")
else:
    ctx.log_project, ctx.log_store, ctx.logger = "rolegate-logs", "functions", None
try:
    answer = {"result": handler(json.dumps(request["event"]).encode(), ctx)}
except Exception as exc:
    answer = {"raised": type(exc).__name__, "summary": getattr(exc, "summary", None)}
stdlib = (sys.base_prefix, sys.base_exec_prefix)
answer["outside"] = sorted({getattr(m, "__file__", None) for m in list(sys.modules.values())
                            if getattr(m, "__file__", None) and not m.__file__.startswith((build,) + stdlib)})
answer["site_paths"] = [p for p in sys.path if "site-packages" in p or "dist-packages" in p]
answer["python"] = "%d.%d" % sys.version_info[:2]
with open(out, "w") as f:
    json.dump(answer, f)
"""


class Built:
    def __init__(self, report: package.BuildReport, out: Path, python: str) -> None:
        self.report = report
        self.out = out
        self.python = python

    def package(self, name: str) -> package.FunctionPackage:
        return next(p for p in self.report.packages if p.name == name)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Every function's package, built for the runtime, and the interpreter to run it with."""
    out = tmp_path_factory.mktemp("build")
    cache = syaml.REPO / "build" / package.CACHE_DIR
    started = time.monotonic()
    report = package.build(out=out, cache=cache)
    print("\n" + "\n".join(report.lines()) + f"\n(built in {time.monotonic() - started:.1f} s)")
    if report.local_fallback:
        warnings.warn("; ".join(report.notes))
        return Built(report, out, sys.executable)
    python = package.find_python(report.target.python_version)
    if python is None:
        local = f"{sys.version_info.major}.{sys.version_info.minor}"
        warnings.warn(f"no python{report.target.python_version} on this machine: the handlers run from a "
                      f"cp{local.replace('.', '')} build of the same code instead")
        out = tmp_path_factory.mktemp("build-local")
        report = package.build(out=out, cache=cache, target=package.Target(local), zip_packages=False)
        python = sys.executable
    return Built(report, out, python)


def invoke(built: Built, name: str, event: Any, env: dict[str, str], shape: str, account_id: str,
           credentials: dict[str, Any] | None = None, tmp_path: Path | None = None) -> dict[str, Any]:
    """Run the s.yaml handler of ``name`` from its package in a clean interpreter; its answer."""
    out = (tmp_path or Path(built.out)) / f"answer-{name}-{shape}.json"
    request = {"handler": syaml.functions(syaml.load_raw())[name].props["handler"], "event": event, "shape": shape,
               "function": name, "account_id": account_id, "credentials": credentials or {}}
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env}
    done = subprocess.run([built.python, "-I", "-S", "-c", RUNNER, str(built.out / name), str(out)],
                          input=json.dumps(request), capture_output=True, text=True, env=clean_env, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(out.read_text())
    assert answer["site_paths"] == [] and answer["outside"] == [], answer
    return answer


SHAPES = ("python3.10", "python3.12")
ALL_PRODUCT_SDKS = frozenset().union(*package.FUNCTION_SDKS.values())
MAX_PACKAGE_BYTES = 20 * 2**20  # unzipped: the most a function's code may take


def runtime_env(cell: Cell, shape: str) -> tuple[dict[str, str], dict[str, Any]]:
    """(environment, context credentials): python3.12 gets the role's keys in the environment, 3.10 on the context."""
    keys = {"access_key_id": cell.identity["access_key_id"], "access_key_secret": cell.identity["access_key_secret"],
            "security_token": None}
    env = {"ROLEGATE_ENDPOINT": cell.emulator.endpoint, "FC_ACCOUNT_ID": cell.home["account_id"],
           "FC_REGION": "cn-hangzhou", "ROLEGATE_RETRY_BASE_MS": "1"}
    if shape == "python3.12":
        env.update(ALIBABA_CLOUD_ACCESS_KEY_ID=keys["access_key_id"],
                   ALIBABA_CLOUD_ACCESS_KEY_SECRET=keys["access_key_secret"])
        return env, {}
    return env, keys


# ------------------------------------------------------------------ the packages
def magic_number(python: str) -> bytes:
    done = subprocess.run([python, "-I", "-S", "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
                          capture_output=True, text=True, check=True)
    return bytes.fromhex(done.stdout.strip())


def test_every_module_ships_with_bytecode_for_the_runtime(built: Built) -> None:
    """Beside every module, unchecked-hash bytecode of the target's Python: FC's code directory is read-only."""
    if built.report.bytecode is None:
        pytest.skip("no interpreter of the target's version here; the report says NO BYTECODE")
    tag = built.report.bytecode
    magic = magic_number(built.python)
    for entry in built.report.packages:
        root = Path(entry.path)
        modules = [p for p in root.rglob("*.py")]
        assert len(modules) > 100
        for module in modules:
            cached = module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc"
            header = cached.read_bytes()[:8] if cached.exists() else b""
            assert header[:4] == magic, f"{entry.name}: {cached.relative_to(root)} missing or for another Python"
            assert int.from_bytes(header[4:8], "little") == 0b01, "hash-based, not checked against the source"
        assert not [p for p in root.rglob("*.pyc") if f".{tag}." not in p.name]  # nothing of this machine's


def test_every_function_in_s_yaml_is_packaged_with_its_pieces(built: Built) -> None:
    """build/<fn>/ has the handler module, shared/ with its data files, the SDKs and .fcignore."""
    assert sorted(p.name for p in built.report.packages) == sorted(syaml.functions(syaml.load_raw()))
    for entry in built.report.packages:
        root = Path(entry.path)
        for piece in ("index.py", "shared/__init__.py", "shared/onboarding/schemas/create_grant.json",
                      "shared/query/query_request.json", "alibabacloud_tea_openapi/client.py", "Tea", ".fcignore"):
            assert (root / piece).exists(), f"{entry.name}: {piece} missing"
        assert not (root / "bin").exists() and not (root / "functions").exists()


def test_each_package_holds_exactly_the_product_sdks_its_code_can_reach(built: Built) -> None:
    """The table of product SDKs per function is what the code reachable from each handler uses, and the
    packages hold those and no other: leaving one out would fail on Function Compute, not here."""
    for entry in built.report.packages:
        assert product_sdks(entry.name) == package.FUNCTION_SDKS[entry.name], entry.name
        shipped = {p.name for p in Path(entry.path).iterdir() if package.PRODUCT_SDK.match(p.name)}
        assert shipped == package.FUNCTION_SDKS[entry.name], entry.name
        assert not [d for d in Path(entry.path).glob("*.dist-info")
                    if d.name.split("-")[0] in ALL_PRODUCT_SDKS - package.FUNCTION_SDKS[entry.name]]


def test_every_sdk_left_in_a_package_imports_from_it_alone(built: Built) -> None:
    """Leaving SDKs out removed nothing the others need: each package's clients import in a clean interpreter
    (after ``shared``, as in a function: it stands in for the SDK dependencies the package leaves out)."""
    for entry in built.report.packages:
        imports = "; ".join(["import shared"] + [f"import {sdk}.client"
                                                 for sdk in sorted(package.FUNCTION_SDKS[entry.name])])
        done = subprocess.run([built.python, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {entry.path!r}); "
                               f"{imports}"], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{entry.name}: {done.stderr[-1500:]}"


def test_the_walk_finds_a_client_asked_for_anywhere_in_reach() -> None:
    """The walk reads which SDK each factory method builds from shared/clients.py, and sees lazy imports;
    RAM's, ECS's, KMS's and FC's clients are the SDK core's generic one, so no function reaches their SDKs."""
    products = factory_products()
    assert products["sts"] == "alibabacloud_sts20150401"
    assert not {"ram", "ecs", "ims", "kms", "fc3", "fc2"} & set(products)
    assert "alibabacloud_sts20150401" in product_sdks("remediate")
    assert not any({"alibabacloud_ram20150501", "alibabacloud_ecs20140526"} & product_sdks(fn)
                   for fn in package.FUNCTION_SDKS)


def test_each_package_holds_validators_compiled_from_its_own_schemas(built: Built) -> None:
    """Generated at build time (never in git), so never stale; the compiler itself is not shipped."""
    for built_package in built.report.packages:
        root = Path(built_package.path)
        for name, schema_path in validators.SCHEMAS.items():
            shipped = (root / "shared" / "validators" / f"{name}.py").read_text(encoding="utf-8")
            assert shipped == schema.compiled_source(root / schema_path), (built_package.name, name)
        assert not list(root.glob("fastjsonschema*")), built_package.name


def test_a_packaged_function_accepts_a_valid_body_without_loading_a_schema_library(built: Built) -> None:
    """Cold start: a valid request is judged by the shipped module alone (no jsonschema, no fastjsonschema)."""
    code = ("import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); from shared import schema; "
            "schema.validate(json.loads(sys.argv[2]), Path(sys.argv[1], 'shared', 'query', 'query_request.json')); "
            "print(json.dumps(sorted(m for m in sys.modules if 'jsonschema' in m)))")
    body = {"targets": [{"account_id": "1234567890123456", "role_name": "rolegate-reader"}]}
    done = subprocess.run([built.python, "-I", "-S", "-c", code, str(built.out / "query"), json.dumps(body)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == []


def test_sizes_are_reported_and_the_zip_is_what_was_measured(built: Built) -> None:
    """Each package's file count, size and zipped size, at most 20 MiB unzipped; the zip holds exactly the
    package's files."""
    manifest = json.loads((built.out / package.MANIFEST).read_text())
    assert manifest["target"]["tag"] == built.report.target.tag
    for entry in built.report.packages:
        assert entry.files > 100 and 0 < entry.zipped_bytes < entry.bytes or entry.zipped_bytes == 0
        assert entry.bytes <= MAX_PACKAGE_BYTES, f"{entry.name}: {entry.bytes / 2**20:.1f} MiB"
        if entry.zipped_bytes:
            with zipfile.ZipFile(entry.zip_path) as archive:
                names = archive.namelist()
            assert len(names) == entry.files and "index.py" in names and "shared/sweep/run.py" in names
            if built.report.bytecode:
                assert f"shared/sweep/__pycache__/run.{built.report.bytecode}.pyc" in names


def test_dependencies_are_for_the_function_compute_runtime(built: Built) -> None:
    """Compiled extensions in the package are built for the target CPython and Linux x86_64, not this machine."""
    if built.report.local_fallback:
        pytest.skip("the platform wheels could not be fetched; the build says so")  # reported by the fixture too
    tag = built.report.target.python_version.replace(".", "")
    names = [so.name for so in Path(built.package("onboard").path).rglob("*.so")]
    versioned = [n for n in names if ".cpython-" in n]
    assert versioned, names
    assert all(f".cpython-{tag}-x86_64-linux-gnu." in n for n in versioned), versioned


# ------------------------------------------------------------------ the handlers
@pytest.mark.parametrize("shape", SHAPES)
def test_onboard_refuses_a_bad_signature_with_401(built: Built, emulator: EmulatorServer,
                                                  monkeypatch: pytest.MonkeyPatch, shape: str,
                                                  tmp_path: Path) -> None:
    """A request signed with the wrong secret: 401 JSON, from the packaged handler."""
    cell = Cell(emulator, monkeypatch, "onboard").deploy(policy("onboard"))
    env, keys = runtime_env(cell, shape)
    env["ROLEGATE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    body = json.dumps({"partner_account_id": cell.partner["account_id"], "principal": {"type": "account"},
                       "policies": [{"name": "AliyunECSReadOnlyAccess"}], "duration_seconds": 3600}).encode()
    headers = {"Content-Type": "application/json",
               **signature_headers("POST", "/grants", body, secret="not-the-webhook-secret-000")}
    answer = invoke(built, "onboard", http_event("POST", "/grants", body, headers=headers), env, shape,
                    cell.home["account_id"], keys, tmp_path)
    reply = answer["result"]
    assert reply["statusCode"] == 401 and reply["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(reply["body"])["error"]["code"].startswith("Signature")
    assert cell.roles() == set()


@pytest.mark.parametrize("shape", SHAPES)
def test_query_refuses_bad_input_with_400(built: Built, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
                                         shape: str, tmp_path: Path) -> None:
    """A query whose targets are not a list: 400 naming the field, before any cloud call."""
    cell = Cell(emulator, monkeypatch, "query").deploy(policy("query"))
    env, keys = runtime_env(cell, shape)
    before = len(emulator.calls())
    event = http_event("POST", "/", b'{"targets": "everyone"}', headers={"Content-Type": "application/json"})
    reply = invoke(built, "query", event, env, shape, cell.home["account_id"], keys, tmp_path)["result"]
    assert reply["statusCode"] == 400
    assert json.loads(reply["body"])["error"]["field"].startswith("targets")
    assert len(emulator.calls()) == before


@pytest.mark.parametrize("shape", SHAPES)
def test_revoke_dry_run_plans_and_changes_nothing(built: Built, emulator: EmulatorServer,
                                                 monkeypatch: pytest.MonkeyPatch, shape: str, tmp_path: Path) -> None:
    """Timer payload {"dry_run": true}: the expired grant is reported as would-revoke and stays."""
    cell = Cell(emulator, monkeypatch, "revoke").deploy(policy("revoke"))
    grant = cell.grant(60, custom=True)
    emulator.advance_clock(120)
    env, keys = runtime_env(cell, shape)
    event = {"triggerTime": "2026-03-01T00:10:00Z", "triggerName": "revoke-timer", "payload": '{"dry_run": true}'}
    summary = invoke(built, "revoke", event, env, shape, cell.home["account_id"], keys, tmp_path)["result"]
    assert summary["dry_run"] is True and summary["would_revoke"] == 1 and summary["revoked"] == 0
    assert grant.role_name in cell.roles()


@pytest.mark.parametrize("shape", SHAPES)
def test_remediate_ignores_an_event_no_rule_watches(built: Built, emulator: EmulatorServer,
                                                    monkeypatch: pytest.MonkeyPatch, shape: str,
                                                    tmp_path: Path) -> None:
    """An OSS PutObject ActionTrail event: ignored, no decision, nothing changed."""
    cell = Cell(emulator, monkeypatch, "remediate").deploy(policy("remediate"))
    env, keys = runtime_env(cell, shape)
    before = len(emulator.calls())
    event = UNRELATED["oss PutObject"]
    reply = invoke(built, "remediate", event, env, shape, cell.home["account_id"], keys, tmp_path)["result"]
    assert reply["ignored"] == 1 and reply["decisions"] == [] and not reply["errors"]
    assert {c["action"] for c in emulator.calls()[before:]} <= {"GetCallerIdentity"}


def test_unreachable_platform_wheels_fall_back_to_this_machine_and_say_so(built: Built, tmp_path: Path) -> None:
    """No wheels for the target (offline, unknown platform): installed for this interpreter, flagged loudly."""
    # ``built`` has filled the cache's wheels of this machine, which the offline install draws on.
    cache = syaml.REPO / "build" / package.CACHE_DIR
    offline = ["--no-index", "--find-links", str(cache / "wheels" / "built")]
    report = package.build(["query"], out=tmp_path / "out", cache=cache, zip_packages=False,
                           target=package.Target("3.12", "manylinux2014_nowhere"), index_args=offline)
    assert report.local_fallback and report.target.platform.startswith("local_")
    assert "LOCAL FALLBACK" in report.lines()[0] and "THIS MACHINE" in report.notes[0]
    assert report.bytecode == f"cpython-{sys.version_info.major}{sys.version_info.minor}"  # this interpreter's
    assert json.loads((tmp_path / "out" / package.MANIFEST).read_text())["local_fallback"] is True
    assert (tmp_path / "out" / "query" / "alibabacloud_sts20150401").is_dir()


# -------------------------------------------------------------- the ignore file
def test_fcignore_rules_follow_gitignore() -> None:
    """Directory-only, anchored, ** and negated patterns; the last matching rule wins."""
    rules = [r for r in map(package.IgnoreRule.parse, ["# c", "", "__pycache__/", "*.py[co]", "/bin/",
                                                        "docs/**/*.md", "!docs/keep/README.md"]) if r]
    ignored = lambda path, is_dir=False: package.is_ignored(path, is_dir, rules)
    assert ignored("__pycache__", True) and ignored("a/b/__pycache__", True)
    assert not ignored("__pycache__")  # a file of that name is not a directory
    assert ignored("x.pyc") and ignored("a/b/x.pyo") and not ignored("x.py")
    assert ignored("bin", True) and not ignored("lib/bin", True)
    assert ignored("docs/a/b/x.md") and ignored("docs/x.md") and not ignored("docs/keep/README.md")


def test_a_bytecode_interpreter_of_another_version_is_refused(tmp_path: Path) -> None:
    """Bytecode of the wrong Python would be ignored by FC's: the build stops before writing anything."""
    with pytest.raises(package.PackageError, match="is not Python 3.12"):
        package.bytecode_interpreter(package.Target("3.12"), False, sys.executable if sys.version_info[:2] != (3, 12)
                                     else str(tmp_path / "python-nowhere"))


def test_no_interpreter_of_the_target_version_means_no_bytecode_and_a_loud_note(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("PYENV_ROOT", "/nonexistent")
    python, note = package.bytecode_interpreter(package.Target("3.12"), False, None)
    assert python is None and note.startswith("NO BYTECODE") and "--bytecode-python" in note


def test_cli_entry_points_exist() -> None:
    """`rolegate package` can wire package.main; `python -m rolegate.package --help` answers."""
    assert callable(package.main)
    done = subprocess.run([sys.executable, "-m", "rolegate.package", "--help"], capture_output=True, text=True,
                          cwd=syaml.REPO, check=False)
    assert done.returncode == 0 and "--python-version" in done.stdout
