"""/account/mfa/: a signed-in person turns TOTP on or off, and gets new recovery codes
(the same services as /api/user/mfa/...). Server-rendered, CSRF-protected, behind the login."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from blahaj.errors import ApplicationError, TooManyAttempts

from .. import mfa, services_mfa
from ..models import User


def _sentence(error: ApplicationError) -> str:
    if isinstance(error, TooManyAttempts):
        return f"Too many wrong attempts. Try again in {max(1, error.retry_after // 60)} minute(s)."
    return error.message


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_mfa(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User):  # login_required let only a signed-in account through
        return redirect("pages:home")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    code = request.POST.get("code", "")
    context: dict = {"error": "", "recovery_codes": None, "enrolment": None}
    try:
        if action == "begin":
            context["enrolment"] = services_mfa.totp_begin(user=user)
        elif action == "confirm":
            context["recovery_codes"] = services_mfa.totp_confirm(user=user, code=code, issue_tokens=False)[
                "recovery_codes"
            ]
        elif action == "codes":
            context["recovery_codes"] = services_mfa.recovery_codes_renew(user=user, code=code)
        elif action == "off":
            services_mfa.totp_remove(user=user, code=code)
            return redirect("pages:account-mfa")
    except ApplicationError as error:
        context["error"] = _sentence(error)
        if action == "confirm":
            context["enrolment"] = services_mfa.totp_pending(user=user)
    context.update(
        totp=mfa.has_second_factor(user),
        required=mfa.staff_must_have_it(user),
    )
    return render(request, "accounts/account_mfa.html", context, status=400 if context["error"] else 200)
