"""Attacks meant to keep an expired grant alive, or to make the sweep act on a role that is no live grant."""
from __future__ import annotations

from datetime import timedelta

from shared.grants.tags import RECORD_KEY_PREFIX
from tests.security.conftest import Arena, swept


def test_breaking_live_grants_does_not_let_the_guard_shield_expired_ones(arena: Arena) -> None:
    """Six grants expire together beside six live ones: under the guard's share. A tagger garbles one live
    record, so only eleven records are proven: the broken role still counts as a grant of the namespace, and
    the six expired grants are revoked."""
    expiring = [arena.grant(lifetime=timedelta(minutes=5)) for _ in range(6)]
    live = [arena.grant(lifetime=timedelta(days=2)) for _ in range(6)]
    arena.tag(live[0].role_name, {f"{RECORD_KEY_PREFIX}0": "3.1.garbled"})
    arena.emulator.advance_clock(600)

    report = swept(arena.sweep())

    assert report["ok"] and "blocked" not in report, report.get("blocked")
    assert report["revoked"] == 6 and report["examined"] == 11
    assert [entry["role"] for entry in report["disarmed"]] == [live[0].role_name]
    assert not any(grant.role_name in arena.roles() for grant in expiring)
    assert all(grant.role_name in arena.roles() for grant in live)
