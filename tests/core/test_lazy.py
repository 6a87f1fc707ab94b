"""shared.lazy.load: collection is paused only while a library loads, and always given back."""
from __future__ import annotations

import gc
import sys
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from shared.lazy import load


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    gc.unfreeze()  # hand frozen objects back to the collector: other tests run in this process
    gc.enable()


def write_module(directory: Path, body: str) -> str:
    name = f"lazy_probe_{uuid.uuid4().hex}"
    (directory / f"{name}.py").write_text(body, encoding="utf-8")
    return name


def test_a_library_loads_with_collection_paused_and_frozen_afterwards(module_dir: Path) -> None:
    name = write_module(module_dir, "import gc\nCOLLECTING = gc.isenabled()\nKEPT = [object() for _ in range(1000)]\n")
    gc.enable()
    module = load(name)
    assert module is sys.modules[name] and module.COLLECTING is False
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(module.KEPT)  # what the import left alive is skipped by later collections


def test_an_already_loaded_module_is_returned_without_touching_the_collector(module_dir: Path) -> None:
    name = write_module(module_dir, "VALUE = 1\n")
    first = load(name)
    gc.unfreeze()
    assert load(name) is first and gc.get_freeze_count() == 0


def test_a_module_another_thread_is_still_loading_is_returned_complete(module_dir: Path) -> None:
    """sys.modules holds a module from the start of its import: a second caller must wait for the end."""
    name = write_module(module_dir, "import time\ntime.sleep(0.3)\nVALUE = 1\n")
    started = threading.Event()
    first: list[ModuleType] = []

    def slow_loader() -> None:
        started.set()
        first.append(load(name))

    loader = threading.Thread(target=slow_loader)
    loader.start()
    started.wait()
    while name not in sys.modules:  # the first import is under way
        time.sleep(0.001)
    second = load(name)
    complete = hasattr(second, "VALUE")  # read before the first import is waited for below
    loader.join()
    assert complete and second is first[0]
    assert gc.isenabled()


def test_a_failing_import_gives_collection_back(module_dir: Path) -> None:
    name = write_module(module_dir, "raise RuntimeError('broken library')\n")
    gc.enable()
    with pytest.raises(RuntimeError, match="broken library"):
        load(name)
    assert gc.isenabled() and name not in sys.modules


def test_a_collector_the_host_turned_off_stays_off(module_dir: Path) -> None:
    name = write_module(module_dir, "VALUE = 1\n")
    gc.disable()
    load(name)
    assert not gc.isenabled()
