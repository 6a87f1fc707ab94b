"""``pip install -e .`` gives a working ``rolegate``: pyproject.toml declares what the code imports."""
from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The local world is made with the stock RAM and FC SDKs (users, access keys, services and functions Rolegate
# itself never makes).
CLI = {"click", "rich", "werkzeug", "pyjwt", "cryptography", "croniter", "pyyaml", "fastjsonschema",
       "alibabacloud-ram20150501", "alibabacloud-fc20230330", "alibabacloud-fc-open20210406"}


def pins(name: str) -> list[str]:
    lines = (REPO / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-r"))]


def test_dependencies_are_the_runtime_and_the_cli_pins() -> None:
    """The functions' runtime (requirements.txt) and the CLI's libraries, pinned as in requirements*.txt."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    cli = [pin for pin in pins("requirements-dev.txt") if pin.split("==")[0] in CLI]
    assert {pin.split("==")[0] for pin in cli} == CLI
    assert project["dependencies"] == pins("requirements.txt") + cli
    rest = [pin for pin in pins("requirements-dev.txt") if pin not in cli]
    assert project["optional-dependencies"]["test"] == rest
    assert project["scripts"]["rolegate"] == "rolegate.cli:main"
