"""A local, stateful emulator of the Alibaba Cloud APIs Rolegate uses (RAM, STS, ECS, FC, KMS secrets,
Resource Directory).

It is an independent implementation of the cloud's rules and shares no code
with Rolegate's ``shared`` package. Three ways in: :class:`EmulatorServer` as a
context manager, the ``emulator`` pytest fixture (:mod:`emulator.pytest_plugin`),
and ``python -m emulator serve``.
"""
from .server import EmulatorServer, admin_call
from .world import World

__all__ = ["EmulatorServer", "World", "admin_call"]
