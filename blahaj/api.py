"""The API's error envelope, its strict JSON parser and its rate-limit scopes.

Every error the API answers has the same body: `{"error": <sentence>, "code": <snake_case>}`
plus `fields` for validation errors (see docs/api.md, "Conventions"). Services raise
`ApplicationError` subclasses; DRF and Django exceptions are mapped here, in one place.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A failure the client can understand and act on."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.fields = fields
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    code = "invalid"
    message = "Some fields are invalid."


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    message = "Not found."


class Gone(ApplicationError):
    status_code = status.HTTP_410_GONE
    code = "gone"


class TooManyAttempts(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_attempts"
    message = "Too many attempts. Try again later."

    def __init__(self, *, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_body(message: str, code: str, fields: dict[str, list[str]] | None = None) -> dict:
    body: dict[str, Any] = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    return body


def _body_too_large() -> ApplicationError:
    limit = settings.API_MAX_BODY_BYTES
    return ApplicationError(f"The request body is larger than {limit} bytes.", code="body_too_large")


class JSONObjectParser(JSONParser):
    """JSON bodies must be objects and at most API_MAX_BODY_BYTES long.

    The size is checked before parsing, so an oversized body costs nothing (no hashing,
    no JSON decoding) and gets the same envelope as any other bad input.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise _body_too_large()
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            raise ApplicationError("The request body is not valid JSON.", code="parse_error") from None
        if not isinstance(data, dict):
            raise ApplicationError("The request body must be a JSON object.", code="parse_error")
        return data


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [msg for value in detail.values() for msg in _flatten(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in _flatten(item)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {"non_field_errors": _flatten(detail)}
    return {str(name): _flatten(value) for name, value in detail.items()}


def _validation_response(exc: exceptions.ValidationError) -> Response:
    fields = _fields(exc.detail)
    first = next(iter(fields.values()), ["Invalid input."])
    message = first[0] if len(fields) == 1 else "Some fields are invalid."
    return Response(error_body(message, "invalid", fields), status=400)


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
    exceptions.Throttled: "throttled",
}


def _api_exception_response(exc: exceptions.APIException, context: dict) -> Response:
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        message = f"Too many requests. Try again in {headers['Retry-After']} seconds."
    else:
        message = _flatten(exc.detail)[0] if exc.detail else "Request failed."
    code = getattr(exc, "blahaj_code", None) or _DRF_CODES.get(type(exc))
    if code is None:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    status_code = exc.status_code
    return Response(error_body(str(message), str(code)), status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, TooManyAttempts):
        return Response(
            error_body(exc.message, exc.code),
            status=exc.status_code,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, RequestDataTooBig):
        exc = _body_too_large()
    if isinstance(exc, (ConnectionInterrupted, RedisError)):
        # Rate limits, the token denylist and the auth cache live in Redis: without them we
        # refuse rather than guess (a revoked token must not slip through).
        logger.error("Redis is unreachable: %s", type(exc).__name__)
        return Response(
            error_body("The service is briefly unavailable. Please try again shortly.", "service_unavailable"),
            status=503,
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, exceptions.APIException):
        return _api_exception_response(exc, context)
    # Anything else is a bug: log the traceback (never the request body) and answer plainly.
    view = context.get("view")
    logger.exception("Unhandled error in %s", type(view).__name__ if view else "API view")
    return Response(
        error_body("Something went wrong on our side. Please try again later.", "server_error"),
        status=500,
    )


class ScopedIPThrottle(SimpleRateThrottle):
    """A per-client-IP limit on the shared cache; the scope is named by the view."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_rate(self) -> str | None:
        # Read at request time, not import time, so that settings overrides apply.
        from rest_framework.settings import api_settings

        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttles(scope: str) -> list:
    """`throttle_classes` for a view limited per IP under `scope` (see REST_FRAMEWORK)."""

    def factory() -> ScopedIPThrottle:
        return ScopedIPThrottle(scope)

    return [factory]
