"""The account API under /api/user/, in the `accounts-api` namespace (blahaj/urls.py names it;
the tokens' routes are logins.urls, the deletion's deletion.urls, the self-service's selfservice.urls, the second factor's
mfa.urls)."""

from django.urls import path

from .views import me, password_reset, registration

urlpatterns = [
    path("me", me.MeView.as_view(), name="me"),
    path("email-exists", registration.EmailExistsView.as_view(), name="email-exists"),
    path("password-strength", registration.PasswordStrengthView.as_view(), name="password-strength"),
    path("register", registration.RegisterView.as_view(), name="register"),
    path("challenge", registration.ChallengeView.as_view(), name="challenge"),
    path("resend-confirm", registration.ResendConfirmView.as_view(), name="resend-confirm"),
    path("confirm/<str:token>", registration.ConfirmView.as_view(), name="confirm"),
    path("request-reset", password_reset.RequestResetView.as_view(), name="request-reset"),
    path("confirm-reset", password_reset.ConfirmResetView.as_view(), name="confirm-reset"),
]
