"""The per-IP limit on failed logins (docs/api.md §5, "failed logins, per client IP").

Only failures count: a front end's server logs in once per sign-up from one address, and its
successful logins must not use up the budget that stops password guessing. The throttle
checks the budget before the attempt and the view records the attempt once it has failed.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blahaj.throttling import ScopedIPThrottle

from .services import InvalidCredentials

SCOPE = "login"  # the rate setting; the counter has its own key (refresh counts every call)


class FailedLoginThrottle(ScopedIPThrottle):
    def __init__(self) -> None:
        super().__init__(SCOPE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": "login-failed", "ident": self.get_ident(request)}

    def _history(self, request: Request) -> list[float]:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        return [at for at in self.cache.get(self.key, []) if at > self.now - self.duration]

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.history = self._history(request)
        return len(self.history) < self.num_requests or self.throttle_failure()

    def record_failure(self, request: Request) -> None:
        if self.rate is None:
            return
        # Read again: other failures from this address may have landed during the attempt.
        history = self._history(request)
        self.history = [self.now, *history]
        self.cache.set(self.key, self.history, self.duration)


class CountsFailedLogins(APIView):
    """For login views: limited by FailedLoginThrottle, which hears of each failed attempt."""

    throttle_classes = [FailedLoginThrottle]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, InvalidCredentials):
            FailedLoginThrottle().record_failure(self.request)
        return super().handle_exception(exc)
