"""The Alibaba Cloud site a deployment belongs to: the China site (aliyun.com) or the international one.

The sites differ in the SAML recipient a trust policy names, the console
sign-in address and the region RAM's events arrive in; the sources are in
docs/cloud-fidelity.md (SITE-SAML-RECIPIENT, SITE-SIGNIN, EB-RAM-REGION).
Data only: ``shared.config.site`` reads ``ROLEGATE_SITE``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    name: str
    saml_recipient: str  # the ``saml:recipient`` a SAML trust policy of this site requires
    signin_url: str  # where a RAM user signs in to the console (and then switches to a role)
    ram_event_region: str


CHINA = Site("china", "https://signin.aliyun.com/saml-role/sso", "https://signin.aliyun.com/login.htm",
             "cn-hangzhou")
INTERNATIONAL = Site("international", "https://signin.alibabacloud.com/saml-role/sso",
                     "https://signin.alibabacloud.com/login.htm", "ap-southeast-1")
SITES: dict[str, Site] = {site.name: site for site in (CHINA, INTERNATIONAL)}
DEFAULT_SITE = CHINA


def site_named(name: str) -> Site:
    """The site called ``name`` (``china`` or ``international``, any case); ``ValueError`` otherwise."""
    try:
        return SITES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown site {name!r}: {' or '.join(SITES)}") from None


__all__ = ["CHINA", "DEFAULT_SITE", "INTERNATIONAL", "SITES", "Site", "site_named"]
