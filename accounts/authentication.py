from __future__ import annotations

from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from . import tokens


class JWTAuthentication(authentication.JWTAuthentication):
    """SimpleJWT's access-token authentication plus the denylist and the per-user cut-off.

    Only access tokens are accepted here: a refresh token fails the `token_type` check.
    """

    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        try:
            token = AccessToken(raw_token)
        except TokenError:
            raise InvalidToken("Token is invalid or expired.") from None
        if tokens.is_denied(token):
            raise InvalidToken("Token is invalid or expired.")
        return token

    def get_user(self, validated_token: AccessToken):
        try:
            user = super().get_user(validated_token)
        except AuthenticationFailed:  # unknown or inactive user: same answer as a bad token
            raise InvalidToken("Token is invalid or expired.") from None
        tokens.check_cutoff(user, validated_token)
        return user
