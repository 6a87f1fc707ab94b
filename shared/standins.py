"""Inert stand-ins for the SDK dependencies the synchronous functions never run.

The official SDK core (``darabonba``, ``Tea``, ``alibabacloud_tea_openapi``)
and ``alibabacloud_credentials`` import, at module level, libraries that only
their asynchronous, scheduled-refresh, websocket and RSA-signing paths use:
``aiohttp`` (with ``yarl``, ``multidict``...), ``apscheduler``, ``websocket``,
``aiofiles`` and ``cryptography``. Rolegate's functions call the SDK's
synchronous methods with AccessKey or STS credentials and HMAC signatures, so
none of that code runs; importing it is most of a cold start, and shipping it
most of a code package.

``rolegate/package.py`` leaves those distributions (and what only they need)
out of each function's package, and :func:`install` (run when ``shared`` is
imported) adds a finder at the *end* of ``sys.meta_path``: it answers only
for those names, and only when no real module was found first. Where the
libraries are installed (a development environment, the test suite's own
process) nothing changes; in a deployed package ``import aiohttp`` gives a
stand-in module.

A stand-in tolerates what a module body does with an import it never uses --
reading attributes, naming them in annotations and default values -- and
refuses everything else: calling, instantiating or subclassing anything from
it raises :class:`StandInUsed`, which names the module and says what to do.
So an SDK upgrade that starts to need one of these at run time fails loudly,
in the tests that run the packaged functions, rather than quietly differently.
"""
from __future__ import annotations

import importlib.machinery
import sys
from types import ModuleType
from typing import Any, NoReturn, Sequence

# Top-level modules stood in for, and the distribution that provides each (what the package leaves out).
MODULES: dict[str, str] = {
    "aiohttp": "aiohttp",
    "aiofiles": "aiofiles",
    "apscheduler": "APScheduler",
    "websocket": "websocket-client",
    "cryptography": "cryptography",
}


class StandInUsed(RuntimeError):
    """Code used a module this function's package deliberately leaves out."""

    def __init__(self, what: str) -> None:
        top = what.split(".", 1)[0]
        super().__init__(
            f"{what} was used, but {top!r} is not part of this function's code package: shared.standins "
            f"stands in for it because the synchronous SDK paths never use it. Something (an SDK upgrade?) "
            f"now needs it at run time: remove {top!r} from shared.standins.MODULES, which puts "
            f"{MODULES.get(top, top)!r} back into the packages.")
        self.what = what


class Inert:
    """Whatever a module body may name from a stand-in; using it raises :class:`StandInUsed`."""

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def __getattr__(self, name: str) -> "Inert":
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Inert(f"{self._what}.{name}")

    def __repr__(self) -> str:
        return f"<stand-in for {self._what}>"

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise StandInUsed(self._what)

    __call__ = _refuse
    __mro_entries__ = _refuse  # class X(stand_in.Base): ...
    __setattr__ = _refuse
    __iter__ = _refuse
    __enter__ = _refuse
    __aenter__ = _refuse
    __getitem__ = _refuse
    __await__ = _refuse


class StandInModule(ModuleType):
    """A stand-in module: a package (so its submodules are stand-ins too) whose every attribute is :class:`Inert`."""

    def __getattr__(self, name: str) -> Inert:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Inert(f"{self.__name__}.{name}")


class _Finder:
    """Meta path finder and loader of the stand-ins (duck-typed: importlib.abc costs imports)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".", 1)[0] not in MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return StandInModule(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        module.__path__ = []


FINDER = _Finder()


def install() -> None:
    """Add the finder after every other (once): it answers only for names nothing else could import."""
    if FINDER not in sys.meta_path:
        sys.meta_path.append(FINDER)


def is_stand_in(module: object) -> bool:
    return isinstance(module, StandInModule)


def loaded() -> dict[str, bool]:
    """``{module name: is it a stand-in}`` for every module of :data:`MODULES` in ``sys.modules``."""
    return {name: is_stand_in(module) for name, module in list(sys.modules.items())
            if name.split(".", 1)[0] in MODULES}
