"""The validation rules several commands share: password strength, domains, LDAP uniqueness."""

from __future__ import annotations

import os

from ..errors import EmulatorError, t

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


ADMIN_ALIASES = ["root", "admin", "admins", "webmaster", "postmaster", "abuse"]
SMALL_PWD_LIST = ["yunohost", "olinuxino", "olinux", "raspberry", "admin", "root", "test", "rpi"]
# A small sample standing in for /usr/share/yunohost/100000-most-used-passwords-length8plus.txt
# (the state key ``password_list`` names another file). The service's tests read it too.
MOST_USED_SAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "most-used-passwords.txt")
STRENGTH_LEVELS = [(8, 0, 0, 0, 0), (8, 1, 1, 1, 0), (8, 1, 1, 1, 1), (12, 1, 1, 1, 1)]
SHELLS = [
    "/bin/sh",
    "/usr/bin/sh",
    "/bin/bash",
    "/usr/bin/bash",
    "/bin/rbash",
    "/usr/bin/rbash",
    "/bin/dash",
    "/usr/bin/dash",
]
# /etc/passwd of a YunoHost 12 server (besides the system user of each installed app).
SYSTEM_USERS = {
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "_apt",
    "nobody",
    "systemd-network",
    "systemd-timesync",
    "messagebus",
    "sshd",
    "avahi",
    "postfix",
    "dovecot",
    "dovenull",
    "opendkim",
    "redis",
    "mysql",
    "postgres",
    "metronome",
    "openldap",
    "nslcd",
    "vmail",
    "rspamd",
    "dnsmasq",
    "ntp",
    "uuidd",
    "tcpdump",
    "ynh-portal",
    "polkitd",
    "_chrony",
}
BUILTIN_PERMISSIONS = ["mail.main", "ssh.main", "sftp.main"]


def _strength_level(password: str) -> int:
    digits = sum(c.isascii() and c.isdigit() for c in password)
    lower = sum(c.isascii() and c.islower() for c in password)
    upper = sum(c.isascii() and c.isupper() for c in password)
    counts = (len(password), digits, lower, upper, len(password) - digits - lower - upper)
    level = 0
    for index, criteria in enumerate(STRENGTH_LEVELS):
        if any(count < needed for count, needed in zip(counts, criteria, strict=True)):
            return level
        level = index + 1
    return level


def _in_most_used_list(path: str, password: str) -> bool:
    """`grep -q -F -f - <list>` with the password on stdin: each of its lines is a fixed-string
    pattern, found anywhere inside a line of the list (an empty pattern matches every line).
    No list: grep exits 2, which YunoHost reads as "not listed"."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    patterns = password.split("\n")
    if len(patterns) > 1 and patterns[-1] == "":
        patterns.pop()  # a final newline ends the last pattern
    return bool(text) and any(pattern in text for pattern in patterns)


def assert_password_strong(state: dict[str, Any], password: str) -> None:
    required = int(state.get("settings", {}).get("user_strength", 1))
    if required < 0:
        return
    listed = password in SMALL_PWD_LIST or _in_most_used_list(state.get("password_list") or MOST_USED_SAMPLE, password)
    if listed:
        raise EmulatorError(t("password_listed"))
    if _strength_level(password) < required:
        raise EmulatorError(t(f"password_too_simple_{required}"))


def assert_password_compatible(password: str) -> None:
    if len(password) >= 127:
        raise EmulatorError(t("password_too_long"))


def _domain_sort_key(domain: str) -> list[str]:
    # _get_domains: keep the main part and the extension together, then sort by labels.
    parts = domain.split(".")
    if len(parts) >= 2:
        parts[-1] = parts[-2] + parts.pop()
    return list(reversed(parts))


def sorted_domains(state: dict[str, Any]) -> list[str]:
    return sorted(state["domains"], key=_domain_sort_key)


def assert_domain_exists(state: dict[str, Any], domain: str) -> None:
    if domain not in state["domains"]:
        raise EmulatorError(t("domain_unknown", domain=domain))


def _group_mails(state: dict[str, Any]) -> list[str]:
    # The admins group carries the ADMIN_ALIASES of the main domain.
    aliases = [f"{alias}@{state['main_domain']}" for alias in ADMIN_ALIASES]
    for group in state["groups"].values():
        aliases.extend(group.get("mail_aliases", []))
    return aliases


def ldap_uniqueness(state: dict[str, Any], attrs: dict[str, str]) -> None:
    """utils/ldap.py validate_uniqueness: raise on the first attribute already in the tree."""
    users = state["users"].values()
    taken = {
        "uid": set(state["users"]),
        "mail": {m for u in users for m in [u["mail"], *u.get("aliases", [])]} | set(_group_mails(state)),
        "cn": set(state["groups"]) | set(state["users"]) | set(_permissions(state)),
    }
    for attribute, value in attrs.items():
        if value in taken[attribute]:
            error = t("ldap_attribute_already_exists", attribute=attribute, value=value)
            raise EmulatorError(error)


def _permissions(state: dict[str, Any]) -> list[str]:
    return BUILTIN_PERMISSIONS + [f"{app['id']}.main" for app in state["apps"]]


def system_users(state: dict[str, Any]) -> set[str]:
    return SYSTEM_USERS | {app["id"] for app in state["apps"]}
