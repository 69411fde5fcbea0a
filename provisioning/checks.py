"""System checks (``manage.py check``, run by ``scripts/deploy-check``): a YunoHost configuration
that cannot work is refused before the service starts, with a sentence that says why."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks


def _portal_mode() -> bool:
    return settings.YUNOHOST_PASSWORD_CHECK == "portal"  # noqa: S105 - a setting's value, no secret


@checks.register(checks.Tags.compatibility)
def portal_needs_yunohost_12(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not _portal_mode() or str(settings.YUNOHOST_VERSION) != "11":
        return []
    return [
        checks.Error(
            "YUNOHOST_PASSWORD_CHECK=portal needs YunoHost 12: YunoHost 11 has no portal API, so no "
            "member could log in.",
            hint="On YunoHost 11, use YUNOHOST_PASSWORD_CHECK=ldap: on the YunoHost server itself, or "
            "through an SSH tunnel to its slapd (YUNOHOST_LDAP_URI=ldap://127.0.0.1:<tunnel port>); "
            "or YUNOHOST_PASSWORD_CHECK=local (docs/deploy.md).",
            id="provisioning.E001",
        )
    ]


@checks.register(checks.Tags.security)
def portal_budget_under_the_ban(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not _portal_mode() or settings.YUNOHOST_PORTAL_FAIL_LIMIT < 20:
        return []
    return [
        checks.Error(
            "YUNOHOST_PORTAL_FAIL_LIMIT must stay under 20: fail2ban bans this service's address "
            "after 20 failed portal logins in 10 minutes, for every member at once.",
            id="provisioning.E002",
        )
    ]


@checks.register(checks.Tags.security)
def password_list_readable(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    path = settings.YUNOHOST_PASSWORD_LIST
    if os.access(path, os.R_OK) or os.access(path + ".gz", os.R_OK):
        return []
    return [
        checks.Warning(
            f"YunoHost's list of common passwords ({path}) cannot be read: a password on it passes "
            "here and YunoHost refuses it when the account is created.",
            hint="Copy /usr/share/yunohost/100000-most-used-passwords-length8plus.txt(.gz) from the "
            "YunoHost server and point YUNOHOST_PASSWORD_LIST at it (docs/deploy.md).",
            id="provisioning.W001",
        )
    ]
