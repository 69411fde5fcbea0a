"""Security keys (WebAuthn) on the pages: the JSON endpoints django-otp-webauthn's browser
script calls (its own views are not mounted), under /account/keys/.

- adding a key (a signed-in person, on /account/mfa/ or the admin's /admin/mfa/setup/);
- the page login's second step with a key (/account/login/code/, the half-done login in the
  session), which finishes the login exactly like a right code.

The admin's second step has its own pair (mfa/admin_site.py). Each ceremony's state (the
challenge) is kept in the session and popped before it is checked, so it serves once. Errors
answer `{"detail", "code"}`, what the library's script shows.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog
from django_otp import login as otp_login

from accounts.models import User
from blahaj.errors import ApplicationError, TooManyAttempts
from logins import pages as member
from logins import services as logins

from .. import services
from .login import finish_login

REGISTER_STATE = "blahaj_webauthn_register"
VERIFY_STATE = "blahaj_webauthn_verify"

# The library's script calls gettext(): its catalog, served from here (a file, no inline script).
javascript_catalog = login_not_required(JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]))


def failure(error: ApplicationError) -> JsonResponse:
    detail = str(error.message)
    if isinstance(error, TooManyAttempts):
        minutes = max(1, error.retry_after // 60)
        detail = _("Too many wrong attempts. Try again in %(minutes)s minute(s).") % {"minutes": minutes}
    response = JsonResponse({"detail": detail, "code": error.code}, status=error.status_code)
    if isinstance(error, TooManyAttempts):
        response["Retry-After"] = str(error.retry_after)
    return response


def body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def verified(request: HttpRequest) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required let only a signed-in account through
        raise PermissionDenied()
    return user


@never_cache
@login_required
@require_POST
def key_add_begin(request: HttpRequest) -> JsonResponse:
    user = _signed_in(request)
    try:
        options, state = services.key_register_begin(user=user, session_verified=verified(request))
    except ApplicationError as error:
        return failure(error)
    request.session[REGISTER_STATE] = state
    return JsonResponse(options)


@never_cache
@login_required
@require_POST
def key_add_complete(request: HttpRequest) -> JsonResponse:
    user = _signed_in(request)
    state = request.session.pop(REGISTER_STATE, None)
    request.session.save()  # the state is spent even if what follows fails
    if not state:
        return failure(ApplicationError(_("Start again: the request to add a key expired."), code="invalid_state"))
    try:
        device = services.key_register_complete(
            user=user, state=state, data=body(request), session_verified=verified(request)
        )
    except ApplicationError as error:
        return failure(error)
    if not verified(request):
        # The first factor of a session that had none (the admin's set-up): it counts from now.
        otp_login(request, device)
    return JsonResponse({"id": device.pk})


@never_cache
@login_not_required
@require_POST
def login_key_begin(request: HttpRequest) -> JsonResponse:
    user = member.pending_user(request)
    if user is None:
        return failure(ApplicationError(_("Log in again: the second step took too long."), code="login_expired"))
    try:
        options, state = services.key_verify_begin(user=user)
    except TooManyAttempts as error:
        member.forget_pending(request)
        return failure(error)
    except ApplicationError as error:
        return failure(error)
    request.session[VERIFY_STATE] = state
    return JsonResponse(options)


@never_cache
@login_not_required
@require_POST
def login_key_complete(request: HttpRequest) -> JsonResponse:
    """The page login's second step with a key: a right answer signs the browser in (the
    session records the key as the factor), a wrong one counts like a wrong code."""
    user = member.pending_user(request)
    state = request.session.pop(VERIFY_STATE, None)
    request.session.save()
    if user is None:
        return failure(ApplicationError(_("Log in again: the second step took too long."), code="login_expired"))
    try:
        device = services.key_verify(user=user, state=state, data=body(request))
        if not logins.login_allowed(user):
            raise logins.InvalidCredentials()
    except TooManyAttempts as error:
        member.forget_pending(request)
        return failure(error)
    except ApplicationError as error:
        return failure(error)
    member.forget_pending(request)
    finish_login(request, user, device)
    return JsonResponse({"id": device.pk, "redirect_url": member.next_page_of(request)})
