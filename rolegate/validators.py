"""The request validators a built package holds: each request schema compiled into plain Python.

A compiled validator answers "valid or not" in microseconds and imports
nothing heavier than ``re``, so a function's first request does not pay for
importing ``jsonschema`` (which ``shared.schema`` still loads to word the
error once a body is refused). ``rolegate package`` writes them into each
package from the schemas it ships; a checkout compiles them on first use
(:func:`shared.schema.compiled_for`), so they are never stale and never in git.
"""
from __future__ import annotations

from pathlib import Path

from shared.schema import compiled_source

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = {
    "create_grant": Path("shared") / "onboarding" / "schemas" / "create_grant.json",
    "update_grant": Path("shared") / "onboarding" / "schemas" / "update_grant.json",
    "query_request": Path("shared") / "query" / "query_request.json",
}


def write(package: Path) -> list[Path]:
    """Compile each schema ``package`` ships into ``package/shared/validators/<name>.py``; the files written."""
    written = []
    for name, schema in SCHEMAS.items():
        path = package / "shared" / "validators" / f"{name}.py"
        path.unlink(missing_ok=True)  # the package's shared/ may be hard-linked to the checkout's
        path.write_text(compiled_source(package / schema), encoding="utf-8")
        written.append(path)
    return written
