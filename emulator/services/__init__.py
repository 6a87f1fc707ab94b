"""The emulated products; importing this package registers their actions."""
from . import ecs, fc, idp, kms, ram, resourcemanager, sts  # noqa: F401
