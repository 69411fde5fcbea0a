"""Request middleware of our own (the rest is Django's, WhiteNoise's and django-csp's)."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse


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
