"""JWT issue and revocation on top of SimpleJWT.

Three ways a token dies before it expires:
- a refresh token is blacklisted (SimpleJWT's blacklist app, in the database);
- an access token's jti is denied in the cache until the token would expire anyway
  (Redis when configured, so every server process sees it);
- every token of a user issued before `user.tokens_valid_after` is refused (logout-all,
  password change, disabling). Tokens carry `ist`, their issue time with microseconds,
  because `iat` is whole seconds and a login in the same second as a logout-all must live.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken as _RefreshToken, Token

DENY_KEY = "jwt:deny:{jti}"


class RefreshToken(_RefreshToken):
    def set_iat(self, claim: str = "iat", at_time=None) -> None:
        super().set_iat(claim, at_time)
        if claim == "iat":
            # Copied into the access tokens minted from this refresh token: they belong to
            # the same login, which is what the cut-off compares against.
            self.payload["ist"] = (at_time or self.current_time).timestamp()


def lifetime_seconds(token_class: type[Token]) -> int:
    return int(token_class.lifetime.total_seconds())


def issue_for_user(user: Any) -> dict[str, Any]:
    refresh = RefreshToken.for_user(user)
    return {
        "access": str(refresh.access_token),
        "access_expires_in": lifetime_seconds(AccessToken),
        "refresh": str(refresh),
        "refresh_expires_in": lifetime_seconds(RefreshToken),
    }


def issued_at(token: Token) -> float:
    return float(token.payload.get("ist", token.payload.get("iat", 0)))


def check_cutoff(user: Any, token: Token) -> None:
    cutoff = user.tokens_valid_after
    if cutoff is not None and issued_at(token) < cutoff.timestamp():
        raise InvalidToken("Token is invalid or expired.")


def _remaining_seconds(token: Token) -> int:
    return max(1, int(token.payload["exp"] - time.time()) + 1)


def deny_access(token: Token) -> None:
    jti = token.payload[api_settings.JTI_CLAIM]
    cache.set(DENY_KEY.format(jti=jti), 1, timeout=_remaining_seconds(token))


def is_denied(token: Token) -> bool:
    return cache.get(DENY_KEY.format(jti=token.payload[api_settings.JTI_CLAIM])) is not None


def parse_refresh(raw: str) -> RefreshToken:
    """A valid, unexpired, not blacklisted refresh token, or InvalidToken."""
    try:
        return RefreshToken(raw)
    except TokenError:
        raise InvalidToken("Token is invalid or expired.") from None
