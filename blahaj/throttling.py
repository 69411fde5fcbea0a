"""Per-client-IP rate limits, named by scope (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from blahaj.client_ip import client_ip


class ScopedIPThrottle(SimpleRateThrottle):
    """A per-client-IP limit on the shared cache; the scope is named by the view."""

    scope: str
    # Set by SimpleRateThrottle.__init__ from the rate (the stubs omit them); read only when
    # `rate` is set.
    num_requests: int
    duration: int

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_rate(self) -> str | None:
        # Read at request time, not import time, so that settings overrides apply.
        from rest_framework.settings import api_settings

        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate is not None else None

    def get_ident(self, request: Request) -> str:
        # DRF's own get_ident believes X-Forwarded-For as the client sent it.
        return client_ip(request)

    def get_cache_key(self, request: Request, view: APIView | None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttles(scope: str) -> list:
    """`throttle_classes` for a view limited per IP under `scope` (see REST_FRAMEWORK)."""

    def factory() -> ScopedIPThrottle:
        return ScopedIPThrottle(scope)

    return [factory]
