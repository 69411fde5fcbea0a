"""The HTTP door: every request opens an audit scope (door from the URL; the caller and the
IP are read only if a service records something)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .recorder import Door, Scope, _current, flush

# The namespaces of the legacy routes (legacy/urls.py), which live at the site's root.
LEGACY_NAMESPACES = frozenset({"seed", "websites-seed"})


def door_of(path: str) -> str:
    if path.startswith("/admin/"):
        return Door.ADMIN
    if path.startswith("/api/"):
        return Door.API
    return Door.PAGE


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        opened = Scope(door=door_of(request.path_info), request=request)
        token = _current.set(opened)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
            # After the view's transaction: refusals it rolled back are written now.
            flush(opened)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        opened = _current.get()
        match = request.resolver_match
        if opened is not None and match is not None and match.namespace in LEGACY_NAMESPACES:
            opened.door = Door.LEGACY
