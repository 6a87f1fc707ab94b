"""The admin API under ``/_emulator/``: accounts, clock, faults, call log, reset.

Services add their own admin routes (ECS instances, identity providers) with
:func:`emulator.registry.admin`.
"""
from __future__ import annotations

from typing import Any

from .clock import iso
from .registry import admin
from .site import set_site, site_of
from .world import World

Reply = tuple[int, Any]


@admin("POST", "/_emulator/accounts")
def create_account(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    alias = body.get("alias", "")
    if not isinstance(alias, str):
        raise ValueError("alias must be a string")
    account, key = world.create_account(alias)
    return 201, {"account_id": account.account_id, "alias": account.alias,
                 "access_key_id": key.access_key_id, "access_key_secret": key.secret}


@admin("GET", "/_emulator/accounts")
def list_accounts(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    return 200, {"accounts": [{"account_id": a.account_id, "alias": a.alias} for a in world.accounts.values()]}


def _clock(world: World) -> dict[str, Any]:
    now = world.clock.now()
    return {"now": iso(now), "epoch": now.timestamp(), "offset_seconds": world.clock.offset_seconds}


@admin("GET", "/_emulator/clock")
def get_clock(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    return 200, _clock(world)


@admin("POST", "/_emulator/clock")
def advance_clock(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    seconds = body.get("advance_seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise ValueError("advance_seconds must be a number")
    world.clock.advance(float(seconds))
    return 200, _clock(world)


@admin("GET", "/_emulator/faults")
def list_faults(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    return 200, {"faults": world.faults.rules()}


@admin("POST", "/_emulator/faults")
def add_fault(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    rule = world.faults.add(body)
    return 201, rule.to_dict()


@admin("DELETE", "/_emulator/faults")
def clear_faults(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    world.faults.clear()
    return 200, {"faults": []}


@admin("GET", "/_emulator/calls")
def list_calls(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    return 200, {"calls": world.calls.entries(int(query.get("since", 0)))}


@admin("DELETE", "/_emulator/calls")
def clear_calls(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    world.calls.clear()
    return 200, {"calls": []}


@admin("POST", "/_emulator/settings")
def settings(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    if "authorization" in body:
        if not isinstance(body["authorization"], bool):
            raise ValueError("authorization must be true or false")
        world.enforce_authorization = body["authorization"]
    if "quotas" in body:
        # Services read their limits from world.extras["quotas"] (names are each
        # service's own, e.g. RAM's "roles_per_account"), so a test can reach a
        # limit without creating a thousand entities. Cleared by reset.
        quotas = body["quotas"]
        if not isinstance(quotas, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
                for k, v in quotas.items()):
            raise ValueError("quotas must map names to non-negative integers")
        world.extras.setdefault("quotas", {}).update(quotas)
    if "site" in body:
        set_site(world, body["site"])
    return 200, {"authorization": world.enforce_authorization, "quotas": world.extras.get("quotas", {}),
                 "site": site_of(world).name}


@admin("POST", "/_emulator/reset")
def reset(world: World, body: dict[str, Any], query: dict[str, str]) -> Reply:
    world.reset()
    return 200, {"reset": True}
