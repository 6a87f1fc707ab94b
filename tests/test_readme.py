"""Every command the README gives is run here, so the README cannot drift from what works.

``make`` targets are checked to exist and to run the command the README pairs
them with (``make test`` itself is what CI runs, so it is not run from inside
the suite); every ``python -m`` command is run for real, long-running servers
until they say they are up.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    alternatives = re.findall(r"# or: (\.venv/bin/python -m [^\n`]+)", README)
    return [c for c in lines if c] + [a.strip() for a in alternatives]


COMMANDS = _commands()


def _python(command: str) -> list[str]:
    assert command.startswith(".venv/bin/python -m "), command
    return [sys.executable, *command.split()[1:]]


def _until_line(argv: list[str], marker: str, timeout: float = 60, env: dict[str, str] | None = None) -> str:
    """Start a server command, read its output until ``marker`` appears, then stop it."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                return "".join(seen)
        raise AssertionError("server exited early:\n" + "".join(seen))
    finally:
        proc.terminate()
        proc.wait(timeout=timeout)


def test_readme_opens_with_the_two_commands():
    first = [line for line in README.splitlines()[:8] if line.startswith("make ")]
    assert [line.split()[1] for line in first] == ["demo", "test"]


def test_the_readme_test_command_is_what_ci_runs():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "-m pytest" in dry


@pytest.mark.parametrize("target,module", [("demo", "rolegate demo"), ("local", "rolegate local"),
                                           ("package", "rolegate package")])
def test_make_targets_run_the_commands_the_readme_names(target, module):
    assert f"make {target}" in COMMANDS
    dry = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert f"-m {module}" in dry
    assert f".venv/bin/python -m {module}" in " ".join(COMMANDS)


def test_every_python_command_in_the_readme_is_covered():
    pythons = {c for c in COMMANDS if c.startswith(".venv/bin/python")}
    covered = {".venv/bin/python -m rolegate demo", ".venv/bin/python -m rolegate local --port 0",
               ".venv/bin/python -m rolegate --help", ".venv/bin/python -m rolegate package",
               ".venv/bin/python -m emulator serve --host 127.0.0.1 --port 0"}
    assert pythons == covered


def test_demo_command_walks_the_lifecycle():
    done = subprocess.run(_python(".venv/bin/python -m rolegate demo"), cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Every step held" in done.stdout


def test_local_host_command_starts_and_prints_where_everything_is(tmp_path):
    env = {**os.environ, "ROLEGATE_LOCAL_PROFILE": str(tmp_path / "local.json")}  # not the user's own profile
    out = _until_line(_python(".venv/bin/python -m rolegate local --port 0"), "Try (bash or zsh", env=env)
    assert "ROLEGATE_ENDPOINT=127.0.0.1:" in out


def test_cli_help_lists_the_operator_commands():
    done = subprocess.run(_python(".venv/bin/python -m rolegate --help"), cwd=ROOT, capture_output=True,
                          text=True, check=True)
    for command in ("grants", "sweep", "query", "lint", "verify", "sign", "package", "local", "demo"):
        assert re.search(rf"^\s+{command}\s", done.stdout, flags=re.M), command


def test_package_command_answers_its_help():
    done = subprocess.run(_python(".venv/bin/python -m rolegate package") + ["--help"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "build/" in done.stdout + done.stderr


def test_emulator_serve_command_prints_its_endpoint():
    out = _until_line(_python(".venv/bin/python -m emulator serve --host 127.0.0.1 --port 0"),
                      "ROLEGATE_ENDPOINT=")
    assert re.search(r"emulator listening on 127\.0\.0\.1:\d+", out)
