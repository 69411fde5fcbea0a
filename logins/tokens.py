"""JWT issue and revocation on top of SimpleJWT.

Three ways a token dies before it expires:
- a refresh token is blacklisted (SimpleJWT's blacklist app, in the database);
- an access token's jti is denied in the cache until the token would expire anyway
  (Redis when configured, so every server process sees it);
- every token of a user issued before `user.tokens_valid_after` is refused (logout-all,
  password change, disabling);
- every token of an ended login session is refused: a refresh token carries its session's
  public id in `sid`, the access tokens minted from it copy it (so does a rotated refresh
  token), and ending the session denies the sid in the cache like a jti. Tokens carry `ist`, their issue time with microseconds,
  because `iat` is whole seconds and a login in the same second as a logout-all must live.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.tokens import RefreshToken as _RefreshToken

from . import revocation
from .revocation import CUTOFF_KEY, DENY_KEY, SESSION_DENY_KEY

logger = logging.getLogger(__name__)

CACHE_ERRORS = (ConnectionInterrupted, RedisError)

USER_KEY = "auth:user:{user_id}"
# Also the longest a cached user can outlive a change made while Redis was unreachable.
USER_CACHE_SECONDS = 60


class RefreshToken(_RefreshToken):
    def set_iat(self, claim: str = "iat", at_time: datetime | None = None) -> None:
        super().set_iat(claim, at_time)
        if claim == "iat":
            # Copied into the access tokens minted from this refresh token: they belong to
            # the same login, which is what the cut-off compares against.
            self.payload["ist"] = (at_time or self.current_time).timestamp()


def lifetime_seconds(token_class: type[Token]) -> int:
    lifetime = token_class.lifetime
    if lifetime is None:  # only SimpleJWT's abstract Token has none
        raise TypeError(f"{token_class.__name__} has no lifetime")
    return int(lifetime.total_seconds())


# The claim that says how the login was proven (RFC 8176 names): "pwd", then "otp" once a
# second factor was given. Copied into every access token minted from the refresh token.
AMR_CLAIM = "amr"
PASSWORD_ONLY = ("pwd",)
WITH_SECOND_FACTOR = ("pwd", "otp")


def has_second_factor(token: Any) -> bool:
    """The token's login gave a second factor (TOTP or a recovery code)."""
    return "otp" in (token.get(AMR_CLAIM) or ()) if token is not None else False


SESSION_CLAIM = "sid"


def issue_for_user(
    user: Any, *, session_id: str | None = None, factors: tuple[str, ...] = PASSWORD_ONLY
) -> dict[str, Any]:
    refresh = RefreshToken.for_user(user)
    refresh[AMR_CLAIM] = list(factors)
    if session_id is not None:
        refresh.payload[SESSION_CLAIM] = session_id
    return {
        "access": str(refresh.access_token),
        "access_expires_in": lifetime_seconds(AccessToken),
        "refresh": str(refresh),
        "refresh_expires_in": lifetime_seconds(RefreshToken),
    }


def issued_at(token: Token) -> float:
    return float(token.payload.get("ist", token.payload.get("iat", 0)))


def check_cutoff(user: Any, token: Token, published: float | None = None) -> None:
    cutoff = user.tokens_valid_after.timestamp() if user.tokens_valid_after else 0.0
    if issued_at(token) < max(cutoff, published or 0.0):
        raise InvalidToken(_("Token is invalid or expired."))


def publish_cutoff(user: Any) -> None:
    """Tell every server process at once that the user's older tokens are dead.

    Only revocations write this key, and only forward, so unlike the cached user (which a
    slow reader may refill with an old row) it can never go back in time. It lives as long
    as a refresh token could.
    """
    if user.tokens_valid_after is None:
        return
    timeout = lifetime_seconds(RefreshToken) + 60
    cutoff = user.tokens_valid_after.timestamp()
    try:
        cache.set(CUTOFF_KEY.format(user_id=user.pk), cutoff, timeout)
        revocation.publish({"t": "cutoff", "uid": str(user.pk), "ts": cutoff})
    except CACHE_ERRORS:
        # The database has the cut-off; a cached copy of the user may serve its old one for
        # at most USER_CACHE_SECONDS. Saving the change matters more than that window.
        logger.error("Could not publish the token cut-off of user %s: cache unreachable", user.pk)


def forget_user(user_id: Any) -> None:
    forget_users([user_id])


def user_saved(user: Any, *, cutoff_moved: bool = False) -> None:
    """The user's row was just saved (in the caller's transaction): once that commits, every
    server process drops its cached copy and, if the token cut-off moved, hears of the new one.

    After the commit, not before: a request reading the row in between would cache the old
    one again (the cut-off alone would survive that, the other columns would not).
    """
    user_id = user.pk
    transaction.on_commit(lambda: forget_user(user_id))
    if cutoff_moved:
        transaction.on_commit(lambda: publish_cutoff(user))


def forget_users(user_ids: Iterable[Any], *, chunk: int = 1000) -> None:
    """Drop cached users everywhere: in Redis, and in every process's mirror."""
    ids = [str(user_id) for user_id in user_ids]
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        try:
            cache.delete_many([USER_KEY.format(user_id=user_id) for user_id in part])
            revocation.publish({"t": "users", "uids": part})
        except CACHE_ERRORS:
            logger.warning("Could not drop %d cached user(s): cache unreachable", len(part))


def _remaining_seconds(token: Token) -> int:
    return max(1, int(token.payload["exp"] - time.time()) + 1)


def deny_access(token: Token) -> None:
    """Refuse this access token from now on. Raises if the cache is unreachable: the
    caller must not report a revocation that did not happen."""
    jti = token.payload[api_settings.JTI_CLAIM]
    cache.set(DENY_KEY.format(jti=jti), token.payload["exp"], timeout=_remaining_seconds(token))
    revocation.publish({"t": "deny", "jti": jti, "exp": token.payload["exp"]})


def factors_of(token: Any) -> tuple[str, ...]:
    """How the token's login was proven (its `amr` claim), for tokens that replace it."""
    claim = token.get(AMR_CLAIM) if token is not None else None
    return tuple(claim) if claim else PASSWORD_ONLY


def session_of(token: Token) -> str | None:
    sid = token.payload.get(SESSION_CLAIM)
    return str(sid) if sid else None


def deny_session(session_id: str) -> None:
    """Refuse every token of this login session from now on (as long as a refresh token of it
    could live). Raises if the cache is unreachable, like `deny_access`."""
    keep_until = time.time() + lifetime_seconds(RefreshToken) + 60
    cache.set(SESSION_DENY_KEY.format(sid=session_id), keep_until, timeout=lifetime_seconds(RefreshToken) + 60)
    revocation.publish({"t": "session", "sid": session_id, "exp": keep_until})


class _SpentRefreshToken(RefreshToken):
    # Every check of a refresh token (signature, expiry, type) but the blacklist's, which
    # `spent_refresh` asks itself.
    def check_blacklist(self) -> None:
        return None


def spent_refresh(raw: str) -> RefreshToken | None:
    """The token, if `raw` is a genuine, unexpired refresh token already blacklisted (rotated
    out or revoked); None for anything else, a forged or expired token included."""
    try:
        token = _SpentRefreshToken(raw)  # type: ignore[arg-type]  # SimpleJWT annotates the encoded token as Token
    except TokenError:
        return None
    if not BlacklistedToken.objects.filter(token__jti=token.payload[api_settings.JTI_CLAIM]).exists():
        return None
    return token


def parse_refresh(raw: str) -> RefreshToken:
    """A valid, unexpired, not blacklisted refresh token, or InvalidToken."""
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # SimpleJWT annotates the encoded token as Token
    except TokenError:
        raise InvalidToken(_("Token is invalid or expired.")) from None
