"""The page login's second step (/account/login/code/): after the right password
(logins.pages.sign_in keeps the half-done login in the session), a TOTP or recovery
code, or a security key (views/webauthn.py), finishes it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.models import Device

from accounts.models import User
from blahaj.errors import ApplicationError, TooManyAttempts
from blahaj.pages import form_page, too_many_requests
from logins import services as logins
from logins.pages import forget_pending, next_page_of, pending_user, start_signed_in

from .. import devices, services, webauthn
from ..forms import LoginCodeForm


def finish_login(request: HttpRequest, user: User, device: Device) -> None:
    """The browser signed in, its session verified by `device` (the admin sees the second
    factor was given)."""
    start_signed_in(request, user)
    otp_login(request, device)


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The page login's second step: a TOTP or recovery code, counted like a wrong password."""
    next_page = next_page_of(request)
    user = pending_user(request)
    if user is None:
        forget_pending(request)
        messages.info(request, _("Log in again: the second step took too long."))
        return redirect("account:login")
    form = LoginCodeForm(request.POST if request.method == "POST" else None)
    status = None
    if form.is_valid():
        try:
            device = services.session_verify(user=user, code=form.cleaned_data["code"])
            if not logins.login_allowed(user):
                raise logins.InvalidCredentials()
        except TooManyAttempts as error:
            forget_pending(request)
            return too_many_requests(request, error.retry_after, account_locked=True)
        except ApplicationError as error:
            form.show(error)
            status = error.status_code
        else:
            forget_pending(request)
            finish_login(request, user, device)
            return redirect(next_page)
    return form_page(
        request,
        "accounts/member/login_code.html",
        form,
        status=status,
        next=next_page,
        has_key=webauthn.has_key(user),
        has_totp=devices.has_totp(user),
        webauthn_config=webauthn.login_config(request),
    )
