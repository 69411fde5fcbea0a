"""The member pages' login and logout under /account/, in the `account` namespace (blahaj/urls.py
names it, with the self-service pages of selfservice.member_urls and mfa's second step)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("login/", pages.login_page, name="login"),
    path("logout/", pages.logout_page, name="logout"),
]
