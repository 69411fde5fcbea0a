"""The member pages under /account/, in the `account` namespace (blahaj/urls.py names it)."""

from django.urls import path

from .views import member

urlpatterns = [
    path("", member.overview, name="overview"),
    path("login/", member.login_page, name="login"),
    path("logout/", member.logout_page, name="logout"),
    path("password/", member.password_page, name="password"),
    path("email/", member.email_page, name="email"),
    path("email/confirm/<str:token>/", member.email_confirm, name="email-confirm"),
    path("email/undo/<str:token>/", member.email_undo, name="email-undo"),
    path("sessions/", member.sessions_page, name="sessions"),
    path("sessions/end-all/", member.sessions_end_all, name="sessions-end-all"),
    path("sessions/<str:session_id>/end/", member.session_end, name="session-end"),
]
