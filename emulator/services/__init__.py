"""The emulated products; importing this package registers their actions."""
from . import ecs, fc, ram, sts  # noqa: F401
