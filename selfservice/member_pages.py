"""The self-service member pages (docs/api.md §4): a signed-in member's own account under
/account/ (the overview, the password, the email address and its links, the sessions).

The browser signs in on logins' login page (logins/pages.py); these pages are
CSRF-protected forms (no JavaScript needed) and call the services only, the same ones as the API.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.views.pages import TOKEN_ERRORS, dead_link
from blahaj.errors import ApplicationError, NotFound
from blahaj.pages import over_limit, service_form_page
from logins import services as logins
from logins.middleware import SESSION_KEY

from . import services
from .forms import ChangeEmailForm, ChangePasswordForm
from .models import EmailChange


def _member(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required let only a signed-in member through
        raise NotFound()
    return user


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

    def changed(_result: object) -> HttpResponse:
        member.refresh_from_db(fields=["password"])
        update_session_auth_hash(request, member)  # this browser stays signed in
        messages.success(request, _("Your password is changed. Every other device was logged out."))
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
        messages.success(
            request, _("We sent a link to %(email)s: open it to confirm the change.") % {"email": change.new_email}
        )
        return redirect("account:overview")

    return service_form_page(
        request,
        form,
        "accounts/member/email.html",
        act=lambda: services.user_request_email_change_screened(
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
        return dead_link(request, error.code, confirmation=False)
    if request.method == "GET":
        return render(request, template, {"change": change})
    try:
        act(token=token)
    except TOKEN_ERRORS as error:
        return dead_link(request, error.code, confirmation=False)
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
        messages.error(request, _("That session had already ended."))
    else:
        messages.success(request, _("The session is ended: that device is logged out."))
    return redirect("account:sessions")


@require_POST
@login_required
def sessions_end_all(request: HttpRequest) -> HttpResponse:
    """Log out everywhere, this browser included (like POST /api/user/logout-all)."""
    logins.user_revoke_all_tokens(user=_member(request))
    logout(request)
    return redirect("account:login")
