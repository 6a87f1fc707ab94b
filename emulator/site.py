"""The Alibaba Cloud site an emulated world belongs to: ``china`` (the default) or ``international``.

Where the two sites differ in what the emulator reproduces:

* the SAML service provider endpoint, the ``Recipient`` an assertion must be
  addressed to and the only ``saml:recipient`` a trust policy can be satisfied
  with: ``https://signin.aliyun.com/saml-role/sso`` (China site: the SAML trust
  example of RAM's CreateRole reference) or
  ``https://signin.alibabacloud.com/saml-role/sso`` (international site:
  https://www.alibabacloud.com/help/en/ram/user-guide/create-a-ram-role-for-a-trusted-idp,
  "Alibaba Cloud checks this value to confirm it is the intended recipient");
* the region whose default event bus receives RAM's (and STS's) ActionTrail
  events, RAM being deployed centrally: cn-hangzhou or ap-southeast-1
  (https://help.aliyun.com/zh/eventbridge/user-guide/ram-events).

A test or the local host picks the site with ``POST /_emulator/settings``
``{"site": "international"}``; a reset goes back to ``china``.
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
