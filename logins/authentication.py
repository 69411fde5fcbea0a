from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotAuthenticated
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt import state as jwt_state
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.utils import aware_utcnow

import audit
from blahaj import permissions
from languages import i18n

from . import revocation, tokens

if TYPE_CHECKING:
    from accounts.models import User


class JWTAuthentication(authentication.JWTAuthentication):
    """SimpleJWT's access-token authentication plus the denylist and the per-user cut-off.

    Only access tokens are accepted here: a refresh token fails the `token_type` check.
    With Redis, revocations reach this process through `revocation.mirror`, so a request
    needs no round trip at all; without a healthy subscription it costs one cache round trip
    (denylist entries of the token and of its login session, published cut-off and the cached
    user together) and, on a cache miss only, one query.
    """

    def authenticate(self, request: Any) -> tuple[User, Token] | None:  # type: ignore[override]
        """Also the two rules every route shares (docs/api.md "Second factor"): a staff token
        without the second factor opens only the views marked `admits_staff_without_mfa` (the
        set-up routes, /me, its own revocation), and a service account only the views marked
        `admits_service_accounts`. Both refusals are 403s with their own code."""
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if not isinstance(user, get_user_model()):  # get_user gives nothing else
            raise InvalidToken(_("Token is invalid or expired."))
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if user.is_service_account and not getattr(view, "admits_service_accounts", False):
            raise permissions.Refused(permissions.SERVICE_ACCOUNT_SENTENCE, code="service_account")
        if not getattr(view, "admits_staff_without_mfa", False) and (refusal := permissions.mfa_refusal(user, token)):
            raise refusal
        i18n.prefer_account(request, user)  # its sentences in the account's language, unless the request names one
        return user, token

    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        try:
            return verified_access_token(raw_token)
        except TokenError:
            raise InvalidToken(_("Token is invalid or expired.")) from None

    # SimpleJWT declares the result as a TypeVar bound to nothing in the signature.
    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        if revocation.mirror.ready():
            user = self._user_from_mirror(validated_token)
        else:
            user = self._user_from_cache(validated_token)
        audit.identify(user)  # the audit log's actor for this request (no query)
        return user

    def _user_from_mirror(self, validated_token: Token) -> User:
        mirror = revocation.mirror
        user_id = str(validated_token.get(api_settings.USER_ID_CLAIM))
        if validated_token[api_settings.JTI_CLAIM] in mirror.denied:
            raise InvalidToken(_("Token is invalid or expired."))
        if (sid := tokens.session_of(validated_token)) is not None and sid in mirror.ended_sessions:
            raise InvalidToken(_("Token is invalid or expired."))
        user = mirror.user(user_id)
        if user is None:
            user_key = tokens.USER_KEY.format(user_id=user_id)
            user = cache.get(user_key) or self._load_user(user_id, user_key)
            mirror.keep_user(user_id, user, tokens.USER_CACHE_SECONDS)
        if not user.is_active:
            raise InvalidToken(_("Token is invalid or expired."))
        tokens.check_cutoff(user, validated_token, mirror.cutoffs.get(user_id))
        return user

    def _user_from_cache(self, validated_token: Token) -> User:
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        deny_key = tokens.DENY_KEY.format(jti=validated_token[api_settings.JTI_CLAIM])
        cutoff_key = tokens.CUTOFF_KEY.format(user_id=user_id)
        user_key = tokens.USER_KEY.format(user_id=user_id)
        sid = tokens.session_of(validated_token)
        session_key = tokens.SESSION_DENY_KEY.format(sid=sid) if sid is not None else None
        found = cache.get_many([deny_key, cutoff_key, user_key, *([session_key] if session_key else [])])
        if deny_key in found or (session_key is not None and session_key in found):
            raise InvalidToken(_("Token is invalid or expired."))
        user = found.get(user_key) or self._load_user(user_id, user_key)
        if not user.is_active:
            raise InvalidToken(_("Token is invalid or expired."))
        tokens.check_cutoff(user, validated_token, found.get(cutoff_key))
        return user

    @staticmethod
    def _load_user(user_id: str | int, user_key: str) -> User:
        # The password hash and the pending YunoHost password never go to the cache; code
        # that needs them (check_password) loads them from the database when it asks.
        user = (
            get_user_model()
            .objects.select_related("tier", "server")
            .defer("password", "pending_password")
            .filter(pk=user_id)
            .first()
        )
        if user is None:
            raise InvalidToken(_("Token is invalid or expired."))
        cache.set(user_key, user, tokens.USER_CACHE_SECONDS)
        return user


# --- Verified access tokens, remembered ----------------------------------------------------------
# A client sends the same access token with every request until it expires (5 minutes by
# default): its signature and its JSON need checking once per process, not per request, which is
# most of what authenticating a request costs (bench/auth.py (b)). Only tokens that passed every
# check are remembered, keyed by their exact bytes and the keys that verified them; the time
# claims, the type and the id are checked again at every use, and the revocation checks (denylist,
# ended session, cut-off) run in get_user as before.

VERIFIED_TOKENS_KEPT = 4096


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_payload(raw_token: bytes, _keys: tuple[Any, ...]) -> dict[str, Any]:
    # TokenError (an invalid or expired token) is raised, never remembered.
    return AccessToken(raw_token).payload  # type: ignore[arg-type]  # SimpleJWT annotates the encoded token as Token


def verified_access_token(raw_token: bytes) -> AccessToken:
    """The access token, its signature verified (once per process) and its claims (every time)."""
    backend = jwt_state.token_backend  # what AccessToken decodes with
    keys = (backend.algorithm, backend.signing_key, backend.verifying_key, backend.audience, backend.issuer)
    payload = _verified_payload(raw_token, keys)
    token = AccessToken.__new__(AccessToken)  # what Token.__init__ sets, without decoding again
    token.token = raw_token  # type: ignore[assignment]
    token.current_time = aware_utcnow()
    token.payload = dict(payload)  # a copy: the remembered one is never handed out
    token.verify()  # expiry (with the leeway), id and type
    return token


def signed_in_user(request: Any) -> User:
    """The account behind a request that a permission class has already let in.

    DRF types `request.user` as a user or an anonymous one; views behind IsAuthenticated
    (or stricter) call this instead of trusting the type, and an anonymous caller that somehow
    got here is refused as not signed in rather than used.
    """
    user = request.user
    if not isinstance(user, get_user_model()):
        raise NotAuthenticated()
    return user
