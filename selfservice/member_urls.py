"""The self-service member pages, under /account/ in the `account` namespace (blahaj/urls.py
puts them there with logins.member_urls, which has the login and the logout)."""

from django.urls import path

from . import member_pages

urlpatterns = [
    path("", member_pages.overview, name="overview"),
    path("password/", member_pages.password_page, name="password"),
    path("email/", member_pages.email_page, name="email"),
    path("email/confirm/<str:token>/", member_pages.email_confirm, name="email-confirm"),
    path("email/undo/<str:token>/", member_pages.email_undo, name="email-undo"),
    path("sessions/", member_pages.sessions_page, name="sessions"),
    path("sessions/end-all/", member_pages.sessions_end_all, name="sessions-end-all"),
    path("sessions/<str:session_id>/end/", member_pages.session_end, name="session-end"),
]
