"""The Alibaba Cloud site an emulated world belongs to: ``china`` (the default) or ``international``.

The sites differ in the SAML recipient and the region RAM's events arrive in
(docs/design/emulator.md); ``POST /_emulator/settings {"site": ...}`` picks one.
"""
from __future__ import annotations

from dataclasses import dataclass

from .world import World


@dataclass(frozen=True)
class Site:
    name: str
    saml_endpoint: str
    ram_event_region: str


SITES = {  # ledger: SITE-SAML-RECIPIENT, EB-RAM-REGION
    "china": Site("china", "https://signin.aliyun.com/saml-role/sso", "cn-hangzhou"),
    "international": Site("international", "https://signin.alibabacloud.com/saml-role/sso", "ap-southeast-1"),
}
DEFAULT = "china"


def site_of(world: World) -> Site:
    """The world's site (``world.extras["site"]``, else the China site)."""
    return SITES[world.extras.get("site", DEFAULT)]


def set_site(world: World, name: object) -> None:
    if not isinstance(name, str) or name not in SITES:
        raise ValueError(f"site must be one of {', '.join(sorted(SITES))}")
    world.extras["site"] = name
