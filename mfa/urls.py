"""The second factor's API routes, under /api/user/ in the `accounts-api` namespace
(blahaj/urls.py puts them there with accounts.urls)."""

from django.urls import path

from .views import api

urlpatterns = [
    path("login/mfa", api.LoginMFAView.as_view(), name="login-mfa"),
    path("mfa/totp", api.TOTPView.as_view(), name="mfa-totp"),
    path("mfa/totp/confirm", api.TOTPConfirmView.as_view(), name="mfa-totp-confirm"),
    path("mfa/recovery-codes", api.RecoveryCodesView.as_view(), name="mfa-recovery-codes"),
]
