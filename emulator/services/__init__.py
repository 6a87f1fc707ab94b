"""The emulated products; importing this package registers their actions."""
from . import ecs, fc, kms, ram, sts  # noqa: F401
