"""What every API view shares: how a body is validated and how a plain success answers, the base
of the public (unauthenticated) views; and the error pages of the paths no view serves."""

from __future__ import annotations

from typing import Any, NoReturn

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from blahaj.errors import SERVER_ERROR, error_body
from blahaj.middleware import api_path

# The answer of a request that did what it asked, with nothing more to say.
SUCCESS = {"status": "success"}


def validated(serializer_class: type[BaseSerializer[Any]], request: Request, *, data: Any = None) -> dict[str, Any]:
    """The request's body (or `data`, e.g. its query parameters) as `serializer_class` accepts it
    (a fresh dict of its validated data). What it refuses raises, and the exception handler
    answers the contract's 400 envelope, each field's errors under `fields`.

    The view's `@extend_schema(request=...)` still names the serializer for the schema."""
    serializer = serializer_class(data=request.data if data is None else data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# An API view anybody may call: no authentication, no permission. (No docstring: the schema would
# take it for the description of every such view that has none of its own.)
class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # Keeps a refused token a 401 (DRF makes it a 403 on views without authenticators).
        return 'Bearer realm="api"'


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def not_found(request: Request, *args: Any, **kwargs: Any) -> NoReturn:
    """Unknown paths under /api/ answer in the envelope, not with Django's HTML page."""
    raise exceptions.NotFound(_("There is nothing at this address."))


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler400 (a request it refused before any view: too many fields, a bad
    host): the envelope on an API path, Django's page elsewhere."""
    if api_path(request.path_info):
        return JsonResponse(error_body(_("The request could not be read."), "bad_request"), status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: an API path gets the envelope (an error raised outside a view, such
    as while rendering, never reaches DRF's handler); the pages keep Django's page."""
    if api_path(request.path_info):
        return JsonResponse(error_body(SERVER_ERROR, "server_error"), status=500)
    return defaults.server_error(request)
