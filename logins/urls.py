"""The tokens' routes under /api/user/, in the `accounts-api` namespace (blahaj/urls.py names it)."""

from django.urls import path

from . import views

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("refresh", views.RefreshView.as_view(), name="refresh"),
    path("revoke-access", views.RevokeAccessView.as_view(), name="revoke-access"),
    path("revoke-refresh", views.RevokeRefreshView.as_view(), name="revoke-refresh"),
    path("logout-all", views.LogoutAllView.as_view(), name="logout-all"),
]
