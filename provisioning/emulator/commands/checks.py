"""The validation rules several commands share: password strength, domains, LDAP uniqueness."""

from __future__ import annotations

from ..errors import EmulatorError, t

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


ADMIN_ALIASES = ["root", "admin", "admins", "webmaster", "postmaster", "abuse"]
SMALL_PWD_LIST = ["yunohost", "olinuxino", "olinux", "raspberry", "admin", "root", "test", "rpi"]
# A small sample standing in for /usr/share/yunohost/100000-most-used-passwords-length8plus.txt.
# YunoHost greps it with `grep -F -f -`: a password is "listed" when it is a substring of a line.
MOST_USED_SAMPLE = [
    "password",
    "password1",
    "password123",
    "passw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "11111111",
    "00000000",
    "qwertyuiop",
    "qwerty123",
    "azertyuiop",
    "1q2w3e4r",
    "abc12345",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "starwars",
    "trustno1",
    "whatever",
    "letmein1",
    "welcome1",
    "changeme",
    "admin123",
    "motdepasse",
]
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


def assert_password_strong(state: dict[str, Any], password: str) -> None:
    required = int(state.get("settings", {}).get("user_strength", 1))
    if required < 0:
        return
    listed = password in SMALL_PWD_LIST or ("\n" not in password and any(password in line for line in MOST_USED_SAMPLE))
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
