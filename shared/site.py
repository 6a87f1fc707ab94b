"""The Alibaba Cloud site a deployment belongs to: the China site (aliyun.com) or the international one.

The two sites differ in facts Rolegate writes or relies on:

* the SAML service provider endpoint, which a SAML trust policy names as
  ``saml:recipient``: ``https://signin.aliyun.com/saml-role/sso`` on the China
  site (the SAML trust example of RAM's CreateRole reference, help.aliyun.com),
  ``https://signin.alibabacloud.com/saml-role/sso`` on the international site
  (https://www.alibabacloud.com/help/en/ram/user-guide/create-a-ram-role-for-a-trusted-idp);
* the console sign-in page of RAM users, from which they switch to a role
  (https://www.alibabacloud.com/help/doc-detail/116820.htm): ``signin.aliyun.com``
  or ``signin.alibabacloud.com``;
* the region whose default event bus receives RAM's ActionTrail events: RAM is
  deployed centrally, its events arrive in cn-hangzhou for the China site and in
  ap-southeast-1 for the international site
  (https://help.aliyun.com/zh/eventbridge/user-guide/ram-events).

This module is data only; ``shared.config.site`` reads ``ROLEGATE_SITE``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    name: str
    signin_host: str
    ram_event_region: str

    @property
    def saml_recipient(self) -> str:
        """The ``saml:recipient`` a SAML trust policy of this site requires."""
        return f"https://{self.signin_host}/saml-role/sso"

    @property
    def signin_url(self) -> str:
        """Where a RAM user signs in to the console (and then switches to a role)."""
        return f"https://{self.signin_host}/login.htm"


CHINA = Site("china", "signin.aliyun.com", "cn-hangzhou")
INTERNATIONAL = Site("international", "signin.alibabacloud.com", "ap-southeast-1")
SITES: dict[str, Site] = {site.name: site for site in (CHINA, INTERNATIONAL)}
DEFAULT_SITE = CHINA


def site_named(name: str) -> Site:
    """The site called ``name`` (``china`` or ``international``, any case); ``ValueError`` otherwise."""
    try:
        return SITES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown site {name!r}: {' or '.join(SITES)}") from None


__all__ = ["CHINA", "DEFAULT_SITE", "INTERNATIONAL", "SITES", "Site", "site_named"]
