"""/account/mfa/: a signed-in person turns TOTP on or off, gets new recovery codes (the same
services as /api/user/mfa/...), and adds or removes security keys (WebAuthn: the key is added
by the library's script through views/webauthn.py). Server-rendered, CSRF-protected, behind
the login."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import User
from blahaj.errors import ApplicationError, TooManyAttempts
from blahaj.lookups import as_id

from .. import devices, services, webauthn


def _sentence(error: ApplicationError) -> str:
    if isinstance(error, TooManyAttempts):
        minutes = max(1, error.retry_after // 60)
        return _("Too many wrong attempts. Try again in %(minutes)s minute(s).") % {"minutes": minutes}
    return str(error.message)


def _verified(request: HttpRequest) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


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
            context["enrolment"] = services.totp_begin(user=user)
        elif action == "confirm":
            context["recovery_codes"] = services.totp_confirm(user=user, code=code, issue_tokens=False)[
                "recovery_codes"
            ]
        elif action == "codes":
            context["recovery_codes"] = services.recovery_codes_renew(user=user, code=code)
        elif action == "off":
            services.totp_remove(user=user, code=code)
            return redirect("pages:account-mfa")
        elif action == "key-remove":
            key = request.POST.get("key", "")
            services.key_remove(user=user, key_id=as_id(key) or 0, session_verified=_verified(request))
            return redirect("pages:account-mfa")
    except ApplicationError as error:
        context["error"] = _sentence(error)
        if action == "confirm":
            context["enrolment"] = services.totp_pending(user=user)
    keys = webauthn.keys(user)
    totp = devices.has_totp(user)
    required = devices.staff_must_have_it(user)
    context.update(
        totp=totp,
        required=required,
        # Staff keep at least one factor: the last key of an account without TOTP stays.
        totp_removable=not required or bool(keys),
        keys=keys,
        key_removable=not required or totp or len(keys) > 1,
        webauthn_config=webauthn.register_config(request),
        key_done_url=reverse("pages:account-mfa"),
    )
    return render(request, "accounts/account_mfa.html", context, status=400 if context["error"] else 200)
