"""The self-service API routes, under /api/user/ in the `accounts-api` namespace (blahaj/urls.py
puts them there with accounts.urls)."""

from django.urls import path

from . import views

urlpatterns = [
    path("change-password", views.ChangePasswordView.as_view(), name="change-password"),
    path("change-email", views.ChangeEmailView.as_view(), name="change-email"),
    path("sessions", views.SessionListView.as_view(), name="sessions"),
    path("sessions/<str:session_id>", views.SessionDetailView.as_view(), name="session"),
]
