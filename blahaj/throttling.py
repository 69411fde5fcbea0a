"""Rate limits named by scope (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES): per client IP, per
member, or per object of a detail view."""

from __future__ import annotations

from django.db.models import Model
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from observability.client_ip import client_ip


class ScopedThrottle(SimpleRateThrottle):
    """A limit on the shared cache whose rate is named by the view (REST_FRAMEWORK's
    DEFAULT_THROTTLE_RATES[scope]); subclasses say whose requests count together."""

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


class ScopedIPThrottle(ScopedThrottle):
    """A per-client-IP limit under `scope`."""

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


class ScopedMemberThrottle(ScopedThrottle):
    """A per-account limit under `scope`; staff are not limited (their actions are audited)."""

    def get_cache_key(self, request: Request, view: APIView | None) -> str | None:
        user = request.user
        if user is None or not user.is_authenticated or user.is_staff:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"user:{user.pk}"}


class ScopedObjectThrottle(ScopedThrottle):
    """A per-object limit under `scope`, for a detail view's action, whoever asks (staff
    excepted). The object comes from the view's `get_object`, so somebody else's object is a
    404 before anything counts: nobody spends another member's budget. A page, which has no
    DRF view, names the object it found itself (`target`): the budget is the same."""

    def __init__(self, scope: str, target: Model | None = None) -> None:
        self.target = target
        super().__init__(scope)

    def get_cache_key(self, request: Request, view: APIView | None) -> str | None:
        user = request.user
        if user is not None and user.is_authenticated and user.is_staff:
            return None
        target = self.target
        if target is None:
            target = view.get_object() if isinstance(view, GenericAPIView) else None
        if target is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"{target._meta.label_lower}:{target.pk}"}


def member_throttles(scope: str) -> list:
    """`throttle_classes` for a view limited per signed-in member under `scope`."""

    def factory() -> ScopedMemberThrottle:
        return ScopedMemberThrottle(scope)

    return [factory]


def object_throttles(scope: str) -> list:
    """`throttle_classes` for a detail action limited per object under `scope`."""

    def factory() -> ScopedObjectThrottle:
        return ScopedObjectThrottle(scope)

    return [factory]
