"""What the account API's views share: the public (unauthenticated) base view and the
schema's common answers. (How a body is validated and a success answered: blahaj/views.py.)"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from blahaj.views import SUCCESS as SUCCESS

from ..serializers import ErrorSerializer

ERROR = ErrorSerializer
_401 = OpenApiResponse(ERROR, description="Missing, invalid, expired or revoked token.")
_429 = OpenApiResponse(ERROR, description="throttled (per client IP); see Retry-After")
# A signed-in confirmation (password or code) refused by the account's login lockout: wrong
# passwords and wrong codes share one budget.
_LOCKED = OpenApiResponse(ERROR, description="too_many_attempts (the account's login lockout); see Retry-After")


def _bearer(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # Keeps a refused token a 401 (DRF makes it a 403 on views without authenticators).
        return 'Bearer realm="api"'
