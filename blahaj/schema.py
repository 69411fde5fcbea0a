"""The OpenAPI schema says every status an operation can answer, not only the happy ones.

Views document their own outcomes with `@extend_schema`; this AutoSchema adds the answers
that come from the machinery around every view, when the view can meet them: a refused body,
path or query string (400), a missing or bad token (401), a missing right (403), an unknown object (404), a rate
limit (429) and Redis being unreachable (503).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated


class ErrorSerializer(serializers.Serializer):
    """The error envelope, for the schema."""

    error = serializers.CharField()
    code = serializers.CharField()
    # A field named like Serializer.fields: DRF's metaclass takes it out of the class body.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class StatusSerializer(serializers.Serializer):
    status = serializers.CharField(default="success")


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


BAD_REQUEST = _error(
    "invalid (with `fields`), invalid_json (not a JSON object, unparsable, nested too deep, "
    "or not sent as application/json), body_too_large, invalid_characters"
)
INVALID_CHARACTERS = _error("invalid_characters: a NUL or a lone surrogate in the path or the query string")
# A view that takes a token itself (refresh, revoke, the signed-in routes) says this of a 401.
TOKEN_REFUSED = _error("Missing, invalid, expired or revoked token.")
UNAUTHORIZED = _error("not_authenticated, authentication_failed or token_not_valid; with `WWW-Authenticate: Bearer`")
FORBIDDEN = _error("permission_denied")
NOT_FOUND = _error("not_found")
THROTTLED = _error("throttled (per client IP); see Retry-After")
UNAVAILABLE = _error("service_unavailable: Redis (rate limits, token revocation) is unreachable; see Retry-After")


class AutoSchema(SpectacularAutoSchema):
    def _requires_auth(self) -> bool:
        return any(not isinstance(permission, AllowAny) for permission in self.view.get_permissions())

    def _needs_a_right(self) -> bool:
        return any(
            not isinstance(permission, (AllowAny, IsAuthenticated)) for permission in self.view.get_permissions()
        )

    def _has_filters(self) -> bool:
        """Query parameters besides the page number, which a view validates (400 if wrong)."""
        names = {parameter["name"] for parameter in self._get_parameters() if parameter.get("in") == "query"}
        return bool(names - {"page"})

    def _default_errors(self) -> dict[str, OpenApiResponse]:
        defaults: dict[str, OpenApiResponse] = {}
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        # A list refuses unknown query parameters (blahaj.filters).
        if has_body or self._has_filters() or self._is_list_view():
            defaults["400"] = BAD_REQUEST
        else:
            defaults["400"] = INVALID_CHARACTERS  # blahaj.middleware, before any view
        if self._requires_auth():
            defaults["401"] = UNAUTHORIZED
        if self._needs_a_right():
            defaults["403"] = FORBIDDEN
        if "{" in self.path or self._is_list_view():
            defaults["404"] = NOT_FOUND  # an unknown object, or a page past the last
        if self.view.get_throttles():
            defaults["429"] = THROTTLED
        # Throttles, the token denylist and the auth cache all live in Redis.
        defaults["503"] = UNAVAILABLE
        return defaults

    def _get_response_bodies(self, direction: Any = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        for code, response in self._default_errors().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
            elif not responses[code].get("description"):
                responses[code]["description"] = response.description
            elif code == "400" and "invalid_json" not in responses[code]["description"]:
                # A view names its own 400s; the parser's are the same everywhere.
                responses[code]["description"] += "; or invalid_json, body_too_large, invalid_characters"
        return responses


def without_optional_slash(
    endpoints: list[tuple[str, str, str, Any]], **kwargs: Any
) -> list[tuple[str, str, str, Any]]:
    """A route at the root whose pattern makes the trailing slash optional (`^create_user/?$`:
    the seed's routes, the forges' webhook) is listed as docs/api.md has it, without the slash:
    `/create_user`, not the `/create_user/` that `/?` would give (PREPROCESSING_HOOKS). The
    API's own routes under `/api/` keep theirs."""
    return [(_documented(path, regex), regex, method, callback) for path, regex, method, callback in endpoints]


def _documented(path: str, regex: str) -> str:
    optional = regex.endswith("/?$") and path.endswith("/") and not path.startswith("/api/")
    return path[:-1] if optional else path
