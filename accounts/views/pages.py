"""The server-rendered public pages (docs/api.md §4): sign-up, confirmation, password reset;
and how a dead link answers (`dead_link`). How every page answers a form is
blahaj.pages (`form_page`, `service_form_page`, `too_many_requests`).

They call the same services as the API and get the same per-IP limits, on the same cache
keys: a page submission and an API call from one address share one budget (blahaj.pages).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from blahaj.errors import ApplicationError
from blahaj.forms import ServiceForm
from blahaj.pages import form_page, over_limit
from defences import services as defences
from invitations import services as invitation_services
from languages import i18n
from observability.client_ip import client_ip

from .. import screening, services
from ..forms import (
    ResendConfirmationForm,
    ResetRequestForm,
    SetPasswordForm,
    SignupForm,
    signup_form_invited,
)
from ..models import User
from ..yunohost import account_place

# What a dead link raises: unknown or used (400), expired (410).
TOKEN_ERRORS = (services.TokenInvalid, services.TokenExpired)


def dead_link(
    request: HttpRequest, code: str, *, confirmation: bool = False, template: str = "accounts/link_invalid.html"
) -> HttpResponse:
    """A dead link: say why (400 unknown or used, 410 expired), and offer the way to a new one
    (a form, for confirmation)."""
    expired = code == services.TokenExpired.code
    context = {"expired": expired, "form": ResendConfirmationForm() if confirmation else None}
    return render(request, template, context, status=410 if expired else 400)


def _confirmed(request: HttpRequest, status: str | None, user: User | None = None) -> HttpResponse:
    place = account_place(user=user) if user is not None else None
    context = {"awaiting_approval": status == User.Status.PENDING_APPROVAL, "line": place.sentence() if place else ""}
    return render(request, "accounts/confirmed.html", context)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """`/`: where to go from here (sign up, reset a password, the API docs, the admin)."""
    return render(request, "accounts/home.html")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.ACCOUNTS_REGISTRATION_OPEN:
        return render(request, "accounts/signup_closed.html", status=403)
    if request.method == "GET":
        return _signup_get(request)
    if limited := over_limit(request, "register"):
        return limited
    form = SignupForm(request.POST)
    if token := request.POST.get("invitation"):
        signup_form_invited(form, email=request.POST.get("email", ""), token=token)
    if form.is_valid():
        fields, challenge, honeypot = form.defences()
        try:
            user = screening.user_register_screened(
                client_ip=client_ip(request), challenge=challenge, honeypot=honeypot, **fields
            )
        except defences.NetworkBlocked as error:
            form.show(error)
            return form_page(request, "accounts/signup.html", form, status=error.status_code)
        except ApplicationError as error:
            form.show(error)
        else:
            if user is None:  # the honeypot: the same answer as a success
                return redirect("pages:signup-done")
            if user.confirmed_at is not None:  # invited: the link confirmed the address
                return redirect(f"{reverse('pages:confirmed')}?{urlencode({'next': user.status})}")
            return redirect("pages:signup-done")
    return form_page(request, "accounts/signup.html", form)


def _signup_get(request: HttpRequest) -> HttpResponse:
    """The form; with `?invite=`, pre-filled for the invited address, or, for a dead
    invitation, the normal form under a plain word of why."""
    form = SignupForm()
    token = request.GET.get("invite", "")
    if not token:
        return form_page(request, "accounts/signup.html", form)
    try:
        invitation = invitation_services.invitation_for_link(raw=token)
    except invitation_services.InvitationInvalid as error:
        return form_page(request, "accounts/signup.html", form, invitation_problem=error.message)
    form = signup_form_invited(form, email=invitation.email, token=token)
    return form_page(request, "accounts/signup.html", form, invited=True)


@require_GET
def signup_done(request: HttpRequest) -> HttpResponse:
    context = {"hours": settings.ACCOUNTS_CONFIRM_TOKEN_LIFETIME // 3600}
    return render(request, "accounts/signup_done.html", context)


@require_GET
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    # A GET that uses a token: the same limit as the API's confirm link.
    if limited := over_limit(request, "lookup"):
        return limited
    try:
        user = services.user_confirm_email(token=token)
    except ApplicationError as error:
        return dead_link(request, error.code, confirmation=True)
    return _confirmed(request, user.status, user)


@require_GET
def confirmed(request: HttpRequest) -> HttpResponse:
    """Where the API's confirm link lands (`?next=` is the account's new status)."""
    return _confirmed(request, request.GET.get("next"))


@require_GET
def link_invalid(request: HttpRequest) -> HttpResponse:
    """Where the API's confirm link lands when the token is no good."""
    return dead_link(request, request.GET.get("reason", ""), confirmation=True)


def _link_request_page(
    request: HttpRequest,
    form_class: type[ServiceForm],
    template: str,
    *,
    send: Callable[..., None],
    done: str,
) -> HttpResponse:
    """A form that asks for a link by email: the same answer whatever was typed (the
    service looks the account up in the worker, after the response)."""
    if request.method == "GET":
        return form_page(request, template, form_class())
    if limited := over_limit(request, "email"):
        return limited
    form = form_class(request.POST)
    if not form.is_valid():
        return form_page(request, template, form)
    send(**form.cleaned_data)
    return redirect(done)


@require_http_methods(["GET", "POST"])
def resend_confirmation(request: HttpRequest) -> HttpResponse:
    return _link_request_page(
        request,
        ResendConfirmationForm,
        "accounts/resend_confirmation.html",
        send=services.user_request_confirmation,
        done="pages:signup-done",
    )


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    return _link_request_page(
        request,
        ResetRequestForm,
        "accounts/password_reset.html",
        send=services.user_request_password_reset,
        done="pages:password-reset-sent",
    )


@require_GET
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    context = {"hours": settings.ACCOUNTS_RESET_TOKEN_LIFETIME // 3600}
    return render(request, "accounts/password_reset_sent.html", context)


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST" and (limited := over_limit(request, "lookup")):
        return limited
    try:
        user = services.user_from_reset_token(token=token)
    except TOKEN_ERRORS as error:
        return dead_link(request, error.code, confirmation=False)
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.user_confirm_password_reset(token=token, password=form.cleaned_data["password"])
        except TOKEN_ERRORS as error:
            return dead_link(request, error.code, confirmation=False)
        except ApplicationError as error:
            form.show(error)
        else:
            return redirect("pages:password-reset-done")
    return form_page(request, "accounts/password_reset_confirm.html", form, username=user.username)


@require_GET
def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_done.html")


@require_http_methods(["GET", "POST"])
def seed_password_reset(request: HttpRequest) -> HttpResponse:
    """GET /password_reset of the seed's front end: with `?token=`, choose the new password;
    without, ask for the reset link."""
    token = request.GET.get("token")
    return password_reset_confirm(request, token) if token else password_reset(request)


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Every page's language switcher: Django's `set_language` (the choice kept in its cookie, back
    to `next` on this site), and a signed-in member's account reads it too (their emails)."""
    response = set_language(request)
    code = request.POST.get("language", "")
    user = request.user
    if code in i18n.codes() and user.is_authenticated and not user.is_service_account:
        services.user_set_language(user=user, language=code)
    return response
