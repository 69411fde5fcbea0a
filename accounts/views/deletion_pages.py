"""The account deletion pages (README, "Deleting an account"): the signed-in member's
/account/delete/ form, and the emailed cancel link's page (a GET shows, only a POST cancels)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from blahaj.errors import ApplicationError, TooManyAttempts
from blahaj.pages import form_page, over_limit

from .. import deletion, services
from ..authentication import signed_in_user
from ..forms import DeleteAccountForm

_TOKEN_ERRORS = (services.TokenInvalid, services.TokenExpired)


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    days = max(1, round(settings.ACCOUNTS_DELETE_GRACE / 86400))
    if request.method == "GET":
        return form_page(request, "accounts/account_delete.html", DeleteAccountForm(), days=days)
    form = DeleteAccountForm(request.POST)
    if form.is_valid():
        try:
            deletes_at = deletion.user_request_deletion(user=user, password=form.cleaned_data["password"])
        except TooManyAttempts as error:
            form.show(error)
            return form_page(request, "accounts/account_delete.html", form, status=429, days=days)
        except ApplicationError as error:
            form.show(error)
        else:
            # The account is shut out now: this browser's session ends with it.
            logout(request)
            return render(request, "accounts/account_delete_scheduled.html", {"deletes_at": deletes_at})
    return form_page(request, "accounts/account_delete.html", form, days=days)


def _link_invalid(request: HttpRequest, code: str) -> HttpResponse:
    expired = code == services.TokenExpired.code
    return render(request, "accounts/delete_link_invalid.html", {"expired": expired}, status=410 if expired else 400)


@require_http_methods(["GET", "POST"])
def delete_cancel(request: HttpRequest, token: str) -> HttpResponse:
    if limited := over_limit(request, "lookup"):
        return limited
    try:
        if request.method == "GET":
            user = deletion.deletion_cancel_check(token=token)
            return render(request, "accounts/delete_cancel.html", {"username": user.username, "user": user})
        user = deletion.user_cancel_deletion(token=token)
    except _TOKEN_ERRORS as error:
        return _link_invalid(request, error.code)
    return render(request, "accounts/delete_cancelled.html", {"username": user.username})
