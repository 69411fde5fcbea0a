"""The emulator's users in an LDAP directory, as YunoHost keeps them in its slapd.

Off unless ``YUNOHOST_EMULATOR_LDAP_URI`` is set (the tests point it at a private slapd,
``yunohost_standins/slapd.py``). Then ``user create`` adds
``uid=<username>,ou=users,dc=yunohost,dc=org`` (inetOrgPerson + posixAccount, the password as
``{SSHA}``), ``user update -p`` replaces its ``userPassword`` and ``user delete`` removes it, bound
as ``YUNOHOST_EMULATOR_LDAP_ADMIN_DN`` (default ``cn=admin,dc=yunohost,dc=org``) with
``YUNOHOST_EMULATOR_LDAP_ADMIN_PASSWORD``, through Debian's ``ldapmodify``. Each is written before the state file changes: an
LDAP failure (``MirrorFailed``, which the emulator reports as the command's error) fails the
command and leaves the state as it was.
"""

from __future__ import annotations

import base64
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

USERS_BASE = "ou=users,dc=yunohost,dc=org"


class MirrorFailed(Exception):
    """ldapmodify could not run, or slapd refused the change (the text says which)."""


def enabled() -> bool:
    return bool(os.environ.get("YUNOHOST_EMULATOR_LDAP_URI"))


def ssha(password: str) -> str:
    import hashlib  # imported late: loading OpenSSL costs start-up time to every command

    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()  # noqa: S324 - slapd's {SSHA}
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def user_dn(username: str) -> str:
    """The member's entry, as ``yunohost user create`` names it."""
    value = "".join("\\" + c if c in ',+"\\<>;=' else c for c in username)
    if value[:1] in ("#", " "):
        value = "\\" + value
    return f"uid={value},{USERS_BASE}"


def _line(name: str, value: str) -> str:
    return f"{name}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}\n"


def _modify(username: str, ldif: str) -> None:
    """Run ``ldapmodify`` (Debian's ldap-utils) on this LDIF, bound as the admin.

    The emulator runs on any python3 without the project's packages: the command-line tools,
    not ldap3. The admin's password goes through a private file, never argv.
    """
    import shutil  # imported late: only when mirroring, start-up stays cheap
    import subprocess
    import tempfile

    uri = os.environ["YUNOHOST_EMULATOR_LDAP_URI"]
    admin = os.environ.get("YUNOHOST_EMULATOR_LDAP_ADMIN_DN", "cn=admin,dc=yunohost,dc=org")
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", prefix="ldap-admin-") as secret:
        secret.write(os.environ.get("YUNOHOST_EMULATOR_LDAP_ADMIN_PASSWORD", ""))
        secret.flush()
        try:
            done = subprocess.run(
                [
                    shutil.which("ldapmodify") or "/usr/bin/ldapmodify",
                    "-x",
                    "-H",
                    uri,
                    "-D",
                    admin,
                    "-y",
                    secret.name,
                    "-o",
                    "nettimeout=5",
                ],
                input=_line("dn", user_dn(username)) + ldif,
                capture_output=True,
                text=True,
                timeout=15,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise MirrorFailed(f"LDAP: ldapmodify could not run: {type(e).__name__}") from None
    if done.returncode != 0:
        raise MirrorFailed(f"LDAP: ldapmodify failed for {username}: {done.stderr.strip()}")


def user_created(username: str, user: dict[str, Any], password: str) -> None:
    if not enabled():
        return
    first, _, last = user["fullname"].partition(" ")
    attributes = {
        "uid": username,
        "cn": user["fullname"],
        "displayName": user["fullname"],
        "givenName": first,
        "sn": last or first,
        "mail": user["mail"],
        "uidNumber": str(user["uid"]),
        "gidNumber": str(user["uid"]),
        "homeDirectory": f"/home/{username}",
        "loginShell": user["shell"],
        "userPassword": ssha(password),
    }
    ldif = "changetype: add\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
    _modify(username, ldif + "".join(_line(name, value) for name, value in attributes.items()))


def password_changed(username: str, password: str) -> None:
    if enabled():
        ldif = "changetype: modify\nreplace: userPassword\n" + _line("userPassword", ssha(password)) + "-\n"
        _modify(username, ldif)


def user_deleted(username: str) -> None:
    if enabled():
        _modify(username, "changetype: delete\n")
