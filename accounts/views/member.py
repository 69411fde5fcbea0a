"""The member pages (docs/api.md §4): a signed-in member's own account under /account/.

A Django session signs the browser in (CSRF-protected forms, no JavaScript needed); the
login goes through the same service as the API's (lockout, status answers) and the same
per-IP budget of failed logins. Each page calls services only.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from blahaj.client_ip import client_ip
from blahaj.errors import ApplicationError, NotFound, TooManyAttempts
from blahaj.pages import form_page, over_limit, service_form_page, too_many_requests
from logins import services as logins
from logins.throttling import FailedLoginThrottle

from .. import screening, services
from ..forms import ChangeEmailForm, ChangePasswordForm, LoginForm
from ..middleware import SESSION_KEY
from ..models import EmailChange, User
from .pages import TOKEN_ERRORS, _link_invalid


def _member(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required let only a signed-in member through
        raise NotFound()
    return user


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
    return User.objects.filter(pk=pending[0]).first()


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


@require_GET
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    context = {"member": member, "portal_url": settings.YUNOHOST_PORTAL_URL}
    return render(request, "accounts/member/overview.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def password_page(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    form = ChangePasswordForm(request.POST if request.method == "POST" else None)

    def changed(_: object) -> HttpResponse:
        member.refresh_from_db(fields=["password"])
        update_session_auth_hash(request, member)  # this browser stays signed in
        messages.success(request, "Your password is changed. Every other device was logged out.")
        return redirect("account:overview")

    return service_form_page(
        request,
        form,
        "accounts/member/password.html",
        act=lambda: services.user_change_password(
            user=member,
            current_password=form.cleaned_data["current_password"],
            new_password=form.cleaned_data["new_password"],
            session_id=request.session.get(SESSION_KEY),
        ),
        done=changed,
    )


@require_http_methods(["GET", "POST"])
@login_required
def email_page(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    form = ChangeEmailForm(request.POST if request.method == "POST" else None)

    def requested(change: EmailChange) -> HttpResponse:
        messages.success(request, f"We sent a link to {change.new_email}: open it to confirm the change.")
        return redirect("account:overview")

    return service_form_page(
        request,
        form,
        "accounts/member/email.html",
        act=lambda: screening.user_request_email_change_screened(
            user=member, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        ),
        done=requested,
        refusal_status=True,
        member=member,
    )


@require_http_methods(["GET", "POST"])
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to the new address: GET asks, POST switches the address."""
    return _email_link(
        request,
        token,
        check=services.email_change_for_link,
        act=services.user_confirm_email_change,
        template="accounts/member/email_confirm.html",
    )


@require_http_methods(["GET", "POST"])
def email_undo(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to the old address: GET asks, POST puts it back and ends every session."""
    return _email_link(
        request,
        token,
        check=services.email_change_for_undo_link,
        act=services.user_undo_email_change,
        template="accounts/member/email_undo.html",
    )


def _email_link(request: HttpRequest, token: str, *, check, act, template: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    if request.method == "POST" and (limited := over_limit(request, "lookup")):
        return limited
    try:
        change = check(token=token)
    except TOKEN_ERRORS as error:
        return _link_invalid(request, error.code, confirmation=False)
    if request.method == "GET":
        return render(request, template, {"change": change})
    try:
        act(token=token)
    except TOKEN_ERRORS as error:
        return _link_invalid(request, error.code, confirmation=False)
    except ApplicationError as error:
        return render(request, template, {"change": change, "error": error.message}, status=error.status_code)
    return render(request, template, {"change": change, "done": True})


@require_GET
@login_required
def sessions_page(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    context = {"sessions": services.sessions_list(user=member), "current": request.session.get(SESSION_KEY)}
    return render(request, "accounts/member/sessions.html", context)


@require_POST
@login_required
def session_end(request: HttpRequest, session_id: str) -> HttpResponse:
    member = _member(request)
    try:
        services.session_end(user=member, session_id=session_id)
    except NotFound:
        messages.error(request, "That session had already ended.")
    else:
        messages.success(request, "The session is ended: that device is logged out.")
    return redirect("account:sessions")


@require_POST
@login_required
def sessions_end_all(request: HttpRequest) -> HttpResponse:
    """Log out everywhere, this browser included (like POST /api/user/logout-all)."""
    logins.user_revoke_all_tokens(user=_member(request))
    logout(request)
    return redirect("account:login")
