"""Building each function's code package: the directory ``s deploy`` zips and uploads.

``build/<fn>/`` holds exactly what Function Compute runs:

* the handler module ``index.py`` (every ``*.py`` of ``functions/<fn>/``);
* the ``shared/`` package, data files included (request schemas);
* the runtime dependencies of ``requirements.txt``, installed for FC's Linux
  runtime rather than for the machine that builds: CPython
  ``--python-version`` (default 3.12, the ``runtime`` in ``s.yaml``) on
  ``manylinux2014_x86_64``, binary wheels only -- except the product SDKs the
  function never calls (``FUNCTION_SDKS``: RAM, ECS, KMS and FC are called
  through the SDK core's generic client, so no package ships their SDKs, the
  15 MiB ECS SDK among them). A test derives each function's product SDKs from the code
  it can reach and holds the table to it;
* ``.fcignore`` (from ``deploy/.fcignore``), already applied here, so the sizes
  reported are what is uploaded and ``s deploy`` finds nothing more to drop;
* bytecode for the target interpreter beside every module (``__pycache__/``,
  unchecked-hash ``.pyc``). Function Compute's code directory is read-only, so
  Python cannot cache what it compiles there: without shipped bytecode every
  cold start compiles every module it imports, which takes the RAM SDK alone
  from about 0.6 s to 2.5 s on the build machine. Compiling needs an
  interpreter of the target's version: ``--bytecode-python``, else
  ``python3.12`` on ``PATH``, else a pyenv install; with none the package is
  built without bytecode and the report says so in capitals. Unchecked-hash
  bytecode is used without comparing it to its source (whose timestamps a zip
  does not keep exactly), which is right for a package nobody edits in place.

Dependencies are resolved once per (requirements, target) and kept under
``build/.cache/``: a wheelhouse for the target and the installed tree, copied
into each function. Some Alibaba Cloud SDK packages are published only as
source archives; they are pure Python, so they are first built into
``py3-none-any`` wheels on this machine, which then satisfy the
binary-only install for the target. With ``--no-index --find-links DIR`` the
build uses nothing but ``DIR`` (offline). When the target's wheels cannot be
had at all, the dependencies are installed for this machine's own interpreter
and platform instead, and the report says so in capitals: such a package may
not import on Function Compute.

``python -m rolegate.package [--python-version 3.12] [--out build] [fn ...]``
prints one line per function with its file count, its size and its zipped
size, and writes ``build/manifest.json`` and ``build/<fn>.zip``.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import glob
import hashlib
import json
import os
import platform as host_platform
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = "3.12"
DEFAULT_PLATFORM = "manylinux2014_x86_64"
IMPLEMENTATION = "cp"
HANDLER_MODULE = "index.py"
FCIGNORE = ".fcignore"
CACHE_DIR = ".cache"
MANIFEST = "manifest.json"
# The product SDKs (top-level modules) each function's code calls; every other product SDK is left out.
FUNCTION_SDKS: dict[str, frozenset[str]] = {
    "onboard": frozenset({"alibabacloud_sts20150401", "alibabacloud_resourcemanager20200331"}),
    "revoke": frozenset({"alibabacloud_sts20150401", "alibabacloud_resourcemanager20200331"}),
    "query": frozenset({"alibabacloud_sts20150401"}),
    "remediate": frozenset({"alibabacloud_sts20150401", "alibabacloud_resourcemanager20200331"}),
}
PRODUCT_SDK = re.compile(r"^alibabacloud_[a-z_]+?[0-9]{8}$")


class PackageError(RuntimeError):
    """The package could not be built; the message says which step and why."""


# --------------------------------------------------------------------- .fcignore
@dataclass(frozen=True)
class IgnoreRule:
    """One line of a ``.fcignore`` (gitignore syntax, the subset code packages need)."""

    pattern: str
    negated: bool = False
    directory_only: bool = False
    anchored: bool = False

    @classmethod
    def parse(cls, line: str) -> "IgnoreRule | None":
        text = line.rstrip("\n").rstrip()
        if not text or text.startswith("#"):
            return None
        negated = text.startswith("!")
        if negated:
            text = text[1:]
        directory_only = text.endswith("/")
        text = text.rstrip("/")
        anchored = "/" in text  # gitignore: a slash anywhere but at the end anchors to the root
        return cls(text.lstrip("/"), negated, directory_only, anchored)

    def matches(self, relative: str, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        if self.anchored:
            return _glob_match(relative, self.pattern)
        return fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], self.pattern)


def _glob_match(path: str, pattern: str) -> bool:
    """``fnmatch`` where ``*`` stays within one path segment and ``**`` spans any number of them."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.fullmatch(regex, path) is not None


def load_ignore(path: Path) -> list[IgnoreRule]:
    rules = (IgnoreRule.parse(line) for line in path.read_text(encoding="utf-8").splitlines())
    return [rule for rule in rules if rule is not None]


def is_ignored(relative: str, is_dir: bool, rules: Sequence[IgnoreRule]) -> bool:
    """The last matching rule decides, as in gitignore."""
    ignored = False
    for rule in rules:
        if rule.matches(relative, is_dir):
            ignored = not rule.negated
    return ignored


def apply_ignore(root: Path, rules: Sequence[IgnoreRule]) -> int:
    """Delete what ``rules`` exclude under ``root`` (an excluded directory goes whole); how many entries went."""
    removed = 0
    for current, dirs, files in os.walk(root):
        base = Path(current).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        for name in list(dirs):
            if is_ignored(prefix + name, True, rules):
                shutil.rmtree(Path(current) / name)
                dirs.remove(name)
                removed += 1
        for name in files:
            if name != FCIGNORE and is_ignored(prefix + name, False, rules):
                (Path(current) / name).unlink()
                removed += 1
    return removed


# ---------------------------------------------------------------------- bytecode
def find_python(version: str) -> str | None:
    """An interpreter of ``version`` on this machine (``PATH``, then pyenv's versions), or None."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"), reverse=True)
    return next((c for c in filter(None, candidates) if find_python_version(c) == version), None)


def compile_bytecode(python: str, *paths: Path) -> None:
    """Write unchecked-hash bytecode beside every module under ``paths``, with ``python``."""
    done = subprocess.run([python, "-I", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
                           "unchecked-hash", *map(str, paths)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise PackageError(f"compiling bytecode with {python} failed:\n{tail}")


def bytecode_interpreter(target: Target, local_fallback: bool, given: str | None) -> tuple[str | None, str]:
    """(interpreter to compile with, or None; a note when there is none) for ``target``."""
    if local_fallback:
        return sys.executable, ""
    python = given or find_python(target.python_version)
    if given and find_python_version(given) != target.python_version:
        raise PackageError(f"--bytecode-python {given} is not Python {target.python_version}")
    if python is None:
        return None, (f"NO BYTECODE: no Python {target.python_version} interpreter was found (pass "
                      f"--bytecode-python), so Function Compute will compile every module at each cold start")
    return python, ""


def find_python_version(python: str) -> str | None:
    """``"3.12"`` for an interpreter of Python 3.12; None when it does not run."""
    try:
        probe = subprocess.run([python, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
    except OSError:
        return None
    return probe.stdout.strip() if probe.returncode == 0 else None


# ------------------------------------------------------------------------ target
@dataclass(frozen=True)
class Target:
    """The interpreter and platform the dependencies are installed for."""

    python_version: str = DEFAULT_PYTHON
    platform: str = DEFAULT_PLATFORM
    implementation: str = IMPLEMENTATION

    @property
    def tag(self) -> str:
        return f"{self.implementation}{self.python_version.replace('.', '')}-{self.platform}"

    def pip_args(self) -> list[str]:
        return ["--only-binary=:all:", "--platform", self.platform, "--python-version", self.python_version,
                "--implementation", self.implementation]

    @staticmethod
    def local() -> "Target":
        """This machine's interpreter, as a target (the fallback)."""
        machine = host_platform.machine().lower() or "unknown"
        return Target(f"{sys.version_info.major}.{sys.version_info.minor}", f"local_{machine}")


@dataclass
class FunctionPackage:
    name: str
    path: str
    files: int
    bytes: int
    zipped_bytes: int
    zip_path: str


@dataclass
class BuildReport:
    target: Target
    requested: Target
    local_fallback: bool
    requirements_sha256: str
    bytecode: str | None = None  # the interpreter that compiled it, e.g. "cpython-312"; None: none shipped
    packages: list[FunctionPackage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"target": {**asdict(self.target), "tag": self.target.tag},
                "requested": {**asdict(self.requested), "tag": self.requested.tag},
                "local_fallback": self.local_fallback, "requirements_sha256": self.requirements_sha256,
                "bytecode": self.bytecode, "packages": [asdict(p) for p in self.packages], "notes": self.notes}

    def lines(self) -> list[str]:
        out = [f"target {self.target.tag}" + (" (LOCAL FALLBACK)" if self.local_fallback else "")
               + f", bytecode {self.bytecode or 'NONE'}"]
        out += [f"NOTE: {note}" for note in self.notes]
        for p in self.packages:
            out.append(f"{p.name:<10} {p.files:>6} files {_mib(p.bytes):>9} unzipped {_mib(p.zipped_bytes):>9} zipped"
                       f"  {p.path}")
        return out


def _mib(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB"


# ------------------------------------------------------------------- pip steps
def _pip(args: Sequence[str], *, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]
    if quiet:
        command.append("--quiet")
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _require_ok(result: subprocess.CompletedProcess[str], step: str) -> None:
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-8:])
        raise PackageError(f"{step} failed (pip exit {result.returncode}):\n{tail}")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One builder at a time per cache (parallel test workers share it)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def requirements_digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def _source_wheels(requirements: Path, cache: Path, index_args: Sequence[str], digest: str) -> tuple[Path, str]:
    """Wheels of every requirement for this machine; source-only packages come out as ``py3-none-any``.

    A failure is not fatal (an offline wheelhouse may hold only the target's wheels); it is returned as a
    note, and the steps that need these wheels report their own failure.
    """
    local = cache / "wheels" / "built"
    marker = local / f".done-{digest[:16]}"
    local.mkdir(parents=True, exist_ok=True)
    if marker.exists():
        return local, ""
    try:
        _require_ok(_pip(["wheel", "-r", str(requirements), "-w", str(local), "--find-links", str(local),
                          *index_args]), "building wheels for this machine")
    except PackageError as exc:
        return local, str(exc).splitlines()[0]
    marker.touch()
    return local, ""


def _target_wheels(requirements: Path, cache: Path, target: Target, local: Path,
                   index_args: Sequence[str], digest: str) -> Path:
    """The wheelhouse for ``target``: platform wheels fetched, pure ones taken from ``local``."""
    house = cache / "wheels" / target.tag
    marker = house / f".done-{digest[:16]}"
    if not marker.exists():
        house.mkdir(parents=True, exist_ok=True)
        _require_ok(_pip(["download", "-r", str(requirements), "-d", str(house), "--find-links", str(local),
                          *target.pip_args(), *index_args]), f"fetching wheels for {target.tag}")
        marker.touch()
    return house


def _install(requirements: Path, destination: Path, find_links: Sequence[Path], extra: Sequence[str],
             step: str) -> None:
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    links = [arg for path in find_links for arg in ("--find-links", str(path))]
    _require_ok(_pip(["install", "--target", str(staging), "-r", str(requirements), "--no-compile",
                      "--no-index", *links, *extra]), step)
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)


def install_dependencies(requirements: Path, cache: Path, target: Target,
                         index_args: Sequence[str] = ()) -> tuple[Path, Target, list[str]]:
    """The installed dependency tree for ``target`` (built once, then reused), the target it is really for, notes.

    Falls back to this machine's interpreter when the target's wheels cannot be fetched.
    """
    digest = requirements_digest(requirements)
    with _locked(cache):
        site = cache / "site" / f"{target.tag}-{digest[:16]}"
        if site.is_dir():
            return site, target, []
        local, local_failure = _source_wheels(requirements, cache, index_args, digest)
        try:
            house = _target_wheels(requirements, cache, target, local, index_args, digest)
        except PackageError as exc:
            fallback = Target.local()
            site = cache / "site" / f"{fallback.tag}-{digest[:16]}"
            note = (f"wheels for {target.tag} could not be fetched, so the dependencies are installed for "
                    f"THIS MACHINE ({fallback.tag}); the package may not import on Function Compute. "
                    f"Cause: {str(exc).splitlines()[0]}")
            if local_failure:
                raise PackageError(f"{exc}\nand {local_failure}") from None
            if not site.is_dir():
                _install(requirements, site, [local], (), "installing for the local platform")
            return site, fallback, [note]
        _install(requirements, site, [house, local], target.pip_args(), f"installing for {target.tag}")
        return site, target, []


# -------------------------------------------------------------------- packages
def function_names(repo: Path = REPO) -> list[str]:
    """Every function of the repository: a directory of ``functions/`` with a handler module."""
    return sorted(p.parent.name for p in (repo / "functions").glob(f"*/{HANDLER_MODULE}"))


def _copy_tree(source: Path, destination: Path, *, with_bytecode: bool = False) -> None:
    """Copy, hard-linking files where the filesystem allows (the dependency tree is large and read-only).

    Bytecode is copied only ``with_bytecode`` (the dependency tree, compiled for the target): the
    repository's own ``__pycache__`` is this machine's.
    """
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, destination, copy_function=link_or_copy, dirs_exist_ok=True,
                    ignore=None if with_bytecode else shutil.ignore_patterns("__pycache__", "*.py[co]"))


def assemble(name: str, destination: Path, site: Path, rules: Sequence[IgnoreRule], ignore_file: Path,
             repo: Path = REPO, python: str | None = None, python_version: str = DEFAULT_PYTHON) -> None:
    """``destination`` = the function's handler module(s) + ``shared/`` + dependencies, ``.fcignore`` applied.

    With ``python``, the repository's modules are compiled with it (the dependencies already are).
    """
    source = repo / "functions" / name
    if not (source / HANDLER_MODULE).is_file():
        raise PackageError(f"functions/{name}/{HANDLER_MODULE} does not exist")
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    _copy_tree(site, destination, with_bytecode=True)
    drop_unused_sdks(destination, FUNCTION_SDKS.get(name))
    drop_stood_in(destination, repo / "requirements.txt", python_version)
    modules = [destination / module.name for module in source.glob("*.py")]
    for module in source.glob("*.py"):
        shutil.copy2(module, destination / module.name)
    _copy_tree(repo / "shared", destination / "shared")
    from rolegate import validators  # compiles with fastjsonschema, a development dependency

    validators.write(destination)
    shutil.copy2(ignore_file, destination / FCIGNORE)
    apply_ignore(destination, rules)
    if python:
        compile_bytecode(python, destination / "shared", *modules)


def _top_level(dist_info: Path) -> set[str]:
    """The top-level modules an installed distribution provides (its RECORD's first path parts)."""
    record = dist_info / "RECORD"
    if not record.is_file():
        return set()
    parts = {line.split(",", 1)[0].split("/", 1)[0] for line in record.read_text(encoding="utf-8").splitlines()}
    return {p.removesuffix(".py") for p in parts if p and not p.endswith((".dist-info", ".data")) and p != ".."}


def drop_unused_sdks(root: Path, needed: frozenset[str] | None) -> None:
    """Remove from ``root`` every product SDK distribution outside ``needed`` (None: keep all)."""
    if needed is None:
        return
    for dist_info in sorted(root.glob("*.dist-info")):
        top = _top_level(dist_info)
        if not top or not all(PRODUCT_SDK.match(name) and name not in needed for name in top):
            continue
        for name in top:
            shutil.rmtree(root / name, ignore_errors=True)
        shutil.rmtree(dist_info)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requires(dist_info: Path, python_version: str) -> list[str]:
    """Canonical names of what an installed distribution requires on Function Compute (Linux, CPython, no extras)."""
    from pip._vendor.packaging.requirements import Requirement  # pip is what builds the package anyway

    metadata = dist_info / "METADATA"
    if not metadata.is_file():
        return []
    environment = {"python_version": python_version, "python_full_version": f"{python_version}.0",
                   "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                   "platform_machine": "x86_64", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython", "extra": ""}
    names = []
    for line in metadata.read_text(encoding="utf-8").splitlines():
        if line.startswith("Requires-Dist:"):
            requirement = Requirement(line.split(":", 1)[1].strip())
            if requirement.marker is None or requirement.marker.evaluate(environment):
                names.append(_canonical(requirement.name))
    return names


def drop_stood_in(root: Path, requirements: Path, python_version: str = DEFAULT_PYTHON) -> list[str]:
    """Remove the distributions ``shared.standins`` stands in for, and those only they need; their names.

    What stays is what ``requirements`` needs without passing through a stood-in distribution.
    """
    from shared.standins import MODULES

    stood_in = {_canonical(dist) for dist in MODULES.values()}
    installed = {_canonical(d.name.split("-", 1)[0]): d for d in root.glob("*.dist-info")}
    wanted = [_canonical(line.split("#", 1)[0].strip().split("=", 1)[0].split("<", 1)[0].split(">", 1)[0]
                         .split("[", 1)[0].strip())
              for line in requirements.read_text(encoding="utf-8").splitlines()]
    kept: set[str] = set()
    stack = [name for name in wanted if name in installed and name not in stood_in]
    while stack:
        name = stack.pop()
        if name in kept:
            continue
        kept.add(name)
        stack += [dep for dep in _requires(installed[name], python_version)
                  if dep in installed and dep not in stood_in and dep not in kept]
    dropped = sorted(set(installed) - kept)
    for name in dropped:
        _remove_distribution(root, installed[name])
    return dropped


def _remove_distribution(root: Path, dist_info: Path) -> None:
    """Delete what a distribution's RECORD lists under ``root``: its top-level directories whole, its files."""
    record = dist_info / "RECORD"
    entries = record.read_text(encoding="utf-8").splitlines() if record.is_file() else []
    for entry in entries:
        relative = entry.rsplit(",", 2)[0]
        if not relative or relative.startswith(".."):
            continue
        top = root / relative.split("/", 1)[0]
        if top == dist_info:
            continue
        if top.is_dir():
            shutil.rmtree(top, ignore_errors=True)
        elif top.exists():
            top.unlink()
    shutil.rmtree(dist_info, ignore_errors=True)


def compile_site(site: Path, python: str, cache: Path) -> None:
    """Compile the installed dependency tree once per tree (under the cache's lock)."""
    marker = site.with_name(site.name + ".compiled")
    with _locked(cache):
        if not marker.exists():
            compile_bytecode(python, site)
            marker.touch()


def measure(root: Path, zip_path: Path) -> tuple[int, int, int]:
    """(files, bytes, zipped bytes) of ``root``, zipping it to ``zip_path`` as ``s deploy`` would upload it."""
    files = total = 0
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                files += 1
                total += path.stat().st_size
                archive.write(path, path.relative_to(root).as_posix())
    return files, total, zip_path.stat().st_size


def build(functions: Sequence[str] | None = None, *, out: Path | None = None, cache: Path | None = None,
          target: Target | None = None, index_args: Sequence[str] = (), repo: Path = REPO,
          zip_packages: bool = True, bytecode_python: str | None = None) -> BuildReport:
    """Build the packages of ``functions`` (default: all) under ``out`` (default ``build/``); the report.

    ``bytecode_python`` is the interpreter that compiles the bytecode (default: one of the target's
    version found on this machine).
    """
    out = (out or repo / "build").resolve()
    cache = (cache or out / CACHE_DIR).resolve()
    requested = target or Target()
    names = list(functions or function_names(repo))
    unknown = sorted(set(names) - set(function_names(repo)))
    if unknown:
        raise PackageError(f"no such function: {', '.join(unknown)}")
    requirements = repo / "requirements.txt"
    site, actual, notes = install_dependencies(requirements, cache, requested, index_args)
    ignore_file = repo / "deploy" / FCIGNORE
    rules = load_ignore(ignore_file)
    python, missing = bytecode_interpreter(actual, actual != requested, bytecode_python)
    if python:
        compile_site(site, python, cache)
    report = BuildReport(actual, requested, actual != requested, requirements_digest(requirements),
                         bytecode=python and f"cpython-{actual.python_version.replace('.', '')}",
                         notes=notes + [missing] * bool(missing))
    for name in names:
        destination = out / name
        assemble(name, destination, site, rules, ignore_file, repo, python, actual.python_version)
        zip_path = out / f"{name}.zip"
        if zip_packages:
            files, size, zipped = measure(destination, zip_path)
        else:
            files = sum(1 for p in destination.rglob("*") if p.is_file())
            size = sum(p.stat().st_size for p in destination.rglob("*") if p.is_file())
            zipped = 0
        report.packages.append(FunctionPackage(name, str(destination), files, size, zipped, str(zip_path)))
    (out / MANIFEST).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return report


# ------------------------------------------------------------------------- CLI
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rolegate package",
                                description="Build each function's Function Compute code package under build/.")
    p.add_argument("functions", nargs="*", help="functions to package (default: every functions/<name>/)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: build/)")
    p.add_argument("--python-version", default=DEFAULT_PYTHON,
                   help=f"Python of the FC runtime the dependencies are for (default {DEFAULT_PYTHON})")
    p.add_argument("--platform", default=DEFAULT_PLATFORM, help=f"wheel platform (default {DEFAULT_PLATFORM})")
    p.add_argument("--find-links", action="append", default=[], metavar="DIR",
                   help="also look for wheels and source archives in DIR (repeatable)")
    p.add_argument("--no-index", action="store_true", help="use only --find-links, never a package index")
    p.add_argument("--no-zip", action="store_true", help="skip writing build/<fn>.zip (no zipped size)")
    p.add_argument("--bytecode-python", metavar="PYTHON", default=None,
                   help="interpreter of the target's Python version that compiles the bytecode "
                        "(default: python3.12 on PATH, else a pyenv install)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``rolegate package``: build, print the report; 1 when a step failed."""
    args = parser().parse_args(argv)
    index_args = [arg for d in args.find_links for arg in ("--find-links", str(Path(d).resolve()))]
    if args.no_index:
        index_args.append("--no-index")
    try:
        report = build(args.functions or None, out=args.out, target=Target(args.python_version, args.platform),
                       index_args=index_args, zip_packages=not args.no_zip, bytecode_python=args.bytecode_python)
    except PackageError as exc:
        print(f"rolegate package: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0


__all__ = ["BuildReport", "FunctionPackage", "IgnoreRule", "PackageError", "Target", "apply_ignore", "assemble",
           "build", "function_names", "install_dependencies", "is_ignored", "load_ignore", "main", "measure"]

if __name__ == "__main__":
    sys.exit(main())
