"""Whether YunoHost accepts a member's password (docs/yunohost.md §9).

Members can change their password in YunoHost's own portal, so for an account that exists on
YunoHost the password YunoHost holds is the true one. ``check_password(username, password)``
asks YunoHost and answers a ``Verdict``; ``YUNOHOST_PASSWORD_CHECK`` chooses how:

* ``ldap``: a simple bind as ``uid=<username>,ou=users,dc=yunohost,dc=org`` on
  ``YUNOHOST_LDAP_URI`` (slapd on the YunoHost server itself), as YunoHost's portal does.
* ``portal``: a login on YunoHost 12's user-portal API (``POST <YUNOHOST_PORTAL_API_URL>login``
  with ``credentials=<username>:<password>``), for a service running on another host. YunoHost
  11 has no portal API (a system check refuses the combination). fail2ban's ``yunohost-portal``
  jail bans an address after 20 ``401`` answers in 10 minutes, and every member's login comes
  from this service's address: each question is counted as a failure before it is asked, and
  while ``YUNOHOST_PORTAL_FAIL_LIMIT`` of them fell within ``YUNOHOST_PORTAL_FAIL_WINDOW``
  seconds YunoHost is not asked at all (``UNREACHABLE``), so the ban never comes.
* ``local``: YunoHost is not asked (``UNDECIDED``): the local hash decides. The development
  and test defaults, where no YunoHost runs.

Every answer comes within ``YUNOHOST_PASSWORD_TIMEOUT`` seconds: a server that is down, slow
or answers nonsense is ``UNREACHABLE``, never an exception and never a hang. Nothing here logs
or keeps a password.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import re
import time
from typing import Any

import ldap3
import requests
from django.conf import settings
from django.core.cache import cache
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


def check_password(username: str, password: str, *, probe: bool = False) -> Verdict:
    """YunoHost's verdict on this username and password, within the configured timeout.

    A ``probe`` is asked only so that an answer takes the time a real question takes (its
    verdict is ignored): on the portal, whose failed logins fail2ban counts, it is not sent but
    waited for, as long as the recent portal logins took.
    """
    backend = getattr(settings, "YUNOHOST_PASSWORD_CHECK", "local")
    if backend == "local":
        return Verdict.UNDECIDED
    if backend not in _BACKENDS:
        raise ImproperlyConfigured(f"YUNOHOST_PASSWORD_CHECK must be ldap, portal or local, not {backend!r}")
    if probe and backend == "portal":
        return _portal_probe()
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


# --- The portal and fail2ban ------------------------------------------------------------------
# Every question is counted as a failure in the bucket of its minute (a tenth of the window)
# before it is sent, and taken back when YunoHost answered something fail2ban does not count:
# questions in flight are counted too, so concurrent logins cannot overshoot together. The
# window's buckets plus the current one cover at least the whole window fail2ban looks at.
_FAILURES_KEY = "yunohost:portal-failures:{bucket}"
# How long a portal login took lately (seconds), and whether the last one could be asked: what
# a probe waits and answers, so that it looks like a real question from outside.
_portal_latency = 0.05
_portal_last = Verdict.REFUSED


def _buckets() -> tuple[str, list[str], int]:
    """The current bucket's key, the keys of the window's earlier ones, and the keys' lifetime."""
    window = int(settings.YUNOHOST_PORTAL_FAIL_WINDOW)
    size = max(1, window // 10)
    current = int(time.time()) // size
    earlier = [_FAILURES_KEY.format(bucket=current - n) for n in range(1, window // size + 1)]
    return _FAILURES_KEY.format(bucket=current), earlier, window + 2 * size


def _earlier_failures(keys: list[str]) -> int:
    return sum(int(value) for value in cache.get_many(keys).values())


def _portal_failure_reserve() -> str | None:
    """Count a failure before asking; None (nothing counted) when the budget is spent."""
    key, earlier, lifetime = _buckets()
    cache.add(key, 0, timeout=lifetime)
    try:
        mine = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=lifetime)
        mine = 1
    if mine + _earlier_failures(earlier) > settings.YUNOHOST_PORTAL_FAIL_LIMIT:
        _portal_failure_release(key)
        return None
    return key


def _portal_failure_release(key: str) -> None:
    with contextlib.suppress(ValueError):  # the bucket expired meanwhile: nothing to take back
        cache.decr(key)


def _portal_probe() -> Verdict:
    key, earlier, _ = _buckets()
    if int(cache.get(key) or 0) + _earlier_failures(earlier) >= settings.YUNOHOST_PORTAL_FAIL_LIMIT:
        return Verdict.UNREACHABLE  # what a real question would answer now, at once
    time.sleep(_portal_latency)
    return _portal_last


def _check_portal(username: str, password: str) -> Verdict:
    url = getattr(settings, "YUNOHOST_PORTAL_API_URL", "")
    if not url:
        raise ImproperlyConfigured("YUNOHOST_PASSWORD_CHECK=portal needs YUNOHOST_PORTAL_API_URL")
    reserved = _portal_failure_reserve()
    if reserved is None:
        logger.warning(
            "YunoHost's portal API was not asked: %s failed logins within %s s would bring "
            "fail2ban's ban on this service's address closer",
            settings.YUNOHOST_PORTAL_FAIL_LIMIT,
            settings.YUNOHOST_PORTAL_FAIL_WINDOW,
        )
        return Verdict.UNREACHABLE
    started = time.monotonic()
    status, body = _portal_login(url, username, password)
    if status != 401:  # fail2ban's yunohost-portal filter counts 401 answers only
        _portal_failure_release(reserved)
    verdict = _portal_verdict(url, status, body)
    global _portal_latency, _portal_last
    _portal_latency = 0.8 * _portal_latency + 0.2 * min(time.monotonic() - started, _timeout())
    _portal_last = Verdict.UNREACHABLE if verdict is Verdict.UNREACHABLE else Verdict.REFUSED
    return verdict


def _portal_verdict(url: str, status: int | None, body: str) -> Verdict:
    if status is None:
        return Verdict.UNREACHABLE
    if 200 <= status < 300:
        return Verdict.ACCEPTED
    if status == 401 and not _UNABLE_RE.search(body):
        return Verdict.REFUSED
    if status == 401:
        logger.warning("YunoHost's portal API at %s could not authenticate anyone (is slapd down?)", url)
    else:
        logger.warning("YunoHost's portal API at %s answered a login with HTTP %s", url, status)
    return Verdict.UNREACHABLE


# moulinette's MoulinetteAuthenticationError("unable_authenticate"): YunoHost 12's answer when
# slapd is down (ldap_ynhuser logs SERVER_DOWN and fails on the unbound connection) or the
# user may not use the Host's domain. "Invalid password" is the only wrong-password answer.
_UNABLE_RE = re.compile(r"Unable to authenticate|unable_authenticate")


def _portal_login(url: str, username: str, password: str) -> tuple[int | None, str]:
    """The portal's status and body for this login; (None, "") when it could not be asked."""
    timeout = _timeout()
    verify: Any = getattr(settings, "YUNOHOST_API_CA_BUNDLE", "") or True
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy from the environment; verify stays ours
            response = session.post(
                url.rstrip("/") + "/login",
                # locale: moulinette answers in this language (the default is the server's).
                data={"credentials": f"{username}:{password}", "locale": "en"},
                # moulinette refuses a form POST without it (403 "CSRF protection").
                headers={"X-Requested-With": "blahaj-accounts"},
                timeout=(timeout, timeout),
                verify=verify,
                allow_redirects=False,
            )
            body = response.text[:200] if response.status_code == 401 else ""
            response.close()
    except (requests.RequestException, OSError, ValueError) as e:
        logger.warning("YunoHost's portal API at %s could not check a password: %s", url, type(e).__name__)
        return None, ""
    return response.status_code, body


_BACKENDS = {"ldap": _check_ldap, "portal": _check_portal}
