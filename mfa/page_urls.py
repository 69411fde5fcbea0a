"""The second factor's settings page, /account/mfa/, in the `pages` namespace (blahaj/urls.py
puts it there with accounts.page_urls)."""

from django.urls import path

from .views import pages

urlpatterns = [
    path("account/mfa/", pages.account_mfa, name="account-mfa"),
]
