"""DRF's EXCEPTION_HANDLER: every exception a view raises becomes the error envelope.

Services raise `blahaj.errors.ApplicationError` subclasses; DRF and Django exceptions are
mapped here, in one place.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils.translation import gettext as _
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.response import Response

from blahaj.errors import (
    SERVER_ERROR,
    ApplicationError,
    Conflict,
    InvalidJSON,
    TooManyAttempts,
    ValidationFailed,
    body_too_large,
    error_body,
)

logger = logging.getLogger(__name__)

# RFC 6750: a 401 names the scheme the client should authenticate with.
BEARER_CHALLENGE = 'Bearer realm="api"'


# DRF's messages that repeat the value sent (`"x" is not a valid choice.`, `Object with
# slug=x does not exist.`): an error message never echoes raw input, which may be markup, a
# secret pasted in the wrong field, or text the renderer cannot even encode.
_WITHOUT_ECHO = {
    "invalid_choice": lambda name: _("Not one of the allowed values."),
    "does_not_exist": lambda name: (
        _("Unknown %(name)s.") % {"name": name.replace("_", " ")} if name else _("Not found.")
    ),
}


def _message(detail: Any, name: str) -> str:
    rewrite = _WITHOUT_ECHO.get(getattr(detail, "code", None) or "")
    return rewrite(name) if rewrite else str(detail)


def _flatten(detail: Any, name: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [msg for value in detail.values() for msg in _flatten(value, name)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in _flatten(item, name)]
    return [_message(detail, name)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {"non_field_errors": _flatten(detail)}
    return {str(name): _flatten(value, str(name)) for name, value in detail.items()}


def _validation_response(exc: exceptions.ValidationError) -> Response:
    fields = _fields(exc.detail)
    first = next(iter(fields.values()), [_("Invalid input.")])
    message = first[0] if len(fields) == 1 else _("Some fields are invalid.")
    return Response(error_body(message, "invalid", fields), status=400)


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "throttled",
}


def _api_exception_response(exc: exceptions.APIException) -> Response:
    headers = {}
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        message = _("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": headers["Retry-After"]}
    else:
        message = _flatten(exc.detail)[0] if exc.detail else _("Request failed.")
    code = getattr(exc, "blahaj_code", None) or _DRF_CODES.get(type(exc))
    if code is None:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    return Response(error_body(str(message), str(code)), status=exc.status_code, headers=headers)


def _redis_down() -> Response:
    # Rate limits, the token denylist and the auth cache live in Redis: without them we
    # refuse rather than guess (a revoked token must not slip through).
    return Response(
        error_body(_("The service is briefly unavailable. Please try again shortly."), "service_unavailable"),
        status=503,
        headers={"Retry-After": "30"},
    )


def _translate(exc: Exception) -> Exception:
    """Django's and DRF's exceptions that have one of our own meanings."""
    if isinstance(exc, RequestDataTooBig):
        return body_too_large()
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return InvalidJSON(_("The request body must be JSON, sent as Content-Type: application/json."))
    if isinstance(exc, exceptions.ParseError):
        return InvalidJSON()
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return _database_refusal(exc)


def _database_refusal(exc: Exception) -> Exception:
    """The database's refusals a service did not foresee: the envelope, never a 500. Logged by
    type only (the message may quote the row)."""
    if isinstance(exc, (ProtectedError, RestrictedError)):
        logger.warning("A delete refused by a protected reference: %s", type(exc).__name__)
        return Conflict(_("Other records still refer to this one, so it cannot be deleted."), code="protected")
    if isinstance(exc, IntegrityError):
        logger.warning("A write refused by a database constraint: %s", type(exc).__name__)
        return Conflict(_("The change conflicts with the data already stored."), code="conflict")
    if isinstance(exc, DataError):
        logger.warning("A value refused by the database: %s", type(exc).__name__)
        return ValidationFailed(_("A value does not fit what the database can store."))
    return exc


def _response(exc: Exception, context: dict) -> Response:
    if isinstance(exc, TooManyAttempts):
        return Response(
            error_body(exc.message, exc.code),
            status=exc.status_code,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, (ConnectionInterrupted, RedisError)):
        logger.error("Redis is unreachable: %s", type(exc).__name__)
        return _redis_down()
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code, exc.fields), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, exceptions.APIException):
        return _api_exception_response(exc)
    # Anything else is a bug: log the traceback (never the request body) and answer plainly.
    view = context.get("view")
    logger.exception("Unhandled error in %s", type(view).__name__ if view else "API view")
    return Response(
        error_body(SERVER_ERROR, "server_error"),
        status=500,
    )


def exception_handler(exc: Exception, context: dict) -> Response:
    response = _response(_translate(exc), context)
    if response.status_code == 401 and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = BEARER_CHALLENGE
    return response
