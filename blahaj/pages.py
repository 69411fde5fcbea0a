"""What the server-rendered pages share: the answer to a form, and the per-IP limits.

A page gets the same per-IP limits as the API, on the same cache keys: a page submission and
an API call from one address share one budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from blahaj.errors import ApplicationError, TooManyAttempts
from blahaj.forms import ServiceForm
from blahaj.throttling import ScopedIPThrottle


def too_many_requests(request: HttpRequest, wait: float | None, *, account_locked: bool = False) -> HttpResponse:
    """429: too many requests from the client's network, or (`account_locked`) too many failed
    attempts on the account, which is locked for a while (TooManyAttempts)."""
    retry_after = max(1, math.ceil(wait or 60))
    context = {"minutes": math.ceil(retry_after / 60), "account_locked": account_locked}
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


T = TypeVar("T")


def service_form_page(
    request: HttpRequest,
    form: ServiceForm,
    template: str,
    *,
    act: Callable[[], T],
    done: Callable[[T], HttpResponse],
    lockout_on_form: bool = False,
    refusal_status: bool = False,
    **context: Any,
) -> HttpResponse:
    """A form whose valid submission calls one service, `act` (it reads `form.cleaned_data`):
    `done(result)` answers its success. Otherwise the form again: a refusal next to its field
    (400; its own status with `refusal_status`), and the account's login lockout on the "too
    many requests" page (with `lockout_on_form`, next to the form, 429)."""
    status: int | None = None
    if form.is_valid():
        try:
            result = act()
        except TooManyAttempts as error:
            if not lockout_on_form:
                return too_many_requests(request, error.retry_after, account_locked=True)
            form.show(error)
            status = error.status_code
        except ApplicationError as error:
            form.show(error)
            status = error.status_code if refusal_status else None
        else:
            return done(result)
    return form_page(request, template, form, status=status, **context)
