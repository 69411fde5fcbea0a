"""The admin site with the second factor (django-otp): with STAFF_REQUIRE_MFA, a staff session
must pass a TOTP or recovery code, or a security key (WebAuthn), after the password
(/admin/mfa/), and an account without a second factor is sent to set one up first
(/admin/mfa/setup/: an authenticator app or a security key), before anything else.

The project's default admin site (`mfa.admin_config.AdminConfig` in INSTALLED_APPS names it).
Wrong codes and keys count against the same lockout as the API's logins (mfa/services.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from accounts.models import User
from blahaj import site
from blahaj.errors import ApplicationError, TooManyAttempts

from . import devices, services, webauthn
from .views import webauthn as key_views

_View = TypeVar("_View", bound=Callable[..., Any])


def _staff(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_active and user.is_staff else None


def _verified(request: HttpRequest) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def _error_sentence(error: ApplicationError) -> str:
    if isinstance(error, TooManyAttempts):
        minutes = max(1, error.retry_after // 60)
        return _("Too many wrong attempts. Try again in %(minutes)s minute(s).") % {"minutes": minutes}
    return str(error.message)


# Models of installed libraries whose own names read as code in the admin's lists.
MODEL_NAMES = {
    ("token_blacklist", "OutstandingToken"): gettext_lazy("Issued refresh tokens"),
    ("token_blacklist", "BlacklistedToken"): gettext_lazy("Revoked refresh tokens"),
    ("django_otp_webauthn", "WebAuthnCredential"): gettext_lazy("Registered security keys"),
}


class AdminSite(admin.AdminSite):
    """The admin under the service's name (the site settings' `service_name`), with the
    libraries' models named for people, behind the staff's second factor."""

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        name = site.current().service_name
        return {
            **super().each_context(request),
            "site_header": _("%(name)s administration") % {"name": name},
            "site_title": _("%(name)s admin") % {"name": name},
        }

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        title = _("%(name)s: staff overview") % {"name": site.current().service_name}
        return super().index(request, {"title": title, **(extra_context or {})})

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        apps = super().get_app_list(request, app_label)
        for app in apps:
            for model in app["models"]:
                model["name"] = MODEL_NAMES.get((app["app_label"], model["object_name"]), model["name"])
        return apps

    def mfa_step(self, request: HttpRequest) -> str | None:
        """The page a signed-in staff session must pass first ("admin:mfa-verify" or
        "admin:mfa-setup"), or None."""
        user = _staff(request)
        if user is None or not settings.STAFF_REQUIRE_MFA or _verified(request):
            return None
        return "admin:mfa-verify" if devices.has_second_factor(user) else "admin:mfa-setup"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and self.mfa_step(request) is None

    def _to_step(self, step: str, request: HttpRequest, next_url: str = "") -> HttpResponseRedirect:
        next_url = next_url or request.get_full_path()
        return HttpResponseRedirect(f"{reverse(step, current_app=self.name)}?{urlencode({'next': next_url})}")

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        inner = super().admin_view(view, cacheable)

        def gate(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            step = self.mfa_step(request)
            if step is not None and request.path != reverse("admin:logout", current_app=self.name):
                return self._to_step(step, request)
            return inner(request, *args, **kwargs)

        return cast(_View, update_wrapper(gate, inner))

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET" and (step := self.mfa_step(request)):
            return self._to_step(step, request, request.GET.get("next", ""))
        return super().login(request, extra_context)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path("mfa/", csrf_protect(never_cache(self.mfa_verify)), name="mfa-verify"),
            path("mfa/setup/", csrf_protect(never_cache(self.mfa_setup)), name="mfa-setup"),
            path("mfa/key/begin/", csrf_protect(never_cache(require_POST(self.mfa_key_begin))), name="mfa-key-begin"),
            path(
                "mfa/key/complete/",
                csrf_protect(never_cache(require_POST(self.mfa_key_complete))),
                name="mfa-key-complete",
            ),
            *super().get_urls(),
        ]

    def _next(self, request: HttpRequest) -> str:
        wanted = request.POST.get("next") or request.GET.get("next") or ""
        safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=False)
        return wanted if wanted and safe else reverse("admin:index", current_app=self.name)

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.each_context(request), "title": title, "next": self._next(request), **extra}

    def mfa_verify(self, request: HttpRequest) -> HttpResponse:
        """The code after the password: TOTP or a recovery code."""
        user = _staff(request)
        if user is None:
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        step = self.mfa_step(request)
        if step is None:
            return HttpResponseRedirect(self._next(request))
        if step == "admin:mfa-setup":
            return self._to_step(step, request, self._next(request))
        error = ""
        if request.method == "POST":
            try:
                device = services.session_verify(user=user, code=request.POST.get("code", ""))
            except ApplicationError as failure:
                error = _error_sentence(failure)
            else:
                django_otp.login(request, device)
                return HttpResponseRedirect(self._next(request))
        context = self._context(
            request,
            _("Second factor"),
            error=error,
            has_key=webauthn.has_key(user),
            webauthn_config=webauthn.admin_config(request, site_name=self.name),
        )
        return render(request, "admin/accounts/mfa_verify.html", context, status=400 if error else 200)

    def _key_step_user(self, request: HttpRequest) -> User | None:
        """The staff session waiting for its second step, or None."""
        user = _staff(request)
        return user if user is not None and self.mfa_step(request) == "admin:mfa-verify" else None

    def mfa_key_begin(self, request: HttpRequest) -> JsonResponse:
        """The admin's second step with a security key: the options for the browser."""
        user = self._key_step_user(request)
        if user is None:
            return key_views.failure(ApplicationError(_("Log in again."), code="login_expired"))
        try:
            options, state = services.key_verify_begin(user=user)
        except ApplicationError as failure:
            return key_views.failure(failure)
        request.session[key_views.VERIFY_STATE] = state
        return JsonResponse(options)

    def mfa_key_complete(self, request: HttpRequest) -> JsonResponse:
        """A right answer verifies the session (django_otp.login) like a right code."""
        user = self._key_step_user(request)
        state = request.session.pop(key_views.VERIFY_STATE, None)
        request.session.save()
        if user is None:
            return key_views.failure(ApplicationError(_("Log in again."), code="login_expired"))
        try:
            device = services.key_verify(user=user, state=state, data=key_views.body(request))
        except ApplicationError as failure:
            return key_views.failure(failure)
        django_otp.login(request, device)
        return JsonResponse({"id": device.pk, "redirect_url": self._next(request)})

    def mfa_setup(self, request: HttpRequest) -> HttpResponse:
        """Set up an authenticator app: QR code and secret, a code to confirm, then the
        recovery codes, shown once."""
        user = _staff(request)
        if user is None:
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        if devices.has_second_factor(user):
            return HttpResponseRedirect(self._next(request))
        error = ""
        if request.method == "POST":
            try:
                result = services.totp_confirm(user=user, code=request.POST.get("code", ""), issue_tokens=False)
            except ApplicationError as failure:
                error = _error_sentence(failure)
            else:
                device = devices.confirmed_totp(user)
                if device is not None:
                    django_otp.login(request, device)
                context = self._context(request, _("Recovery codes"), recovery_codes=result["recovery_codes"])
                return render(request, "admin/accounts/mfa_recovery_codes.html", context)
        enrolment = services.totp_pending(user=user) or services.totp_begin(user=user)
        context = self._context(
            request,
            _("Set up your second factor"),
            enrolment=enrolment,
            error=error,
            webauthn_config=webauthn.register_config(request),
            key_done_url=self._next(request),
        )
        return render(request, "admin/accounts/mfa_setup.html", context, status=400 if error else 200)
