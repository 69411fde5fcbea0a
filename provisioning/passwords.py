"""Whether YunoHost accepts a member's password (docs/yunohost.md §9).

Members can change their password in YunoHost's own portal, so for an account that exists on
YunoHost the password YunoHost holds is the true one. ``check_password(username, password)``
asks YunoHost and answers a ``Verdict``; ``YUNOHOST_PASSWORD_CHECK`` chooses how:

* ``ldap``: a simple bind as ``uid=<username>,ou=users,dc=yunohost,dc=org`` on
  ``YUNOHOST_LDAP_URI`` (slapd on the YunoHost server itself), as YunoHost's portal does.
* ``portal``: a login on YunoHost 12's user-portal API (``POST <YUNOHOST_PORTAL_API_URL>login``
  with ``credentials=<username>:<password>``), for a service running on another host.
* ``local``: YunoHost is not asked (``UNDECIDED``): the local hash decides. The development
  and test defaults, where no YunoHost runs.

Every answer comes within ``YUNOHOST_PASSWORD_TIMEOUT`` seconds: a server that is down, slow
or answers nonsense is ``UNREACHABLE``, never an exception and never a hang. Nothing here logs
or keeps a password.
"""

from __future__ import annotations

import enum
import logging
import re
from typing import Any

import ldap3
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from ldap3.utils.dn import escape_rdn

logger = logging.getLogger(__name__)

USERS_BASE = "ou=users,dc=yunohost,dc=org"
# The project's username rule (accounts/validators.py): anything else cannot be a member.
USERNAME_RE = re.compile(r"[a-z0-9_.]{1,30}")
MAX_PASSWORD = 126  # YunoHost refuses longer passwords; no member can have one


class Verdict(enum.Enum):
    ACCEPTED = "accepted"  # YunoHost knows this user with this password
    REFUSED = "refused"  # YunoHost says no: wrong password or no such user
    UNREACHABLE = "unreachable"  # YunoHost could not be asked (down, slow, odd answer)
    UNDECIDED = "undecided"  # not asked (YUNOHOST_PASSWORD_CHECK=local): the local hash decides


def user_dn(username: str) -> str:
    return f"uid={escape_rdn(username)},{USERS_BASE}"


def close(connection: ldap3.Connection) -> None:
    """Unbind and close the socket: ldap3 leaves it open when the connection failed."""
    try:
        connection.unbind()
    finally:
        if connection.socket is not None:
            connection.socket.close()


def check_password(username: str, password: str) -> Verdict:
    """YunoHost's verdict on this username and password, within the configured timeout."""
    backend = getattr(settings, "YUNOHOST_PASSWORD_CHECK", "local")
    if backend == "local":
        return Verdict.UNDECIDED
    if backend not in _BACKENDS:
        raise ImproperlyConfigured(f"YUNOHOST_PASSWORD_CHECK must be ldap, portal or local, not {backend!r}")
    # An empty password would be an anonymous bind, which "succeeds"; never ask about it.
    if not password or len(password) > MAX_PASSWORD or not USERNAME_RE.fullmatch(username) or not username.strip("."):
        return Verdict.REFUSED
    return _BACKENDS[backend](username, password)


def _timeout() -> int:
    # Whole seconds: ldap3 sets the receive timeout as a socket option that takes an integer.
    return max(1, int(getattr(settings, "YUNOHOST_PASSWORD_TIMEOUT", 2)))


def _check_ldap(username: str, password: str) -> Verdict:
    timeout = _timeout()
    uri = getattr(settings, "YUNOHOST_LDAP_URI", "") or "ldap://127.0.0.1:389"
    try:
        server = ldap3.Server(uri, connect_timeout=timeout, get_info=ldap3.NONE)
        connection = ldap3.Connection(
            server,
            user=user_dn(username),
            password=password,
            authentication=ldap3.SIMPLE,
            receive_timeout=timeout,
            raise_exceptions=False,
            auto_referrals=False,
        )
        try:
            bound = connection.bind()
            result = connection.result or {}
        finally:
            close(connection)
    except Exception as e:  # noqa: BLE001 - any failure to ask is "unreachable", never a 500
        logger.warning("YunoHost's LDAP server at %s could not check a password: %s", uri, type(e).__name__)
        return Verdict.UNREACHABLE
    if bound:
        return Verdict.ACCEPTED
    if result.get("description") == "invalidCredentials":
        return Verdict.REFUSED
    logger.warning("YunoHost's LDAP server at %s answered a bind with %s", uri, result.get("description"))
    return Verdict.UNREACHABLE


def _check_portal(username: str, password: str) -> Verdict:
    timeout = _timeout()
    url = getattr(settings, "YUNOHOST_PORTAL_API_URL", "")
    if not url:
        raise ImproperlyConfigured("YUNOHOST_PASSWORD_CHECK=portal needs YUNOHOST_PORTAL_API_URL")
    verify: Any = getattr(settings, "YUNOHOST_API_CA_BUNDLE", "") or True
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy from the environment; verify stays ours
            response = session.post(
                url.rstrip("/") + "/login",
                data={"credentials": f"{username}:{password}"},
                # moulinette refuses a form POST without it (403 "CSRF protection").
                headers={"X-Requested-With": "blahaj-accounts"},
                timeout=(timeout, timeout),
                verify=verify,
                allow_redirects=False,
            )
            response.close()
    except (requests.RequestException, OSError, ValueError) as e:
        logger.warning("YunoHost's portal API at %s could not check a password: %s", url, type(e).__name__)
        return Verdict.UNREACHABLE
    if 200 <= response.status_code < 300:
        return Verdict.ACCEPTED
    if response.status_code == 401:
        return Verdict.REFUSED
    logger.warning("YunoHost's portal API at %s answered a login with HTTP %s", url, response.status_code)
    return Verdict.UNREACHABLE


_BACKENDS = {"ldap": _check_ldap, "portal": _check_portal}
