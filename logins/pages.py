"""The member pages' login and logout (docs/api.md §4): a Django session signs the browser in
to /account/ (CSRF-protected forms, no JavaScript needed). The login goes through the same
service as the API's (lockout, status answers) and the same per-IP budget of failed logins;
its second step is mfa's (`pending_user`, `start_signed_in`), which imports them from here.
The pages a signed-in member then uses are selfservice's (selfservice/member_pages.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from blahaj.errors import ApplicationError, TooManyAttempts
from blahaj.pages import form_page, too_many_requests
from observability.client_ip import client_ip

from . import services as logins
from .forms import LoginForm
from .middleware import SESSION_KEY
from .throttling import FailedLoginThrottle

if TYPE_CHECKING:
    from accounts.models import User


def next_page_of(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(settings.LOGIN_REDIRECT_URL)


_PENDING_KEY = "account_mfa_pending"  # the session's half-done login: (user id, since)


class SecondFactorDue(Exception):
    """The password was right; the account has a second factor: its step (the code page,
    `account:login-code`) finishes the login."""


def sign_in(request: HttpRequest, *, identifier: str, password: str) -> User:
    """The whole page login, step by step: each step raises to stop it.

    1. the password (logins.user_authenticate: lockout, credentials, account status);
    2. an account with a second factor: SecondFactorDue, and its step (mfa's code page or
       security key, with `pending_user`) finishes with `start_signed_in`;
    3. the login session (listed on the sessions page) and the Django session carrying it.
    """
    user, second_factor_due = logins.user_authenticate(identifier=identifier, password=password)
    if second_factor_due:
        request.session.cycle_key()
        request.session[_PENDING_KEY] = [user.pk, time.time()]
        raise SecondFactorDue()
    start_signed_in(request, user)
    return user


def start_signed_in(request: HttpRequest, user: User) -> None:
    """The browser signed in (a second step then records its device in the session too)."""
    session = logins.user_page_session_start(
        user=user, ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
    )
    login(request, user, backend="accounts.backends.YunohostPasswordBackend")
    request.session[SESSION_KEY] = str(session.public_id)  # after login(): it renews the session


def pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(_PENDING_KEY)
    if not pending or time.time() - pending[1] > settings.ACCOUNTS_MFA_TOKEN_LIFETIME:
        return None
    return get_user_model().objects.filter(pk=pending[0]).first()


def forget_pending(request: HttpRequest) -> None:
    request.session.pop(_PENDING_KEY, None)


@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    next_page = next_page_of(request)
    if request.method == "GET":
        if request.user.is_authenticated:
            return redirect(next_page)
        return form_page(request, "accounts/member/login.html", LoginForm(), next=next_page)
    throttle = FailedLoginThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]  # reads the client address only
        return too_many_requests(request, throttle.wait())
    form = LoginForm(request.POST)
    status = None
    if form.is_valid():
        try:
            sign_in(request, **form.cleaned_data)
        except SecondFactorDue:
            return redirect(f"{reverse('account:login-code')}?{urlencode({'next': next_page})}")
        except TooManyAttempts as error:
            return too_many_requests(request, error.retry_after, account_locked=True)
        except ApplicationError as error:  # 401 invalid_credentials; 403 an account that cannot log in
            if isinstance(error, logins.InvalidCredentials):
                throttle.record_failure(request)  # type: ignore[arg-type]
            form.show(error)
            status = error.status_code
        else:
            return redirect(next_page)
    return form_page(request, "accounts/member/login.html", form, status=status, next=next_page)


@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    if session_id := request.session.get(SESSION_KEY):
        logins.user_page_logout(session_id=session_id)
    logout(request)
    return redirect("account:login")
