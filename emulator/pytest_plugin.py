"""Pytest fixtures: one emulator per test session, fresh state for every test.

Enable with ``pytest_plugins = ["emulator.pytest_plugin"]`` in a conftest.
"""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from .server import EmulatorServer

PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    for name in PROXY_VARS:  # the SDK sends loopback calls to a proxy if one is set
        os.environ.pop(name, None)
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The running emulator, reset to an empty world before the test."""
    emulator_server.world.reset()
    yield emulator_server
    emulator_server.world.reset()
