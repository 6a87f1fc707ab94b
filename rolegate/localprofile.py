"""The local host's profile: where its emulator is and the demo operator's keys, for ``rolegate --local``.

``rolegate local`` writes it when it is up and removes it when it stops, so
the CLI reaches the local host without keys copied by hand. The file holds
emulator-only keys, readable by its owner only (mode 0600).
``ROLEGATE_LOCAL_PROFILE`` moves it (default ``~/.rolegate/local.json``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from shared.errors import ConfigError

PATH_VARIABLE = "ROLEGATE_LOCAL_PROFILE"
SETTINGS = ("ROLEGATE_ENDPOINT", "ROLEGATE_OWNER_ACCOUNT_ID", "ROLEGATE_RECORD_KEY_SECRET",
            "ROLEGATE_WEBHOOK_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")


def profile_path() -> Path:
    return Path(os.environ.get(PATH_VARIABLE) or Path.home() / ".rolegate" / "local.json")


def write(settings: dict[str, str], path: Path | None = None) -> Path:
    """Write ``settings`` (the variables in ``SETTINGS``) with this process's id, owner-only."""
    path = path or profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"pid": os.getpid(), "settings": {k: settings[k] for k in SETTINGS}}, out, indent=2)
    os.chmod(path, 0o600)
    return path


def remove(path: Path) -> None:
    """Remove the profile if this process wrote it (a newer local host may have replaced it)."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def load(path: Path | None = None) -> dict[str, str]:
    """The environment the profile gives the CLI; a clear error when no local host is up."""
    path = path or profile_path()
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        pid, settings = int(data["pid"]), {k: str(data["settings"][k]) for k in SETTINGS}
    except FileNotFoundError:
        raise ConfigError(f"No local host profile at {path}: start one with `make local`.",
                          field="--local") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"The local host profile {path} is unreadable; restart `make local`.",
                          field="--local") from None
    if not _alive(pid):
        raise ConfigError(f"The local host that wrote {path} (process {pid}) is no longer running; "
                          "start one with `make local`.", field="--local")
    return settings


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["PATH_VARIABLE", "SETTINGS", "load", "profile_path", "remove", "write"]
