"""The API's error envelope and the exceptions services raise to produce it.

Every error the API answers has the same body: `{"error": <sentence>, "code": <snake_case>}`
plus `fields` for validation errors (the HTTP contract's "Conventions"). Services raise
`ApplicationError` subclasses; `blahaj.exception_handler` turns them (and DRF's and Django's
own exceptions) into responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ApplicationError(Exception):
    """A failure the client can understand and act on."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid"
    # A class's sentence is lazy (gettext_lazy); an instance's is read, in the language of the
    # request that raises it.
    message: StrOrPromise = gettext_lazy("The request could not be processed.")

    def __init__(
        self,
        message: StrOrPromise | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        self.message = str(message or self.message)
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.fields = fields
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    code = "invalid"
    message: StrOrPromise = gettext_lazy("Some fields are invalid.")


class InvalidJSON(ApplicationError):
    """A body that is not a JSON object we can read: unparsable, too deep, not JSON at all."""

    code = "invalid_json"
    message: StrOrPromise = gettext_lazy("The request body is not valid JSON.")


class InvalidCharacters(ApplicationError):
    """A NUL or a lone surrogate in a string of the request: no field takes either (PostgreSQL
    stores no NUL, UTF-8 has no surrogates), so the request is refused before any field sees it."""

    code = "invalid_characters"
    message: StrOrPromise = gettext_lazy(
        "The request holds a NUL character or a lone surrogate, which no field accepts."
    )


def has_invalid_characters(text: str) -> bool:
    """Whether `text` holds a NUL or a lone surrogate (what `str.encode("utf-8")` refuses)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    message: StrOrPromise = gettext_lazy("Not found.")


class Gone(ApplicationError):
    status_code = status.HTTP_410_GONE
    code = "gone"


class TooManyAttempts(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_attempts"
    message: StrOrPromise = gettext_lazy("Too many attempts. Try again later.")

    def __init__(self, *, retry_after: int, message: StrOrPromise | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(ApplicationError):
    """A server we depend on does not answer; the request may succeed later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    message: StrOrPromise = gettext_lazy("The service is temporarily unavailable. Try again in a few minutes.")


SERVER_ERROR = gettext_lazy("Something went wrong on our side. Please try again later.")


def body_too_large() -> ApplicationError:
    limit = settings.API_MAX_BODY_BYTES
    return ApplicationError(
        _("The request body is larger than %(limit)s bytes.") % {"limit": limit}, code="body_too_large"
    )


def error_body(message: StrOrPromise, code: str, fields: dict[str, list[str]] | None = None) -> dict:
    """The envelope; a lazy sentence is read here, in the language of the request."""
    body: dict[str, Any] = {"error": str(message), "code": code}
    if fields:
        body["fields"] = {name: [str(text) for text in texts] for name, texts in fields.items()}
    return body
