import os

from django.urls import path
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from blahaj.urls import urlpatterns as project_urls

# bench/auth.py sets BENCH_BODY_BYTES to the length of /api/user/me's body.
_ENVELOPE = len('{"payload":""}')
BODY = {"payload": "x" * max(0, int(os.environ.get("BENCH_BODY_BYTES", "200")) - _ENVELOPE)}


@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def same_size(request):
    return Response(BODY)


urlpatterns = [path("bench/same-size", same_size), *project_urls]
