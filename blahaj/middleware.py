"""Request middleware of our own (the rest is Django's, WhiteNoise's and django-csp's)."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

from blahaj.errors import InvalidCharacters, error_body, has_invalid_characters


def chunked_body(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Read a chunked request body (no Content-Length) instead of taking it as empty.

    Django trusts only Content-Length and would hand the view an empty body. When the server
    has decoded the chunks and ends the stream (gunicorn says so with `wsgi.input_terminated`),
    read at most one byte past API_MAX_BODY_BYTES: the parser then refuses an oversized body
    with the same answer as one that announced its length.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        meta = request.META
        if (
            "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
            and not meta.get("CONTENT_LENGTH")
            and meta.get("wsgi.input_terminated")
        ):
            raw = meta["wsgi.input"].read(settings.API_MAX_BODY_BYTES + 1)
            meta["CONTENT_LENGTH"] = str(len(raw))
            request._stream = LimitedStream(BytesIO(raw), len(raw))  # type: ignore[assignment]
        return get_response(request)

    return middleware


def api_path(path: str) -> bool:
    """Whether `path` is the API's: its errors are the JSON envelope, never an HTML page."""
    return path == "/api" or path.startswith("/api/")


def refuse_invalid_characters(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A NUL or a lone surrogate in the path or the query string is a 400 before anything reads it.

    No field accepts either, and PostgreSQL cannot even compare a NUL: a lookup by a path
    segment or a filter would fail on the database instead. JSON bodies get the same rule in
    `blahaj.parsers`; forms refuse a NUL in each of their fields. Under /api/ the answer is the
    envelope, elsewhere Django's 400 page.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        texts = [request.path_info, *request.GET.keys(), *(v for _, values in request.GET.lists() for v in values)]
        if any(has_invalid_characters(text) for text in texts):
            if api_path(request.path_info):
                error = InvalidCharacters()
                return JsonResponse(error_body(error.message, error.code), status=error.status_code)
            raise BadRequest("A NUL character or a lone surrogate in the address.")
        return get_response(request)

    return middleware
