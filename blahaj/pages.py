"""What the server-rendered pages share: the answer to a form, and the per-IP limits.

A page gets the same per-IP limits as the API, on the same cache keys: a page submission and
an API call from one address share one budget.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from blahaj.forms import ServiceForm
from blahaj.throttling import ScopedIPThrottle


def too_many_requests(request: HttpRequest, wait: float | None) -> HttpResponse:
    retry_after = max(1, math.ceil(wait or 60))
    context = {"minutes": math.ceil(retry_after / 60)}
    response = render(request, "accounts/too_many_requests.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def over_limit(request: HttpRequest, scope: str) -> HttpResponse | None:
    """The 429 page when this address is over the `scope` limit, else None."""
    throttle = ScopedIPThrottle(scope)
    # A plain Django page: the throttle reads nothing but the client address from the request.
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return None
    return too_many_requests(request, throttle.wait())


def form_page(
    request: HttpRequest, template: str, form: ServiceForm, *, status: int | None = None, **context: Any
) -> HttpResponse:
    """The form's page: 400 when it has errors (the first one focused), else 200."""
    form.focus_first_error()
    status = status or (400 if form.errors else 200)
    return render(request, template, {"form": form, **context}, status=status)
