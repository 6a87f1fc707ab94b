"""Which environment variables the code reads: in its text (static) and while a function runs (traced).

Static: in ``shared/`` and ``functions/``, every string literal that is a
whole variable name (``ROLEGATE_X``, ``FC_X``, ``ALIBABA_CLOUD_X``) and is
either the first positional argument of a call (``env_str("ROLEGATE_X")``,
``os.getenv(...)``, ``os.environ.get(...)``, a helper such as
``_env_number("ROLEGATE_X", ...)``) or an ``os.environ[...]`` subscript.

Traced: ``os.environ`` replaced by a mapping that records every key looked up
(``get``, ``[]``, ``in``) while a handler runs -- only then: the tests' own
set-up uses ``shared`` too -- so what a function reads is known from the
function itself, not from the modules it happens to import.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import os
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^(ROLEGATE|FC|ALIBABA_CLOUD)_[A-Z0-9_]+$")


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def static_reads(roots: tuple[str, ...] = ("shared", "functions"), repo: Path = REPO) -> dict[str, set[str]]:
    """Variable name -> the files (relative paths) that read it."""
    found: dict[str, set[str]] = {}
    for root in roots:
        for path in sorted((repo / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                name = None
                if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                    name = node.args[0].value
                elif isinstance(node, ast.Subscript) and _is_environ(node.value) \
                        and isinstance(node.slice, ast.Constant):
                    name = node.slice.value
                if isinstance(name, str) and NAME.match(name):
                    found.setdefault(name, set()).add(str(path.relative_to(repo)))
    return found


class RecordingEnviron(MutableMapping[str, str]):
    """``os.environ`` with a memory of the keys asked for; writes go through to the real environment."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self._real = real
        self.read: set[str] = set()
        self.active = 0  # handler calls in progress

    def _note(self, key: object) -> None:
        if self.active and isinstance(key, str):
            self.read.add(key)

    def __getitem__(self, key: str) -> str:
        self._note(key)
        return self._real[key]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self._note(key)
        return self._real.get(key, default)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return key in self._real

    def __setitem__(self, key: str, value: str) -> None:
        self._real[key] = value

    def __delitem__(self, key: str) -> None:
        del self._real[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)

    def copy(self) -> dict[str, str]:
        return dict(self._real)


# Where the behaviours find each handler: its own module, and helper modules that imported it by name.
HANDLER_HOMES = ("functions.onboard.index", "functions.revoke.index", "functions.query.index",
                 "functions.remediate.index", "tests.functions.remediate_support")


def _tracing(handler: Callable[..., Any], recorder: RecordingEnviron) -> Callable[..., Any]:
    @functools.wraps(handler)
    def traced(*args: Any, **kwargs: Any) -> Any:
        recorder.active += 1
        try:
            return handler(*args, **kwargs)
        finally:
            recorder.active -= 1
    return traced


@contextlib.contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingEnviron]:
    """Record the environment reads of every handler call inside the block (its worker threads included)."""
    recorder = RecordingEnviron(os.environ)
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", recorder)
        for home in HANDLER_HOMES:
            module = importlib.import_module(home)
            patch.setattr(module, "handler", _tracing(module.handler, recorder))
        yield recorder
