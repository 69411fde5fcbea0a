"""The account deletion pages (README, "Deleting an account"): the signed-in member's
/account/delete/ form, and the emailed cancel link's page (a GET shows, only a POST cancels)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.forms import DeleteAccountForm
from accounts.views.pages import TOKEN_ERRORS, dead_link
from blahaj.pages import over_limit, service_form_page
from logins.authentication import signed_in_user

from . import services as deletion


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = DeleteAccountForm(request.POST if request.method == "POST" else None)

    def scheduled(deletes_at: datetime) -> HttpResponse:
        # The account is shut out now: this browser's session ends with it.
        logout(request)
        return render(request, "accounts/account_delete_scheduled.html", {"deletes_at": deletes_at})

    return service_form_page(
        request,
        form,
        "accounts/account_delete.html",
        act=lambda: deletion.user_request_deletion(user=user, password=form.cleaned_data["password"]),
        done=scheduled,
        lockout_on_form=True,  # the contract: the lockout's 429 next to the password field
        days=max(1, round(settings.ACCOUNTS_DELETE_GRACE / 86400)),
    )


@require_http_methods(["GET", "POST"])
def delete_cancel(request: HttpRequest, token: str) -> HttpResponse:
    if limited := over_limit(request, "lookup"):
        return limited
    try:
        if request.method == "GET":
            user = deletion.deletion_cancel_check(token=token)
            return render(request, "accounts/delete_cancel.html", {"username": user.username, "user": user})
        user = deletion.user_cancel_deletion(token=token)
    except TOKEN_ERRORS as error:
        return dead_link(request, error.code, template="accounts/delete_link_invalid.html")
    return render(request, "accounts/delete_cancelled.html", {"username": user.username})
