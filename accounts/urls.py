from django.urls import path

from . import views, views_registration as registration

app_name = "accounts-api"

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("refresh", views.RefreshView.as_view(), name="refresh"),
    path("revoke-access", views.RevokeAccessView.as_view(), name="revoke-access"),
    path("revoke-refresh", views.RevokeRefreshView.as_view(), name="revoke-refresh"),
    path("me", views.MeView.as_view(), name="me"),
    path("logout-all", views.LogoutAllView.as_view(), name="logout-all"),
    path("email-exists", registration.EmailExistsView.as_view(), name="email-exists"),
    path("password-strength", registration.PasswordStrengthView.as_view(), name="password-strength"),
    path("register", registration.RegisterView.as_view(), name="register"),
    path("resend-confirm", registration.ResendConfirmView.as_view(), name="resend-confirm"),
    path("confirm/<str:token>", registration.ConfirmView.as_view(), name="confirm"),
    path("request-reset", registration.RequestResetView.as_view(), name="request-reset"),
    path("confirm-reset", registration.ConfirmResetView.as_view(), name="confirm-reset"),
]
