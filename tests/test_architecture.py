"""docs/architecture.md and the README's diagram match the tree, and every handler is the one-line wrapper."""
from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("shared", "functions", "emulator", "rolegate")
DOC = ROOT / "docs" / "architecture.md"
PATH = re.compile(r"`((?:%s)/[^`\s]*)`" % "|".join(TOP))
MAX_HANDLER_LINES = 6


def _named() -> set[str]:
    return set(PATH.findall(DOC.read_text(encoding="utf-8")))


def _modules() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for top in TOP for p in (ROOT / top).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _covered(module: str, named: set[str]) -> bool:
    if module in named or any("*" in n and fnmatch.fnmatchcase(module, n) for n in named):
        return True
    folder, _, name = module.rpartition("/")
    return name == "__init__.py" and f"{folder}/" in named


def test_every_path_the_architecture_page_names_exists() -> None:
    named = _named()
    assert len(named) > 50, "the page names too few paths to be read right"
    missing = sorted(n for n in named if not (fnmatch.filter(_modules(), n) if "*" in n else (ROOT / n).exists()))
    assert missing == [], "named in docs/architecture.md but not in the tree"


def test_every_module_is_named_on_the_architecture_page() -> None:
    named = _named()
    unnamed = [m for m in _modules() if not _covered(m, named)]
    assert unnamed == [], "modules docs/architecture.md does not name (add a line for each)"


def test_every_package_is_named_on_the_architecture_page() -> None:
    named = _named()
    packages = sorted(f"{p.parent.relative_to(ROOT).as_posix()}/" for top in TOP
                      for p in (ROOT / top).rglob("__init__.py") if "__pycache__" not in p.parts)
    assert [p for p in packages if p not in named] == []


@pytest.mark.parametrize("function", sorted(p.name for p in (ROOT / "functions").iterdir()
                                            if (p / "index.py").is_file()))
def test_each_handler_is_the_wrapper_and_nothing_else(function: str) -> None:
    source = (ROOT / "functions" / function / "index.py").read_text(encoding="utf-8")
    lines = [line for line in source.splitlines() if line.strip()]
    assert len(lines) <= MAX_HANDLER_LINES, f"functions/{function}/index.py grew past {MAX_HANDLER_LINES} lines"
    body = ast.parse(source).body
    code = [node for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    assert all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in code[:-1])
    last = code[-1]
    assert isinstance(last, ast.Assign) and [t.id for t in last.targets if isinstance(t, ast.Name)] == ["handler"]
    call = last.value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "entry"
    assert isinstance(call.args[0], ast.Constant) and call.args[0].value == function
    imported = {(n.module, a.name) for n in code[:-1] if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("shared.handler", "entry") in imported


def test_the_architecture_page_names_each_functions_handle_event() -> None:
    text = DOC.read_text(encoding="utf-8")
    for function in ("onboard", "query", "revoke", "remediate"):
        source = (ROOT / "functions" / function / "index.py").read_text(encoding="utf-8")
        module = re.search(r"from (shared\.[\w.]+) import [^\n]*\bhandle_event\b", source)
        assert module, function
        path = module.group(1).replace(".", "/") + ".py"
        assert re.search(rf"^\| {function} \|.*`{re.escape(path)}`", text, re.M), \
            f"docs/architecture.md does not say {function}'s handle_event is in {path}"


def _readme_diagram() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    assert "docs/architecture.md" in section, "the README's Architecture section links docs/architecture.md"
    return section.split("```", 2)[1]


def test_the_readme_diagram_names_only_what_exists() -> None:
    diagram = _readme_diagram()
    names = set(re.findall(r"(?<![\w/.])([a-z_]+/|[a-z_]+\.py)(?![\w])", diagram))
    assert {"shared/", "functions/", "emulator/"} <= names
    top = {n for n in names if n.rstrip("/") in TOP}
    inner = names - top
    missing = sorted(n for n in inner if not (ROOT / "shared" / n).exists())
    assert missing == [], "the README's diagram names what shared/ does not hold"


def test_the_readme_diagram_shows_every_package_of_shared() -> None:
    names = set(re.findall(r"(?<![\w/.])([a-z_]+)/", _readme_diagram()))
    packages = {p.parent.name for p in (ROOT / "shared").glob("*/__init__.py")}
    assert packages - names == set(), "packages of shared/ the README's diagram leaves out"
