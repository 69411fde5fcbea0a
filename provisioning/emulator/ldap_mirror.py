"""The emulator's users in an LDAP directory, as YunoHost keeps them in its slapd.

Off unless ``YUNOHOST_EMULATOR_LDAP_URI`` is set (the tests point it at a private slapd,
``provisioning/testing_ldap.py``). Then ``user create`` adds
``uid=<username>,ou=users,dc=yunohost,dc=org`` (inetOrgPerson + posixAccount, the password as
``{SSHA}``), ``user update -p`` replaces its ``userPassword`` and ``user delete`` removes it, bound
as ``YUNOHOST_EMULATOR_LDAP_ADMIN_DN`` (default ``cn=admin,dc=yunohost,dc=org``) with
``YUNOHOST_EMULATOR_LDAP_ADMIN_PASSWORD``. Each is written before the state file changes: an
LDAP failure fails the command and leaves the state as it was.
"""

from __future__ import annotations

import base64
import hashlib
import os

from ..errors import EmulatorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

USERS_BASE = "ou=users,dc=yunohost,dc=org"


def enabled() -> bool:
    return bool(os.environ.get("YUNOHOST_EMULATOR_LDAP_URI"))


def ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()  # noqa: S324 - slapd's {SSHA}
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def _dn(username: str) -> str:
    from ldap3.utils.dn import escape_rdn  # imported late: only when mirroring, start-up stays cheap

    return f"uid={escape_rdn(username)},{USERS_BASE}"


def _run(operation: str, username: str, *args: Any) -> None:
    import ldap3

    uri = os.environ["YUNOHOST_EMULATOR_LDAP_URI"]
    admin = os.environ.get("YUNOHOST_EMULATOR_LDAP_ADMIN_DN", "cn=admin,dc=yunohost,dc=org")
    try:
        server = ldap3.Server(uri, connect_timeout=5, get_info=ldap3.NONE)
        with ldap3.Connection(
            server,
            admin,
            os.environ.get("YUNOHOST_EMULATOR_LDAP_ADMIN_PASSWORD", ""),
            auto_bind=True,
            receive_timeout=10,
            raise_exceptions=True,
        ) as connection:
            getattr(connection, operation)(_dn(username), *args)
    except (ldap3.core.exceptions.LDAPException, OSError) as e:
        raise EmulatorError(f"LDAP operation {operation} on {username} failed: {type(e).__name__}") from None


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
        "uidNumber": user["uid"],
        "gidNumber": user["uid"],
        "homeDirectory": f"/home/{username}",
        "loginShell": user["shell"],
        "userPassword": ssha(password),
    }
    _run("add", username, ["inetOrgPerson", "posixAccount"], attributes)


def password_changed(username: str, password: str) -> None:
    if not enabled():
        return
    import ldap3

    _run("modify", username, {"userPassword": [(ldap3.MODIFY_REPLACE, [ssha(password)])]})


def user_deleted(username: str) -> None:
    if enabled():
        _run("delete", username)
