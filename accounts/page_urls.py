"""The account's public pages, in the `pages` namespace (blahaj/urls.py puts them there)."""

from django.urls import path

from .views import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("signup/", pages.signup, name="signup"),
    path("signup/done/", pages.signup_done, name="signup-done"),
    path("confirm/<str:token>/", pages.confirm, name="confirm"),
    path("confirmed/", pages.confirmed, name="confirmed"),
    path("link-invalid/", pages.link_invalid, name="link-invalid"),
    path("resend-confirmation/", pages.resend_confirmation, name="resend-confirmation"),
    path("password-reset/", pages.password_reset, name="password-reset"),
    path("password-reset/sent/", pages.password_reset_sent, name="password-reset-sent"),
    path("password-reset/done/", pages.password_reset_done, name="password-reset-done"),
    path("password-reset/<str:token>/", pages.password_reset_confirm, name="password-reset-confirm"),
    path("password_reset", pages.seed_password_reset, name="seed-password-reset"),
    path("language/", pages.language, name="language"),
]
